"""The documentation the tests read: the README (the front page) and the pages of the site in
docs/, in the order a reader meets them."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def documentation_text() -> str:
    """Every page's Markdown, one after the other."""
    return "\n".join(page.read_text() for page in PAGES)
