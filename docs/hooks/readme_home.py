"""MkDocs hook: the site's home page is the README itself (one text, never two copies). Its links
point into docs/, as GitHub shows them; on the site the pages sit beside the home page, so
``docs/`` is dropped from those links."""

import re
from pathlib import Path


def on_page_markdown(markdown: str, page, config, files) -> str:
    if page.file.src_uri != "index.md":
        return markdown
    readme = Path(config["config_file_path"]).parent / "README.md"
    return re.sub(r"\]\(docs/", "](", readme.read_text())
