"""The base of errors a user can act on (a bad store, an unsafe checkpoint): the command line
prints their message, which names the file and what is wrong, without a traceback."""


class DeeplenseError(ValueError):
    """A problem with the user's input, explained by the message alone."""
