"""LumaStudio: the form creates and extends tasks, one live panel each (headless)."""

from __future__ import annotations

import base64
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from panel_messages import press

from luma_tools import LumaClient
from luma_tools.simulator import LumaSimulator
from luma_tools.widgets import LumaStudio, PanelView, Phase, TaskPanel

Until = Callable[..., PanelView]
# The smallest valid PNG (1x1, transparent).
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)


@pytest.fixture
def studio(live_client: LumaClient, tmp_path: Path) -> Iterator[LumaStudio]:
    made = LumaStudio(live_client, download_dir=tmp_path)
    yield made
    made.close()


def test_generate_sends_the_form_and_adds_a_live_panel(
    studio: LumaStudio, live_sim: LumaSimulator
) -> None:
    studio.prompt.value = "a lighthouse in a storm"
    studio.aspect_ratio.value = "9:16"
    studio.expand_prompt.value = True
    studio.start_image.url.value = "https://example.com/start.png"
    studio.generate_button.click()

    (panel,) = studio.panels
    assert studio.panel_list.children == (panel,)
    assert panel.wait(timeout=15)
    assert panel.view.phase == Phase.COMPLETED
    (create,) = [r for r in live_sim.requests if r.route == "create"]
    assert create.json == {
        "user_prompt": "a lighthouse in a storm",
        "aspect_ratio": "9:16",
        "expand_prompt": True,
        "image_url": "https://example.com/start.png",
    }
    assert "luma-studio" in studio._dom_classes
    assert "Luma studio (1 task)" in studio._text()
    assert ": completed" in studio._repr_mimebundle_()[0]["text/plain"]
    # The panel says what was asked for, in the form's words.
    assert panel.state["details"] == [
        ["aspect ratio", "9:16"],
        ["start image", "example.com/…/start.png"],
    ]
    assert panel.dismissable


def test_an_invalid_form_says_why_and_sends_nothing(
    studio: LumaStudio, live_sim: LumaSimulator
) -> None:
    studio.prompt.value = "   "
    assert studio.generate() is None
    assert "Prompt: " in studio.message.value
    assert "is blank" in studio.message.value
    assert "user_prompt" not in studio.message.value
    studio.prompt.value = "ok"
    studio.end_image.url.value = "ftp://nope"
    assert studio.generate() is None
    assert "End image: " in studio.message.value
    assert "image_end_url" not in studio.message.value
    assert studio.panels == []
    assert live_sim.count("create") == 0


def _upload(studio: LumaStudio) -> None:
    studio.start_image.upload.value = (
        {
            "name": "start.png",
            "type": "image/png",
            "size": len(PNG),
            "content": memoryview(PNG),
            "last_modified": datetime.now(UTC),
        },
    )


def test_an_uploaded_image_goes_with_one_generate_only(
    studio: LumaStudio, live_sim: LumaSimulator
) -> None:
    _upload(studio)
    panel = studio.generate("from an upload")
    assert panel is not None
    assert ["start image", "upload start.png"] in panel.state["details"]
    assert studio.start_image.upload.value == ()  # not carried into the next Generate...
    assert panel.wait(timeout=15)
    later = studio.generate("without the image")
    assert later is not None
    assert later.wait(timeout=15)
    first, second = [r.json for r in live_sim.requests if r.route == "create"]
    assert first["image_url"] == "data:image/png;base64," + base64.b64encode(PNG).decode()
    assert "image_url" not in second  # ...and not sent with it
    assert ["start image", "upload start.png"] not in later.state["details"]


def test_clear_removes_an_image(studio: LumaStudio) -> None:
    _upload(studio)
    studio.start_image.url.value = "https://example.com/a.png?X-Amz-Signature=abc"
    studio.start_image.clear_button.click()
    assert studio.start_image.upload.value == ()
    assert studio.start_image.url.value == ""
    assert studio.start_image.value() is None


def test_an_image_link_is_described_without_its_query(
    studio: LumaStudio, live_sim: LumaSimulator
) -> None:
    studio.end_image.url.value = "https://bucket.example.com/x/y/end.png?X-Amz-Signature=abc"
    panel = studio.generate("signed image")
    assert panel is not None
    assert ["end image", "bucket.example.com/…/end.png"] in panel.state["details"]
    assert "X-Amz-Signature" not in str(panel.get_state())
    assert panel.wait(timeout=15)


def test_a_double_click_creates_one_task(studio: LumaStudio, live_sim: LumaSimulator) -> None:
    studio.prompt.value = "only once"
    studio.generate_button.click()
    studio.generate_button.click()
    assert len(studio.panels) == 1
    assert studio.panels[0].wait(timeout=15)
    assert live_sim.count("create") == 1


def test_extend_continues_the_latest_completed_task(
    studio: LumaStudio, live_sim: LumaSimulator
) -> None:
    studio.extend_button.click()
    assert "Nothing to extend yet" in studio.message.value

    first = studio.generate("a paper boat")
    assert first is not None
    assert first.wait(timeout=15)
    studio.prompt.value = "the boat reaches the sea"
    studio.extend_button.click()
    assert len(studio.panels) == 2
    second: TaskPanel = studio.panels[1]
    assert studio.panel_list.children[0] is second  # newest first
    assert second.wait(timeout=15)
    assert second.view.phase == Phase.COMPLETED
    (extend,) = [r for r in live_sim.requests if r.route == "extend"]
    assert first.view.task_id in extend.path
    assert ["extends", first.view.task_id] in second.state["details"]
    assert extend.json["user_prompt"] == "the boat reaches the sea"


def test_a_create_that_fails_shows_the_error_on_its_panel(
    studio: LumaStudio, live_sim: LumaSimulator
) -> None:
    live_sim.faults.quota_exhausted(times=1, route="create")
    panel = studio.generate("no money")
    assert panel is not None
    assert panel.wait(timeout=15)
    view = panel.view
    assert view.phase == Phase.ERROR
    assert view.task_id is None
    assert panel.state["hint"]
    assert panel.state["stop"] is None  # nothing to resume: a create is never re-sent
    assert live_sim.count("create") == 1


def test_finished_panels_can_be_dismissed_and_folded(
    studio: LumaStudio, live_sim: LumaSimulator, until: Until
) -> None:
    live_sim.faults.stall_next_task()
    running = studio.generate("still running")
    assert running is not None
    until(running, lambda view: view.task_id is not None)  # it took the stall, not the next
    done = studio.generate("done soon")
    assert running is not None
    assert done is not None
    assert done.wait(timeout=15)
    assert running.dismissable
    press(running, "dismiss")  # not while it is followed: its id would vanish from view
    assert running in studio.panels

    done.collapsed = True  # what the fold button sets from the browser
    press(done, "dismiss")
    assert done not in studio.panels
    assert done not in studio.panel_list.children
    assert done.comm is None  # closed
    assert f"Dismissed task {done.view.task_id}" in studio.message.value
    assert "Luma studio (1 task)" in studio._text()
    running.stop()
    assert running.wait(timeout=10)


def test_close_closes_the_whole_widget_tree(live_client: LumaClient, tmp_path: Path) -> None:
    studio = LumaStudio(live_client, download_dir=tmp_path)
    panel = studio.generate("closing time")
    assert panel is not None
    tree, pending = [], [studio]
    while pending:
        widget = pending.pop()
        tree.append(widget)
        pending.extend(getattr(widget, "children", ()))
    studio.close()
    assert [w for w in tree if w.comm is not None] == []


def test_the_studio_lists_the_journals_recent_jobs_and_follows_one_again(
    live_sim: LumaSimulator, make_client: Callable[..., LumaClient], tmp_path: Path
) -> None:
    from luma_tools import AmbiguousSubmitError, Journal

    client = make_client(live_sim, journal=Journal(tmp_path / "journal.sqlite3"))
    earlier = client.create("made before the kernel restarted")
    live_sim.faults.reset_connection(times=1, route="create")
    with pytest.raises(AmbiguousSubmitError):
        client.create("a reply that was lost")
    studio = LumaStudio(client, download_dir=tmp_path)  # a new kernel, a new studio
    try:
        assert [value for _, value in studio.recent.options] == [earlier.id]
        note = studio.recent_note.value
        assert "may have been created and billed" in note  # the lost one: how to resolve it,
        assert "jobs attach" in note  # and no way to send it again
        studio.recent.value = earlier.id
        studio.follow_button.click()
        (panel,) = studio.panels
        assert panel.view.task_id == earlier.id
        assert panel.view.prompt == "made before the kernel restarted"
        assert panel.wait(timeout=15)
        assert panel.view.phase == Phase.COMPLETED
        assert live_sim.count("create") == 2  # following sent no create
        assert studio.recent.options == ()  # the followed task left the list
    finally:
        studio.close()


def test_the_saved_text_is_never_replaced_by_an_older_one() -> None:
    # Every panel's render thread refreshes the studio's text. A thread that computed its text
    # first but writes it last must not leave the older text as the one saved.
    from luma_tools.widgets._display import SavedText

    class Handle:
        def __init__(self) -> None:
            self.texts: list[str] = []

        def update(self, bundle: dict[str, str], raw: bool) -> None:
            self.texts.append(bundle["text/plain"])

    entered, release = threading.Event(), threading.Event()
    states = iter(["older", "newer"])

    def text() -> str:
        value = next(states)
        if value == "older":
            entered.set()
            assert release.wait(10)
        return value

    saved = SavedText(lambda: ({}, {}), text)
    handle = Handle()
    saved._handles.append(handle)
    saved._shown = "first"
    first = threading.Thread(target=saved.refresh)
    first.start()
    assert entered.wait(10)
    second = threading.Thread(target=saved.refresh)
    second.start()
    second.join(0.3)  # without the lock it would write "newer" now, before "older"
    release.set()
    first.join(10)
    second.join(10)
    assert handle.texts[-1] == "newer"
