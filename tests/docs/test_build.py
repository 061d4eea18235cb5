"""The documentation site builds with `mkdocs build --strict`, offline."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.docs_build
@pytest.mark.timeout(180)
def test_mkdocs_build_strict(built_site: Path) -> None:
    site = built_site  # `mkdocs build --strict` succeeded (else the fixture fails)
    # Pages are files, not folders, so that links work opened from disk (file://).
    for page in ("index.html", "quickstart.html", "troubleshooting.html", "reference/client.html"):
        assert (site / page).is_file(), page
    # The API reference is generated from the docstrings.
    client_page = (site / "reference/client.html").read_text(encoding="utf-8")
    assert "Poll until the task completes or fails" in client_page
    # Search from disk: the index inlined in a script, the worker shim served locally.
    search_index = (site / "search" / "search_index.js").read_text(encoding="utf-8")
    assert search_index.startswith("var __index")
    index_page = (site / "index.html").read_text(encoding="utf-8")
    assert '<script src="assets/javascripts/iframe-worker-shim.js"' in index_page
    assert not re.search(r"<script[^>]+src=\"https?:", index_page), "a script from the network"


def test_site_dir_is_ignored_by_git() -> None:
    ignored = (ROOT / ".gitignore").read_text(encoding="utf-8").split()
    assert "site/" in ignored or "/site/" in ignored
