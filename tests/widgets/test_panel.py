"""TaskPanel against the simulator, headless (ipywidgets' dummy comm, no kernel)."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import ipywidgets as widgets
import pytest
from ipywidgets.widgets.widget import _instances as live_widgets

from luma_tools import LumaClient, PollPolicy
from luma_tools.simulator import LumaSimulator
from luma_tools.widgets import LumaStudio, PanelView, Phase, TaskPanel, TaskTracker

Until = Callable[..., PanelView]

SECRET = "sk-live-WIDGET-SECRET-0123456789abcdef"


def rendered_phases(panel: TaskPanel) -> list[str]:
    """Record every phase the panel *renders* (its luma-phase-* class), in order."""
    seen: list[str] = []

    def on_classes(change: dict[str, Any]) -> None:
        for name in change["new"]:
            if name.startswith("luma-phase-") and (not seen or seen[-1] != name[11:]):
                seen.append(name[11:])

    panel.observe(on_classes, names="_dom_classes")
    return seen


def test_panel_walks_queued_running_completed_and_ends_with_a_video(
    live_sim: LumaSimulator, live_client: LumaClient, panels: list[TaskPanel]
) -> None:
    task = live_client.create("a fox in the snow")
    panel = TaskPanel(live_client, task)
    panels.append(panel)
    seen = rendered_phases(panel)
    seen.insert(0, panel.view.phase)  # already rendered in __init__, before we observed
    assert panel.wait(timeout=15)

    assert [p for p in seen if p != "unknown"] == ["queued", "running", "completed"]
    assert "luma-panel" in panel._dom_classes
    assert 'data-state="completed"' in panel._state_label.value
    assert task.id in panel._task_id.value
    assert panel._bar.value == 1.0
    assert panel._bar.bar_style == "success"
    (video,) = panel._preview.children
    assert isinstance(video, widgets.Video)
    assert video.format == "url"
    assert bytes(video.value).decode().startswith(live_sim.base_url + "/files/")
    assert video.autoplay is False
    assert panel._download.layout.display == ""
    assert panel._stop.layout.display == "none"
    view = panel.view
    assert view.polls >= 2
    assert "elapsed" in panel._stats.value
    assert f"{view.polls} polls" in panel._stats.value


@pytest.mark.parametrize("estimate", [True, False], ids=["estimate", "no-estimate"])
def test_progress_follows_the_estimate_and_is_indeterminate_without_one(
    estimate: bool,
    make_client: Callable[..., LumaClient],
    panels: list[TaskPanel],
    until: Until,
    live_policy: PollPolicy,
) -> None:
    with LumaSimulator(queue_seconds=0.5, run_seconds=1, estimate=estimate) as sim:
        client = make_client(sim, poll_policy=live_policy)
        panel = TaskPanel(client, client.create("eta"), autostart=False)
        panels.append(panel)
        bar_classes: list[tuple[str, ...]] = [panel._bar._dom_classes]
        values: list[float] = []
        panel._bar.observe(lambda c: bar_classes.append(c["new"]), names="_dom_classes")
        panel._bar.observe(lambda c: values.append(c["new"]), names="value")
        panel.start()
        view = until(panel, lambda v: v.polls >= 2)
        if estimate:
            assert view.progress is not None
            assert 0 < view.progress <= 0.95
            assert view.seconds_left is not None
            assert "left" in view.status_line()
        else:
            assert view.progress is None
            assert "no estimate yet" in view.status_line()
        assert panel.wait(timeout=15)
        assert panel.view.phase == Phase.COMPLETED
        striped = any("luma-indeterminate" in c for c in bar_classes)
        assert striped is not estimate
        if estimate:  # the bar grew by the ETA before it filled up at the end
            assert any(0 < v < 1 for v in values)
            assert values == sorted(values)
        assert "luma-indeterminate" not in panel._bar._dom_classes
        assert panel._bar.value == 1.0


def test_a_failed_task_shows_its_reason_and_what_to_try(
    live_sim: LumaSimulator, live_client: LumaClient, panels: list[TaskPanel]
) -> None:
    live_sim.faults.fail_next_task("Frame moderation failed: the prompt mentions a celebrity")
    panel = TaskPanel(live_client, live_client.create("a famous actor dancing"))
    panels.append(panel)
    assert panel.wait(timeout=15)

    assert panel.view.phase == Phase.FAILED
    assert 'data-state="failed"' in panel._state_label.value
    assert "Frame moderation failed: the prompt mentions a celebrity" in panel._message.value
    assert "What to try:" in panel._message.value
    assert "Rephrase the prompt" in panel._message.value
    assert panel._bar.bar_style == "danger"
    assert panel._preview.children == ()
    assert panel._download.layout.display == "none"


def test_a_transient_poll_error_is_shown_as_the_last_error(
    live_sim: LumaSimulator,
    make_client: Callable[..., LumaClient],
    panels: list[TaskPanel],
    live_policy: PollPolicy,
) -> None:
    # No HTTP-level retries, so the 502 reaches `wait` (which rides it out).
    client = make_client(live_sim, poll_policy=live_policy, max_retries=0)
    live_sim.faults.server_error(times=1, status=502, route="query")
    errors: list[str] = []
    panel = TaskPanel(client, client.create("bumpy"), autostart=False)
    panels.append(panel)
    panel._error.observe(lambda c: errors.append(c["new"]), names="value")
    panel.start()
    assert panel.wait(timeout=15)
    assert panel.view.phase == Phase.COMPLETED
    assert any("last error: poll 1" in e and "502" in e for e in errors)
    assert panel._error.value == ""  # a finished task no longer shows retried errors


def test_stop_stops_polling_and_resume_goes_on(
    live_sim: LumaSimulator, live_client: LumaClient, panels: list[TaskPanel], until: Until
) -> None:
    live_sim.faults.stall_next_task()
    panel = TaskPanel(live_client, live_client.create("forever"))
    panels.append(panel)
    until(panel, lambda v: v.phase == Phase.RUNNING and v.polls >= 2)

    panel._stop.click()
    assert panel.wait(timeout=10)  # the poll thread ended: nothing can poll any more
    polls = live_sim.count("query")
    view = panel.view
    assert view.phase == Phase.STOPPED
    assert not view.active
    assert "keeps running on the gateway" in panel._message.value
    assert panel._stop.description == "Resume"
    assert not any(t.name == "luma-panel-poll" and t.is_alive() for t in threading.enumerate())
    assert live_sim.count("query") == polls
    assert panel.view.polls == view.polls

    panel._stop.click()  # Resume
    until(panel, lambda v: v.polls >= view.polls + 2)
    assert live_sim.count("query") > polls
    assert panel._stop.description == "Stop"
    panel.stop()
    assert panel.wait(timeout=10)
    assert panel.view.phase == Phase.STOPPED


def test_download_shows_path_and_size_and_previews_small_files_from_disk(
    live_sim: LumaSimulator, live_client: LumaClient, panels: list[TaskPanel], tmp_path: Path
) -> None:
    task = live_client.wait(live_client.create("small"), timeout=10)
    small = TaskPanel(live_client, task, download_dir=tmp_path)
    big = TaskPanel(live_client, task.id, download_dir=tmp_path / "big", preview_max_bytes=1000)
    panels += [small, big]
    assert small.wait(timeout=10)
    assert big.wait(timeout=10)

    small._download.click()
    big.download()
    assert small.wait(timeout=10)
    assert big.wait(timeout=10)

    saved = tmp_path / f"{task.id}.mp4"
    assert saved.stat().st_size == live_sim.video_size
    assert str(saved.resolve()) in small._saved.value
    assert "123.4 kB" in small._saved.value
    assert small._download.disabled
    (video,) = small._preview.children
    assert video.format == "mp4"
    assert len(bytes(video.value)) == live_sim.video_size
    # Above the cap the preview keeps streaming from the URL: no big file through the kernel.
    (big_video,) = big._preview.children
    assert big_video.format == "url"
    assert (tmp_path / "big" / f"{task.id}.mp4").exists()


def test_a_download_error_is_shown_with_a_hint(
    live_client: LumaClient, panels: list[TaskPanel], tmp_path: Path
) -> None:
    task = live_client.wait(live_client.create("exists"), timeout=10)
    (tmp_path / f"{task.id}.mp4").write_bytes(b"mine")
    panel = TaskPanel(live_client, task, download_dir=tmp_path)
    panels.append(panel)
    assert panel.wait(timeout=10)
    panel.download()
    assert panel.wait(timeout=10)
    assert "already exists" in panel._saved.value
    assert "overwrite" in panel._saved.value
    assert not panel._download.disabled  # the user may retry (after moving the file)


def test_several_panels_run_at_once(
    live_sim: LumaSimulator, live_client: LumaClient, panels: list[TaskPanel]
) -> None:
    live_sim.faults.fail_next_task("nope")
    tasks = [live_client.create(f"prompt {i}") for i in range(4)]
    panels += [TaskPanel(live_client, t) for t in tasks]
    assert all(p.wait(timeout=20) for p in panels)
    assert [p.view.phase for p in panels] == ["failed", "completed", "completed", "completed"]
    assert len({p.view.task_id for p in panels}) == 4


def test_text_fallback_for_plain_frontends(
    live_client: LumaClient, panels: list[TaskPanel]
) -> None:
    panel = TaskPanel(live_client, live_client.create("a plain text fox"))
    panels.append(panel)
    assert panel.wait(timeout=15)
    assert repr(panel).startswith("TaskPanel(task_id=")
    bundle = panel._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    text = bundle["text/plain"]
    assert ": completed" in text
    assert "prompt: a plain text fox" in text
    assert "video: http://127.0.0.1" in text

    class Printer:
        out = ""

        def text(self, value: str) -> None:
            self.out += value

    printer = Printer()
    panel._repr_pretty_(printer, False)
    assert printer.out == text


def test_the_tracker_alone_needs_no_widgets(live_client: LumaClient) -> None:
    tracker = TaskTracker(live_client, live_client.create("no widgets"))
    assert tracker.start()
    assert not tracker.start()  # already polling
    assert tracker.join(timeout=15)
    view = tracker.snapshot()
    assert view.phase == Phase.COMPLETED
    assert view.progress == 1.0
    assert view.video_url
    assert not tracker.start()  # finished: nothing to resume
    with pytest.raises(ValueError, match="either a task"):
        TaskTracker(live_client)


def test_the_tracker_downloads_into_a_new_folder_named_with_a_slash(
    live_client: LumaClient, tmp_path: Path
) -> None:
    task = live_client.wait(live_client.create("into a folder"), timeout=10)
    tracker = TaskTracker(live_client, task)
    assert tracker.start()
    assert tracker.join(timeout=10)
    assert tracker.download(f"{tmp_path / 'videos'}/")
    assert tracker.join(timeout=10)
    view = tracker.snapshot()
    assert view.download_error is None
    assert view.download_path == str((tmp_path / "videos" / f"{task.id}.mp4").resolve())


def test_an_unexpected_download_failure_still_ends_the_job(
    live_client: LumaClient, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    task = live_client.wait(live_client.create("broken download"), timeout=10)
    tracker = TaskTracker(live_client, task)
    assert tracker.start()
    assert tracker.join(timeout=10)

    def broken(*args: object, **kwargs: object) -> Path:
        raise RuntimeError("boom")

    monkeypatch.setattr(live_client, "download", broken)
    assert tracker.download(tmp_path)
    assert tracker.join(timeout=10)
    view = tracker.snapshot()
    assert not view.downloading
    assert not view.active
    assert view.download_error == "RuntimeError: boom"


# --------------------------------------------------------------------------------------------
# Secrets


def _widget_states(roots: list[widgets.Widget]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(model id, state) of every widget reachable from `roots`, and of every live widget."""
    seen: set[str] = set()
    stack = [*roots, *live_widgets.values()]
    while stack:
        widget = stack.pop()
        if widget.model_id is None or widget.model_id in seen:
            continue
        seen.add(widget.model_id)
        state = widget.get_state()
        yield widget.model_id, state
        for value in state.values():  # children, layout, style... are "IPY_MODEL_<id>" refs
            for ref in value if isinstance(value, list | tuple) else [value]:
                if isinstance(ref, str) and ref.startswith("IPY_MODEL_"):
                    stack.append(live_widgets[ref[10:]])


def _dump(state: dict[str, Any]) -> str:
    def default(value: Any) -> str:
        if isinstance(value, memoryview | bytes):
            return bytes(value).decode("latin-1")
        return repr(value)

    return json.dumps(state, default=default)


def test_the_api_key_appears_in_no_widget_state(
    make_client: Callable[..., LumaClient],
    tmp_path: Path,
    panels: list[TaskPanel],
    live_policy: PollPolicy,
    until: Until,
) -> None:
    with LumaSimulator(api_key=SECRET, queue_seconds=0.2, run_seconds=0.3) as sim:
        client = make_client(sim, poll_policy=live_policy)
        studio = LumaStudio(client, download_dir=tmp_path)
        studio.prompt.value = "a secret garden"
        ok = studio.generate()
        assert ok is not None
        until(ok, lambda v: v.task_id is not None)  # created (in the panel's thread)
        sim.faults.fail_next_task("moderation")
        bad = studio.generate("a failing garden")
        assert ok is not None
        assert bad is not None
        panels += [ok, bad]
        stopped = TaskPanel(client, client.create("stopped"))
        panels.append(stopped)
        stopped.stop()
        assert ok.wait(timeout=15)
        assert bad.wait(timeout=15)
        assert stopped.wait(timeout=15)
        ok.download()
        assert ok.wait(timeout=15)
        assert ok.view.download_path

        states = list(_widget_states([studio, ok, bad, stopped]))
        assert len(states) > 40
        for model_id, state in states:
            assert SECRET not in _dump(state), model_id
        for text in (repr(studio), studio._text(), repr(ok), ok.view.text(), bad.view.text()):
            assert SECRET not in text
        studio.close()


# --------------------------------------------------------------------------------------------
# Imports


def test_import_luma_tools_does_not_import_ipywidgets() -> None:
    code = "import sys, luma_tools; print('ipywidgets' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_a_missing_ipywidgets_gives_a_clear_error() -> None:
    code = (
        "import sys; sys.modules['ipywidgets'] = None\n"
        "try:\n    import luma_tools.widgets\n"
        "except ImportError as exc:\n    print(exc)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "pip install 'luma-tools[notebook]'" in out.stdout
