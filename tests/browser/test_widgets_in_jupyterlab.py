"""widgets.ipynb in a real JupyterLab and Chromium: the panel updates live and plays its video.

Also saves screenshots of each panel state and of the studio: panel-{queued,running,completed,
failed}.png and studio.png, in test-artifacts/browser/ (ignored by git). With
LUMA_TOOLS_UPDATE_DOCS_IMAGES=1 they go to docs/images/ instead, which the docs embed.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
IMAGES = (
    ROOT / "docs" / "images"
    if os.environ.get("LUMA_TOOLS_UPDATE_DOCS_IMAGES") == "1"
    else ROOT / "test-artifacts" / "browser"
)
# Generous: a cold JupyterLab and kernel take a few seconds; a task takes 5 s on the simulator.
TIMEOUT_MS = 90_000

VIDEO_LOADS = """(video) => new Promise((resolve) => {
    const check = () => {
        if (video.error) { resolve("error " + video.error.code); return true; }
        if (video.readyState >= 1) { resolve("ok"); return true; }
        return false;
    };
    if (check()) return;
    video.addEventListener("loadedmetadata", check);
    video.addEventListener("error", check);
    video.load();
})"""


def _state(panel: Any, state: str) -> Any:
    label = panel.locator(f".luma-state[data-state='{state}']")
    label.wait_for(timeout=TIMEOUT_MS)
    return label


def _assert_video_plays(panel: Any) -> str:
    video = panel.locator("video")
    video.wait_for(timeout=TIMEOUT_MS)
    assert video.evaluate(VIDEO_LOADS, timeout=TIMEOUT_MS) == "ok"
    assert video.evaluate("(v) => v.autoplay") is False
    return str(video.evaluate("(v) => v.currentSrc || v.src"))


STARTED = """() => [...document.querySelectorAll('.jp-CodeCell .jp-InputPrompt')]
    .some((prompt) => !prompt.textContent.includes('[ ]'))"""


def _run_all_cells(page: Any) -> None:
    """Run > Run All Cells, once the kernel is up; again if Lab dropped the first request."""
    page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']").wait_for()
    page.get_by_text("Python 3 (ipykernel) | Idle").wait_for()
    for attempt in range(3):
        page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
        page.locator(".lm-Menu-item:has(.lm-Menu-itemLabel:text-is('Run All Cells'))").click()
        try:
            # Nothing has run until a prompt changes from [ ]: so a retry cannot run twice.
            page.wait_for_function(STARTED, timeout=15_000)
            return
        except PlaywrightTimeoutError:
            if attempt == 2:
                raise


def test_widgets_notebook_runs_live_in_jupyterlab(lab: tuple[str, Path], browser: Any) -> None:
    url, root = lab
    IMAGES.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    page.set_default_timeout(TIMEOUT_MS)
    # Should Lab still ask for a kernel, accept its default (Python 3).
    page.add_locator_handler(
        page.locator(".jp-Dialog", has_text="Select Kernel"),
        lambda dialog: dialog.locator(".jp-mod-accept").click(),
    )
    page.goto(f"{url}/lab/tree/widgets.ipynb", timeout=TIMEOUT_MS)
    _run_all_cells(page)

    # The main panel: queued, then running, then completed, each seen live in the DOM.
    cell = page.locator(".jp-CodeCell", has_text="panel = TaskPanel(client, task")
    panel = cell.locator(".luma-panel")
    _state(panel, "queued")
    panel.screenshot(path=str(IMAGES / "panel-queued.png"))
    _state(panel, "running")
    panel.screenshot(path=str(IMAGES / "panel-running.png"))
    _state(panel, "completed")
    source = _assert_video_plays(panel)
    assert source.startswith("http://127.0.0.1:")  # streamed from the gateway's URL

    # The kernel was free meanwhile: the next cell ran while the panel was polling.
    free = page.locator(".jp-CodeCell", has_text="did not wait for it").locator(".jp-OutputArea")
    assert "the panel is" in free.inner_text()

    # Download: the panel shows path and size, and previews the (small) local file.
    panel.locator("button.luma-download").click()
    saved = panel.locator(".luma-saved")
    saved.filter(has_text="saved").wait_for()
    assert "kB" in saved.inner_text()
    assert list(root.glob("videos/*.mp4"))
    page.wait_for_function(
        "(p) => { const v = p.querySelector('video'); return v && v.src.startsWith('blob:'); }",
        arg=panel.element_handle(),
    )
    assert _assert_video_plays(panel).startswith("blob:")
    panel.screenshot(path=str(IMAGES / "panel-completed.png"))

    # A failed task shows the reason and what to try.
    failed = page.locator(".jp-CodeCell", has_text="fail_next_task").locator(".luma-panel")
    _state(failed, "failed")
    message = failed.locator(".luma-message")
    assert "Frame moderation failed" in message.inner_text()
    assert "What to try" in message.inner_text()
    assert failed.locator("video").count() == 0
    failed.screenshot(path=str(IMAGES / "panel-failed.png"))

    # The studio: generate from the form; the new panel comes first and runs next to the others.
    studio = page.locator(".luma-studio")
    studio.locator(".luma-prompt-input textarea").fill("a lighthouse in a storm, waves crashing")
    studio.locator(".luma-aspect-ratio select").select_option("9:16")
    studio.locator("button.luma-generate").click()
    studio_panels = studio.locator(".luma-panel")
    page.wait_for_function(
        "(s) => s.querySelectorAll('.luma-panel').length === 3", arg=studio.element_handle()
    )
    newest = studio_panels.first
    assert "a lighthouse in a storm" in newest.inner_text()
    _state(newest, "running")
    for index in (1, 2):
        _state(studio_panels.nth(index), "completed")
    page.set_viewport_size({"width": 1280, "height": 2600})  # the whole studio fits on screen
    studio.scroll_into_view_if_needed()
    studio.screenshot(path=str(IMAGES / "studio.png"))
    _state(newest, "completed")
    _assert_video_plays(newest)
    page.close()
