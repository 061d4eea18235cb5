"""The built documentation works opened from disk (file://), as the README says to open it.

A real Chromium opens site/index.html with every non-file request blocked: the nav leads to
pages (not folder listings) and search finds things (not stuck on "Initializing search").
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.browser

TIMEOUT_MS = 30_000


@pytest.fixture
def site(built_site: Path) -> Path:
    """The site as `python3 tasks.py docs` builds it (built once per test run)."""
    return built_site


@pytest.fixture
def page(browser: Any) -> Iterator[tuple[Any, list[str]]]:
    """A page that may load only file:// URLs; also returns the other URLs it tried."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    tried: list[str] = []

    def block(route: Any) -> None:
        tried.append(route.request.url)
        route.abort()

    context.route(lambda url: not url.startswith(("file:", "about:", "data:", "blob:")), block)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    try:
        yield page, tried
    finally:
        context.close()


def test_nav_opens_pages_not_folder_listings(site: Path, page: tuple[Any, list[str]]) -> None:
    tab, tried = page
    tab.goto((site / "index.html").as_uri())
    nav = tab.locator("nav.md-nav--primary")
    nav.get_by_role("link", name="Quickstart", exact=True).first.click()
    tab.wait_for_load_state()
    assert tab.url == (site / "quickstart.html").as_uri()
    assert tab.locator("article h1").inner_text().rstrip("¶") == "Quickstart"  # ¶: permalink
    assert "Index of" not in tab.title()
    # A page two levels down, and back up through a relative link.
    tab.locator("nav.md-nav--primary").get_by_role("link", name="Troubleshooting").first.click()
    tab.wait_for_load_state()
    assert tab.url == (site / "troubleshooting.html").as_uri()
    tab.locator("nav.md-nav--primary").get_by_role("link", name="Client").first.click()
    tab.wait_for_load_state()
    assert tab.url == (site / "reference" / "client.html").as_uri()
    tab.locator("nav.md-nav--primary").get_by_role("link", name="Home").first.click()
    tab.wait_for_load_state()
    assert tab.url == (site / "index.html").as_uri()
    assert tried == [], f"the site asked for the network: {tried}"


def test_search_finds_results_from_disk(site: Path, page: tuple[Any, list[str]]) -> None:
    tab, tried = page
    tab.goto((site / "index.html").as_uri())
    query = tab.locator("input.md-search__input")
    query.click()
    query.press_sequentially("REQUESTS_CA_BUNDLE")  # typed, key by key, as a user does
    results = tab.locator(".md-search-result__item")
    results.first.wait_for()
    meta = tab.locator(".md-search-result__meta").inner_text()
    assert "Initializing" not in meta, meta
    assert "troubleshooting.html" in str(results.first.locator("a").first.get_attribute("href"))
    results.first.locator("a").first.click()
    tab.wait_for_load_state()
    assert tab.url.startswith((site / "troubleshooting.html").as_uri())
    assert tried == [], f"the site asked for the network: {tried}"
