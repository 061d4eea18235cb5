"""TaskPanel against the simulator, headless (ipywidgets' dummy comm, no kernel).

The panel is one anywidget model: these tests read its synced `state` (what the front end
draws and a saved notebook keeps), drive it with the messages its buttons send, and record
the messages it sends back (the live video link).
"""

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
import requests
from ipywidgets.widgets.widget import _instances as live_widgets
from panel_messages import press, sent_messages

from luma_tools import LumaClient, PollPolicy
from luma_tools.simulator import LumaSimulator
from luma_tools.widgets import LumaStudio, PanelView, Phase, TaskPanel, TaskTracker
from luma_tools.widgets._panel import front_end_state

Until = Callable[..., PanelView]

SECRET = "sk-live-WIDGET-SECRET-0123456789abcdef"
STATIC = Path(__file__).resolve().parents[2] / "luma_tools" / "widgets" / "static"


def rendered_phases(panel: TaskPanel) -> list[str]:
    """Every phase the panel's synced state goes through, in order."""
    seen = [panel.state["phase"]]

    def on_state(change: dict[str, Any]) -> None:
        if change["new"]["phase"] != seen[-1]:
            seen.append(change["new"]["phase"])

    panel.observe(on_state, names="state")
    return seen


def test_the_panel_is_one_model_whose_front_end_ships_in_the_package() -> None:
    assert issubclass(TaskPanel, widgets.DOMWidget)
    assert TaskPanel._model_name.default_value == "AnyModel"
    assert "export default { render }" in TaskPanel._esm
    assert ".luma-panel" in TaskPanel._css
    source = (STATIC / "panel.css").read_text()
    # Theme variables only: no hard-coded text colour that a dark theme could not read.
    for line in source.splitlines():
        if line.strip().startswith("color:"):
            assert "var(--" in line or "#fff" in line, line


def test_panel_walks_queued_running_completed_and_sends_the_video_link_live(
    live_sim: LumaSimulator, live_client: LumaClient, panels: list[TaskPanel]
) -> None:
    task = live_client.create("a fox in the snow")
    panel = TaskPanel(live_client, task, autostart=False)
    panels.append(panel)
    seen = rendered_phases(panel)
    messages = sent_messages(panel)
    panel.start()
    assert panel.wait(timeout=15)

    assert [p for p in seen if p != "unknown"] == ["queued", "running", "completed"]
    state = panel.state
    assert state["task_id"] == task.id
    assert state["bar"] == "success"
    assert state["progress"] == 1.0
    assert state["download"] == "ready"
    assert state["stop"] is None
    assert state["refollow"] == f'TaskPanel.resume(client, "{task.id}")'
    view = panel.view
    assert view.polls >= 2
    assert f"{view.polls} polls" in state["status"]
    # The signed link reaches the browser in a message, never in the saved state.
    (video,) = [m for m in messages if m["kind"] == "video"]
    assert video["url"].startswith(live_sim.base_url + "/files/")
    assert "X-Amz-Signature" in video["url"]
    assert "127.0.0.1" not in json.dumps(panel.get_state())
    # A view rendered later (another tab, a re-rendered output) asks for it and gets it.
    press(panel, "hello")
    assert messages[-1] == video


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
        bars: list[tuple[str, float]] = []
        panel.observe(lambda c: bars.append((c["new"]["bar"], c["new"]["progress"])), "state")
        panel.start()
        view = until(panel, lambda v: v.polls >= 2)
        if estimate:
            assert view.progress is not None
            assert 0 < view.progress <= 0.95
            assert "left" in view.status_line()
        else:
            assert view.progress is None
            assert "no estimate yet" in view.status_line()
        assert panel.wait(timeout=15)
        assert panel.view.phase == Phase.COMPLETED
        assert any(kind == "indeterminate" for kind, _ in bars) is not estimate
        if estimate:  # the bar grew by the ETA before it filled up at the end
            values = [value for _, value in bars]
            assert any(0 < v < 1 for v in values)
            assert values == sorted(values)
        assert panel.state["bar"] == "success"


def test_one_poll_is_one_poll() -> None:
    assert PanelView(polls=1).status_line() == "0 s elapsed · 1 poll"
    assert PanelView(polls=2).status_line() == "0 s elapsed · 2 polls"


def test_a_failed_task_shows_its_reason_and_what_to_try(
    live_sim: LumaSimulator, live_client: LumaClient, panels: list[TaskPanel]
) -> None:
    live_sim.faults.fail_next_task("Frame moderation failed: the prompt mentions a celebrity")
    panel = TaskPanel(live_client, live_client.create("a famous actor dancing"))
    panels.append(panel)
    assert panel.wait(timeout=15)

    state = panel.state
    assert state["phase"] == Phase.FAILED
    assert state["title"] == "Failed"
    assert state["message"] == "Frame moderation failed: the prompt mentions a celebrity"
    assert "Rephrase the prompt" in state["hint"]
    assert state["bar"] == "danger"
    assert state["download"] is None
    assert state["stop"] is None  # nothing to resume: the task is over


def test_stopped_and_timed_out_bars_are_amber_and_offer_resume(
    live_sim: LumaSimulator, live_client: LumaClient, panels: list[TaskPanel], until: Until
) -> None:
    live_sim.faults.stall_next_task()
    stalled = live_client.create("forever")
    timed = TaskPanel(live_client, stalled, timeout=0.3)
    panels.append(timed)
    assert timed.wait(timeout=10)
    state = timed.state
    assert state["phase"] == Phase.TIMED_OUT
    assert state["bar"] == "warning"
    assert state["progress"] > 0  # amber as far as it got, never an empty bar
    assert state["stop"] == "resume"
    assert stalled.id in state["message"]


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
    panel.observe(lambda c: errors.append(c["new"]["last_error"] or ""), names="state")
    panel.start()
    assert panel.wait(timeout=15)
    assert panel.view.phase == Phase.COMPLETED
    assert any("poll 1" in e and "502" in e for e in errors)
    assert panel.state["last_error"] is None  # a finished task no longer shows retried errors


def test_stop_and_resume_buttons_stop_polling_and_go_on(
    live_sim: LumaSimulator, live_client: LumaClient, panels: list[TaskPanel], until: Until
) -> None:
    live_sim.faults.stall_next_task()
    panel = TaskPanel(live_client, live_client.create("forever"))
    panels.append(panel)
    until(panel, lambda v: v.phase == Phase.RUNNING and v.polls >= 2)

    press(panel, "stop")
    assert panel.wait(timeout=10)  # the poll thread ended: nothing can poll any more
    polls = live_sim.count("query")
    view = panel.view
    assert view.phase == Phase.STOPPED
    assert not view.active
    assert "keeps running on the gateway" in panel.state["message"]
    assert panel.state["stop"] == "resume"
    assert panel.state["bar"] == "warning"
    assert not any(t.name == "luma-panel-poll" and t.is_alive() for t in threading.enumerate())
    assert live_sim.count("query") == polls

    press(panel, "resume")
    until(panel, lambda v: v.polls >= view.polls + 2)
    assert live_sim.count("query") > polls
    assert panel.state["stop"] == "stop"
    panel.stop()
    assert panel.wait(timeout=10)
    assert panel.view.phase == Phase.STOPPED


def test_a_preview_whose_link_expired_gets_a_fresh_one(
    live_sim: LumaSimulator, live_client: LumaClient, panels: list[TaskPanel], until: Until
) -> None:
    task = live_client.wait(live_client.create("a short-lived link"), timeout=10)
    panel = TaskPanel(live_client, task)
    panels.append(panel)
    messages = sent_messages(panel)

    def videos() -> list[str]:
        return [m["url"] for m in messages if m["kind"] == "video"]

    assert panel.wait(timeout=10)
    press(panel, "hello")  # the front end asks for the live link (it may have had it already)
    sent = len(videos())
    first = videos()[-1]
    live_sim.faults.expire_links()  # what time does to a signed link
    assert requests.get(first, timeout=5).status_code == 403
    queries = live_sim.count("query")

    press(panel, "expired")  # what the front end sends when its <video> fails to play
    assert panel.wait(timeout=10)
    until(panel, lambda view: len(videos()) == sent + 1)
    assert videos()[-1] != first
    assert requests.get(videos()[-1], timeout=5).status_code == 200
    # Asked again at once (a link that cannot play anywhere): no new request to the gateway.
    press(panel, "expired")
    assert panel.wait(timeout=10)
    assert live_sim.count("query") == queries + 1
    assert "X-Amz-Signature" not in json.dumps(panel.get_state())  # links stay out of it


def test_download_shows_path_and_size_and_leaves_the_preview_alone(
    live_sim: LumaSimulator, live_client: LumaClient, panels: list[TaskPanel], tmp_path: Path
) -> None:
    task = live_client.wait(live_client.create("small"), timeout=10)
    panel = TaskPanel(live_client, task, download_dir=tmp_path)
    panels.append(panel)
    messages = sent_messages(panel)
    assert panel.wait(timeout=10)
    videos = [m for m in messages if m["kind"] == "video"]

    press(panel, "download")
    assert panel.wait(timeout=10)

    saved = tmp_path / f"{task.id}.mp4"
    assert saved.stat().st_size == live_sim.video_size
    state = panel.state
    assert state["saved_path"] == str(saved.resolve())
    assert state["saved_size"] == "123.4 kB"
    assert state["download"] == "done"
    # Finishing the download changes nothing the video plays from (no jump back to 0:00),
    # and no file bytes ever go into the widget's state.
    assert [m for m in messages if m["kind"] == "video"] == videos
    assert len(json.dumps(panel.get_state())) < 30_000
    assert not panel._repr_mimebundle_()[0]["text/plain"].count("http")


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
    assert "already exists" in panel.state["download_error"]
    assert "overwrite" in panel.state["download_error"]
    assert panel.state["download"] == "ready"  # the user may retry (after moving the file)


def test_several_panels_run_at_once(
    live_sim: LumaSimulator, live_client: LumaClient, panels: list[TaskPanel]
) -> None:
    live_sim.faults.fail_next_task("nope")
    tasks = [live_client.create(f"prompt {i}") for i in range(4)]
    panels += [TaskPanel(live_client, t) for t in tasks]
    assert all(p.wait(timeout=20) for p in panels)
    assert [p.view.phase for p in panels] == ["failed", "completed", "completed", "completed"]
    assert len({p.view.task_id for p in panels}) == 4


# --------------------------------------------------------------------------------------------
# Error states: named by task, and only actions that can help


def test_a_bad_key_offers_no_resume(
    live_sim: LumaSimulator, make_client: Callable[..., LumaClient], panels: list[TaskPanel]
) -> None:
    task = make_client(live_sim).create("with a good key")
    bad = LumaClient("sk-wrong-key-000000", live_sim.base_url)
    panel = TaskPanel(bad, task.id)
    panels.append(panel)
    assert panel.wait(timeout=10)
    state = panel.state
    assert state["phase"] == Phase.ERROR
    assert task.id in state["message"]
    assert "LUMA_API_KEY" in state["hint"]
    assert state["stop"] is None
    assert not panel.start()  # pressing Resume could only fail the same way
    bad.close()


def test_an_unknown_task_is_named(live_client: LumaClient, panels: list[TaskPanel]) -> None:
    panel = TaskPanel(live_client, "0b7c1e2a-dead-beef-0000-000000000000")
    panels.append(panel)
    assert panel.wait(timeout=10)
    state = panel.state
    assert state["phase"] == Phase.ERROR
    assert "0b7c1e2a-dead-beef-0000-000000000000" in state["message"]
    assert state["stop"] is None


def test_a_connection_error_while_following_can_be_resumed(
    make_client: Callable[..., LumaClient], panels: list[TaskPanel], live_policy: PollPolicy
) -> None:
    sim = LumaSimulator(queue_seconds=0.2, run_seconds=0.3).start()
    client = make_client(sim, poll_policy=live_policy, max_retries=0)
    task = client.create("the gateway goes away")
    sim.stop()
    panel = TaskPanel(client, task.id, timeout=2)
    panels.append(panel)
    assert panel.wait(timeout=15)
    state = panel.state
    assert state["phase"] in (Phase.ERROR, Phase.TIMED_OUT)
    assert task.id in state["message"]
    assert state["stop"] == "resume"  # the task id is known: trying again may well help


def _a_create_that_errs(
    client: LumaClient, panels: list[TaskPanel], prompt: str
) -> tuple[TaskPanel, dict[str, Any]]:
    """A panel that creates its own task (as the studio's do), followed to its error."""
    panel = TaskPanel(client, _submit=lambda: client.create(prompt))
    panels.append(panel)
    assert panel.wait(timeout=15)
    assert panel.state["phase"] == Phase.ERROR
    return panel, panel.state


def test_a_failed_create_says_no_task_was_created_and_offers_nothing(
    live_sim: LumaSimulator, live_client: LumaClient, panels: list[TaskPanel]
) -> None:
    live_sim.faults.quota_exhausted(times=1, route="create")
    panel, state = _a_create_that_errs(live_client, panels, "no money")
    assert state["task_line"] == "no task was created"
    assert state["message"].startswith("The create request failed, so no task was created")
    assert state["stop"] is None  # never "creating the task…" with a dead Stop button
    assert not panel.start()
    assert live_sim.count("create") == 1


def test_an_ambiguous_create_says_it_may_be_billed_and_never_invites_a_second_one(
    live_sim: LumaSimulator, live_client: LumaClient, panels: list[TaskPanel]
) -> None:
    live_sim.faults.reset_connection(times=1, route="create")
    panel, state = _a_create_that_errs(live_client, panels, "lost reply")
    assert state["ambiguous"] is True
    assert "may have been created and billed" in state["task_line"]
    assert "may have been created and billed" in state["message"]
    assert "task log" in state["hint"]
    assert 'TaskPanel.resume(client, "<task id>")' in state["hint"]
    assert "Do not generate it again" in state["hint"]
    assert "luma-tools jobs --ambiguous" in state["hint"]
    assert state["stop"] is None
    assert not panel.start()
    text = panel.view.text()
    assert "may have been created and billed" in text
    assert live_sim.count("create") == 1  # and never re-sent


def test_stop_while_the_create_is_in_flight_says_what_happens(
    live_sim: LumaSimulator, live_client: LumaClient, panels: list[TaskPanel], until: Until
) -> None:
    live_sim.faults.delay_response(times=1, seconds=1.0, route="create")
    panel = TaskPanel(live_client, _submit=lambda: live_client.create("slow create"))
    panels.append(panel)
    assert panel.state["stop"] == "stop"
    press(panel, "stop")
    view = until(panel, lambda v: v.stopping)
    assert "cannot be recalled" in (view.message or "")
    until(panel, lambda v: v.phase == Phase.STOPPED)
    assert panel.wait(timeout=10)
    state = panel.state
    assert state["task_id"]  # the id that came back is kept...
    assert state["stop"] == "resume"  # ...and following it is one click away
    assert live_sim.count("create") == 1


# --------------------------------------------------------------------------------------------
# Saved text


def test_the_text_fallback_names_the_task_and_holds_no_link(
    live_client: LumaClient, panels: list[TaskPanel]
) -> None:
    panel = TaskPanel(live_client, live_client.create("a plain text fox"))
    panels.append(panel)
    assert panel.wait(timeout=15)
    assert repr(panel).startswith("TaskPanel(task_id=")
    data, _ = panel._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in data
    text = data["text/plain"]
    assert f"Luma task {panel.view.task_id}: completed" in text
    assert "prompt: a plain text fox" in text
    assert "http" not in text

    class Printer:
        out = ""

        def text(self, value: str) -> None:
            self.out += value

    printer = Printer()
    panel._repr_pretty_(printer, False)
    assert printer.out == text


def test_an_unfinished_task_saves_the_line_that_follows_it_again() -> None:
    view = PanelView(phase=Phase.RUNNING, task_id="abc-123", polls=3)
    assert 'follow it again: TaskPanel.resume(client, "abc-123")' in view.text()
    assert front_end_state(view)["refollow"] == 'TaskPanel.resume(client, "abc-123")'
    done = PanelView(phase=Phase.COMPLETED, task_id="abc-123", download_path="/v/abc-123.mp4")
    assert "saved: /v/abc-123.mp4" in done.text()
    assert "follow it again" not in done.text()


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
# Secrets and signed links


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


def test_neither_the_api_key_nor_a_signed_link_appears_in_any_widget_state(
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
        assert len(states) > 10
        for model_id, state in states:
            dumped = _dump(state)
            assert SECRET not in dumped, model_id
            assert "X-Amz-Signature" not in dumped, model_id
            assert sim.base_url not in dumped, model_id
        for text in (repr(studio), studio._text(), repr(ok), ok.view.text(), bad.view.text()):
            assert SECRET not in text
            assert "X-Amz-Signature" not in text
        studio.close()


# --------------------------------------------------------------------------------------------
# Imports


def test_import_luma_tools_does_not_import_ipywidgets() -> None:
    code = "import sys, luma_tools; print('ipywidgets' in sys.modules, 'anywidget' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False False"


@pytest.mark.parametrize("missing", ["ipywidgets", "anywidget"])
def test_a_missing_widget_library_gives_a_clear_error(missing: str) -> None:
    code = (
        f"import sys; sys.modules[{missing!r}] = None\n"
        "try:\n    import luma_tools.widgets\n"
        "except ImportError as exc:\n    print(exc)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "pip install 'luma-tools[notebook]'" in out.stdout


# --------------------------------------------------------------------------------------------
# Following a task again


def test_resume_follows_a_task_with_what_the_journal_knows(
    live_sim: LumaSimulator,
    make_client: Callable[..., LumaClient],
    panels: list[TaskPanel],
    live_policy: PollPolicy,
    tmp_path: Path,
) -> None:
    from luma_tools import Journal

    journal = Journal(tmp_path / "journal.sqlite3")
    client = make_client(live_sim, poll_policy=live_policy, journal=journal)
    task = client.create("a lantern festival", aspect_ratio="9:16")
    saved = client.download(client.wait(task, timeout=15), f"{tmp_path / 'videos'}/")
    # A kernel restart later: a new client, the same journal, one line.
    again = make_client(live_sim, poll_policy=live_policy, journal=journal)
    panel = TaskPanel.resume(again, task.id)
    panels.append(panel)
    assert panel.wait(timeout=15)
    state = panel.state
    assert state["phase"] == Phase.COMPLETED
    assert state["prompt"] == "a lantern festival"
    assert ["aspect ratio", "9:16"] in state["details"]
    assert state["saved_path"] == str(saved)
    assert state["download"] == "done"
    assert panel._download_dir == tmp_path / "videos"
    assert live_sim.count("create") == 1  # nothing is ever sent again

    unknown = TaskPanel.resume(again, live_sim.add_task(state="completed", prompt="elsewhere"))
    panels.append(unknown)
    assert unknown.wait(timeout=15)  # not in the journal: simply followed
    assert unknown.state["phase"] == Phase.COMPLETED
    assert unknown.state["details"] == []
