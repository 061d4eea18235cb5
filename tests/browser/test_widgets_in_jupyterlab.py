"""widgets.ipynb in a real JupyterLab and Chromium, in the light and the dark theme, in a narrow
window (760 px wide, file browser open): the panels update live, read well (text contrast of at
least 4.5:1, measured from the rendered colours), never overflow, play their video without
jumping back when a download finishes; after a kernel restart a panel says so and shows the
line that follows its task again.

Also saves screenshots: panel-{queued,running,completed,failed,restarted}.png, studio.png,
panel-completed-dark.png, studio-dark.png and panel-reopened-dark.png, in
test-artifacts/browser/ (ignored by git). With LUMA_TOOLS_UPDATE_DOCS_IMAGES=1 they go to
docs/images/ instead, which the docs embed.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
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
# Generous: a cold JupyterLab and kernel take a few seconds on a loaded machine; a task
# takes 5 s on the simulator.
TIMEOUT_MS = 120_000
NARROW = {"width": 760, "height": 1000}
THEMES = {"light": "JupyterLab Light", "dark": "JupyterLab Dark"}
WCAG_AA = 4.5

PLAYS = """(video) => new Promise((resolve) => {
    const report = () => resolve({
        ready: video.readyState, duration: video.duration, error: video.error && video.error.code,
        width: video.videoWidth, height: video.videoHeight,
    });
    if (video.error) { report(); return; }
    video.muted = true;
    video.addEventListener("error", report, { once: true });
    video.addEventListener("timeupdate", () => { video.pause(); report(); }, { once: true });
    video.play().catch(report);
})"""

SEEK = """(video, seconds) => new Promise((resolve) => {
    video.pause();
    video.addEventListener("seeked", () => resolve(video.currentTime), { once: true });
    video.currentTime = seconds;
})"""

# Every visible element with text of its own: its colour over the background it is drawn on
# (backgrounds composited up the tree onto the page's white canvas), as a WCAG ratio.
CONTRAST = """(root) => {
    const parse = (text) => {
        let m = text.match(/rgba?\\(([^)]+)\\)/);
        let scale = 1;
        if (!m) { m = text.match(/color\\(srgb ([^)]+)\\)/); scale = 255; }
        if (!m) return null;
        const p = m[1].split(/[\\s,/]+/).filter(Boolean).map(Number);
        return [p[0] * scale, p[1] * scale, p[2] * scale, p.length > 3 ? p[3] : 1];
    };
    const over = (top, bottom) => top.slice(0, 3)
        .map((v, i) => v * top[3] + bottom[i] * (1 - top[3])).concat([1]);
    const backdrop = (element) => {
        const layers = [];
        for (let node = element; node; node = node.parentElement) {
            const colour = parse(getComputedStyle(node).backgroundColor);
            if (colour && colour[3] > 0) { layers.push(colour); if (colour[3] >= 1) break; }
        }
        return layers.reverse().reduce((below, layer) => over(layer, below), [255, 255, 255, 1]);
    };
    const luminance = (rgb) => {
        const [r, g, b] = rgb.slice(0, 3).map((v) => {
            v /= 255;
            return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
        });
        return 0.2126 * r + 0.7152 * g + 0.0722 * b;
    };
    const found = [];
    for (const element of [root, ...root.querySelectorAll("*")]) {
        const own = [...element.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
        if (!own || element.getClientRects().length === 0) continue;
        if (element.closest("button:disabled, input:disabled, .mod-disabled")) continue;
        const style = getComputedStyle(element);
        if (style.visibility === "hidden") continue;
        const background = backdrop(element);
        const colour = over(parse(style.color), background);
        const [light, dark] = [luminance(colour), luminance(background)].sort((a, b) => b - a);
        found.push({
            text: element.textContent.trim().slice(0, 50),
            ratio: (light + 0.05) / (dark + 0.05),
            color: style.color,
        });
    }
    return found;
}"""

OVERFLOW = """(root) => [root, ...root.querySelectorAll(`.luma-panel, .luma-actions, .luma-head,
        .luma-preview, .widget-box, .jp-OutputArea-output`)]
    .filter((e) => e.getClientRects().length > 0 && e.scrollWidth > e.clientWidth + 0)
    .map((e) => `${e.className}: ${e.scrollWidth} > ${e.clientWidth}`)"""

# Installed before Lab loads: notes every state each panel's label shows, so a state that
# lasts two seconds is not missed on a loaded machine.
RECORD_STATES = """(() => {
    window.lumaStates = [];
    const note = (node) => {
        if (!(node instanceof Element)) return;
        const labels = node.matches(".luma-state") ? [node] : node.querySelectorAll(".luma-state");
        for (const label of labels) window.lumaStates.push(label.dataset.state);
    };
    new MutationObserver((changes) => {
        for (const change of changes) {
            if (change.type === "attributes") note(change.target);
            else change.addedNodes.forEach(note);
        }
    }).observe(document, {
        attributes: true, attributeFilter: ["data-state"], childList: true, subtree: true,
    });
})()"""

STARTED = """() => [...document.querySelectorAll('.jp-CodeCell .jp-InputPrompt')]
    .some((prompt) => /\\[(\\*|\\d+)\\]/.test(prompt.textContent))"""


def _state(panel: Any, state: str) -> Any:
    label = panel.locator(f".luma-state[data-state='{state}']")
    label.wait_for(timeout=TIMEOUT_MS)
    return label


def _seen(page: Any, state: str) -> None:
    """Wait until some panel has shown `state` (however briefly)."""
    page.wait_for_function("(s) => window.lumaStates.includes(s)", arg=state)


def _shot_if(panel: Any, state: str, name: str) -> None:
    """A screenshot of `panel` in `state`, if it is still in it (screenshots are best effort)."""
    if panel.locator(f".luma-state[data-state='{state}']").count():
        panel.screenshot(path=str(IMAGES / name))


def _plays(panel: Any) -> dict[str, Any]:
    video = panel.locator("video")
    video.wait_for(timeout=TIMEOUT_MS)
    result: dict[str, Any] = video.evaluate(PLAYS, timeout=TIMEOUT_MS)
    assert result["error"] is None, result
    assert result["ready"] >= 2, result
    assert result["duration"] > 0, result
    return result


def _readable(root: Any, where: str) -> float:
    """The lowest text contrast inside `root`, asserted to meet WCAG AA."""
    found = root.evaluate(CONTRAST)
    assert found, f"{where}: no text found"
    worst = min(found, key=lambda item: item["ratio"])
    assert worst["ratio"] >= WCAG_AA, f"{where}: {worst}"
    return float(worst["ratio"])


def _fits(root: Any, where: str) -> None:
    overflowing = root.evaluate(OVERFLOW)
    assert overflowing == [], f"{where}: {overflowing}"


def _run_all_cells(page: Any) -> None:
    """Run > Run All Cells, once the kernel is up; again if Lab dropped the first request."""
    # Attached, not visible: a narrow window folds the toolbar's indicator away.
    page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']").wait_for(state="attached")
    page.get_by_text("Python 3 (ipykernel) | Idle").wait_for()
    for attempt in range(3):
        page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
        page.locator(".lm-Menu-item:has(.lm-Menu-itemLabel:text-is('Run All Cells'))").click()
        try:
            # Nothing has run until a prompt changes from [ ]: so a retry cannot run twice.
            page.wait_for_function(STARTED, timeout=20_000)
            return
        except PlaywrightTimeoutError:
            if attempt == 2:
                raise


def _open(lab: Any, browser: Any, pages: list[Any], notebook: str, theme: str) -> Any:
    lab.set_theme(THEMES[theme])
    page = browser.new_page(viewport=NARROW)
    page.add_init_script(RECORD_STATES)
    pages.append(page)
    page.set_default_timeout(TIMEOUT_MS)
    # Should Lab still ask for a kernel, accept its default (Python 3).
    page.add_locator_handler(
        page.locator(".jp-Dialog", has_text="Select Kernel"),
        lambda dialog: dialog.locator(".jp-mod-accept").click(),
    )
    # A workspace of its own: Lab's default layout, whatever earlier pages left behind.
    workspace = Path(notebook).stem
    page.goto(f"{lab.url}/lab/workspaces/{workspace}/tree/{notebook}?reset", timeout=TIMEOUT_MS)
    page.locator(f"body[data-jp-theme-name='{THEMES[theme]}']").wait_for(state="attached")
    # The narrow window of the report: 760 px with the file browser open beside the notebook.
    page.locator(".jp-FileBrowser").wait_for()
    return page


@pytest.mark.parametrize("theme", list(THEMES))
def test_widgets_notebook_runs_live_reads_well_and_fits_a_narrow_window(
    lab: Any, browser: Any, pages: list[Any], theme: str, record_property: Any
) -> None:
    suffix = "" if theme == "light" else "-dark"
    notebook = f"widgets{suffix}.ipynb"
    if notebook != "widgets.ipynb":
        shutil.copy(lab.root / "widgets.ipynb", lab.root / notebook)
    IMAGES.mkdir(parents=True, exist_ok=True)
    page = _open(lab, browser, pages, notebook, theme)
    _run_all_cells(page)
    ratios: dict[str, float] = {}

    # The main panel: queued, then running, then completed, each seen live in the DOM.
    cell = page.locator(".jp-CodeCell", has_text="panel = TaskPanel(client, task")
    panel = cell.locator(".luma-panel")
    _seen(page, "queued")
    if not suffix:
        _shot_if(panel, "queued", "panel-queued.png")
    _seen(page, "running")
    if panel.locator(".luma-state[data-state='running']").count():
        ratios["running"] = _readable(panel, f"{theme} running panel")
    _state(panel, "completed")
    task_id = panel.locator(".luma-task-id").inner_text()
    played = _plays(panel)
    video = panel.locator("video")
    assert video.evaluate("(v) => v.autoplay") is False
    source = str(video.evaluate("(v) => v.currentSrc"))
    assert source.startswith("http://127.0.0.1:")  # streamed from the gateway's URL, live
    # The video is never wider than the cell, nor than its own natural width.
    box = video.bounding_box()
    panel_box = panel.bounding_box()
    assert box is not None
    assert panel_box is not None
    assert box["width"] <= min(played["width"], panel_box["width"]) + 0.5

    # The kernel was free meanwhile: the next cell ran while the panel was polling.
    free = page.locator(".jp-CodeCell", has_text="did not wait for it").locator(".jp-OutputArea")
    assert "the panel is" in free.inner_text()

    # Download while the video stands at 1.5 s: it must stay there, in the same element.
    assert video.evaluate(SEEK, 1.5) == pytest.approx(1.5, abs=0.1)
    video.evaluate("(v) => { v.dataset.mark = 'before-download'; }")
    panel.locator("button.luma-download").click()
    saved = panel.locator(".luma-saved")
    saved.filter(has_text="saved").wait_for()
    assert "kB" in saved.inner_text()
    assert task_id in saved.inner_text()
    assert list(lab.root.glob("videos/*.mp4"))
    assert video.evaluate("(v) => v.dataset.mark") == "before-download"
    assert video.evaluate("(v) => v.currentTime") == pytest.approx(1.5, abs=0.1)
    assert video.evaluate("(v) => v.currentSrc") == source
    ratios["completed"] = _readable(panel, f"{theme} completed panel")
    _fits(cell.locator(".jp-OutputArea"), f"{theme} completed panel")
    panel.screenshot(path=str(IMAGES / f"panel-completed{suffix}.png"))

    # A failed task shows the reason and what to try, and offers no button that cannot help.
    failed = page.locator(".jp-CodeCell", has_text="fail_next_task").locator(".luma-panel")
    _state(failed, "failed")
    message = failed.locator(".luma-message")
    assert "Frame moderation failed" in message.inner_text()
    assert "What to try" in message.inner_text()
    assert failed.locator("video").count() == 0
    assert failed.locator("button.luma-stop").is_hidden()
    ratios["failed"] = _readable(failed, f"{theme} failed panel")
    if not suffix:
        failed.screenshot(path=str(IMAGES / "panel-failed.png"))

    # The studio: generate from the form; the new panel comes first, in its aspect ratio.
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
    assert "aspect ratio: 9:16" in newest.locator(".luma-details").inner_text()
    for index in (1, 2):
        _state(studio_panels.nth(index), "completed")
    _state(newest, "completed")
    portrait = _plays(newest)
    assert (portrait["width"], portrait["height"]) == (270, 480)  # the simulator's 9:16 clip
    # Fold the oldest panel to its header; dismiss the middle one.
    oldest = studio_panels.nth(2)
    oldest.locator(".luma-collapse").click()
    oldest.locator(".luma-body").wait_for(state="hidden")
    assert oldest.locator(".luma-task-id").is_visible()
    studio_panels.nth(1).locator(".luma-dismiss").click()
    page.wait_for_function(
        "(s) => s.querySelectorAll('.luma-panel').length === 2", arg=studio.element_handle()
    )
    studio.locator(".luma-studio-message", has_text="Dismissed task").wait_for()
    ratios["studio"] = _readable(studio, f"{theme} studio")
    _fits(studio, f"{theme} studio")
    _fits(page.locator(".jp-CodeCell", has_text="studio = LumaStudio").first, f"{theme} studio")
    page.set_viewport_size({"width": NARROW["width"], "height": 2400})  # all of it on screen
    studio.scroll_into_view_if_needed()
    studio.screenshot(path=str(IMAGES / f"studio{suffix}.png"))
    # Live panels, idle for a while now, never claim that their kernel is gone.
    assert page.locator(".luma-gone:visible").count() == 0
    assert page.locator(".luma-fallback:visible").count() == 0  # the saved text stays hidden
    record_property("contrast", json.dumps({theme: ratios}))
    print(f"lowest text contrast, {theme}: {json.dumps(ratios)}")


RESTART_NOTEBOOK = {
    "cells": [
        {
            "cell_type": "code",
            "metadata": {},
            "execution_count": None,
            "outputs": [],
            "source": (
                "from luma_tools import LumaClient, PollPolicy\n"
                "from luma_tools.simulator import LumaSimulator\n"
                "from luma_tools.widgets import TaskPanel\n"
                "sim = LumaSimulator(queue_seconds=1, run_seconds=600).start()\n"
                "client = LumaClient(sim.api_key, sim.base_url, "
                "poll_policy=PollPolicy(first_delay=0.5, min_interval=0.5, max_interval=1, "
                "max_estimate_delay=1))\n"
                "TaskPanel(client, client.create('a very long job'))"
            ),
        }
    ],
    "metadata": {
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}
    },
    "nbformat": 4,
    "nbformat_minor": 5,
}


def test_a_kernel_restart_mid_task_says_so_and_shows_the_line_that_follows_it_again(
    lab: Any, browser: Any, pages: list[Any]
) -> None:
    (lab.root / "restart.ipynb").write_text(json.dumps(RESTART_NOTEBOOK))
    page = _open(lab, browser, pages, "restart.ipynb", "light")
    _run_all_cells(page)
    panel = page.locator(".luma-panel")
    _state(panel, "running")
    task_id = panel.locator(".luma-task-id").inner_text()
    assert re.fullmatch(r"[0-9a-f-]{36}", task_id)
    gone = panel.locator(".luma-gone")
    assert gone.is_hidden()
    panel.screenshot(path=str(IMAGES / "panel-running.png"))  # a long job: no hurry here

    # Kernel > Restart Kernel…, confirmed, the way a user does it.
    page.locator(".lm-MenuBar-itemLabel", has_text="Kernel").first.click()
    page.locator(".lm-Menu-item:has(.lm-Menu-itemLabel:text-is('Restart Kernel…'))").click()
    page.locator(".jp-Dialog .jp-mod-accept").click()

    gone.wait_for()
    assert "No kernel" in gone.inner_text()
    assert panel.locator(".luma-refollow").inner_text() == f'TaskPanel.resume(client, "{task_id}")'
    assert panel.locator("button.luma-stop").is_hidden()  # nothing left to stop
    assert panel.locator(".luma-gone").count() == 1  # said once
    # The id and the line are selectable text, to copy into the next cell.
    assert panel.locator(".luma-refollow").evaluate("(e) => getComputedStyle(e).userSelect") in (
        "all",
        "text",
    )
    _readable(panel, "restarted panel")
    _fits(panel, "restarted panel")
    panel.screenshot(path=str(IMAGES / "panel-restarted.png"))

    # Saved and reopened: Lab has no model for the panel any more (a dead kernel's widgets
    # are not saved), but the saved text below it still names the task and the line.
    page.locator(".lm-MenuBar-itemLabel", has_text="File").first.click()
    page.locator(".lm-Menu-item:has(.lm-Menu-itemLabel:text-is('Save Notebook'))").click()
    page.locator(".lm-TabBar-tab.jp-mod-current.jp-mod-dirty").wait_for(state="detached")
    text = (lab.root / "restart.ipynb").read_text()
    assert "X-Amz-Signature" not in text
    assert "/files/" not in text
    page.reload()
    fallback = page.locator(".luma-fallback")
    fallback.wait_for()
    assert task_id in fallback.inner_text()
    assert f'TaskPanel.resume(client, "{task_id}")' in fallback.inner_text().replace("\n", "")


def test_a_notebook_reopened_with_saved_widget_state_shows_each_panel_as_it_ended(
    lab: Any, browser: Any, pages: list[Any], tmp_path: Path
) -> None:
    import nbformat
    from nbclient import NotebookClient

    book = nbformat.read(lab.root / "quickstart.ipynb", as_version=4)
    # As a notebook run to the end does: its last panel has finished before the kernel stops.
    book.cells.append(nbformat.v4.new_code_cell("assert panel.wait(60)"))
    NotebookClient(
        book,
        kernel_name="python3",
        timeout=120,
        store_widget_state=True,
        resources={"metadata": {"path": str(tmp_path)}},
    ).execute()
    nbformat.write(book, lab.root / "reopened.ipynb")

    # Shared with someone (an untrusted notebook): no widget runs, the saved text tells all.
    page = _open(lab, browser, pages, "reopened.ipynb", "dark")
    fallback = page.locator(".jp-OutputArea-output", has_text="a hummingbird in slow motion")
    fallback.wait_for()
    shared = fallback.inner_text()
    assert ": completed" in shared
    assert "http" not in shared
    task_id = shared.split("Luma task ")[1].split(":")[0]

    # Trusted (the user's own notebook): the panel comes back from its saved state.
    subprocess.run(
        [Path(sys.executable).with_name("jupyter-trust"), lab.root / "reopened.ipynb"],
        check=True,
        capture_output=True,
    )
    page.reload()
    panel = page.locator(".luma-panel")
    panel.locator(".luma-gone").wait_for()  # another kernel runs this notebook now
    assert panel.locator(".luma-task-id").inner_text() == task_id
    assert panel.locator(".luma-state").inner_text() == "completed"
    assert panel.locator(".luma-refollow").inner_text() == f'TaskPanel.resume(client, "{task_id}")'
    # No empty black player: the link was never saved, and the panel says so.
    assert panel.locator("video").count() == 0
    assert "not saved with the notebook" in panel.locator(".luma-preview").inner_text()
    assert page.locator(".luma-fallback:visible").count() == 0
    _readable(panel, "reopened panel (dark)")
    panel.screenshot(path=str(IMAGES / "panel-reopened-dark.png"))
