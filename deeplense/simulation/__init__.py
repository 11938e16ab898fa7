"""Turning a dataset's physical description into images: seeds, renderers, shards."""
