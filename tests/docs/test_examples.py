"""Every ```python block of the documentation runs.

The blocks of `docs/**/*.md` and of `README.md` are extracted and executed one by one against a
live `LumaSimulator`, with the conventions the docs promise their readers:

* `LUMA_API_KEY` and `LUMA_BASE_URL` point at the simulator, so `LumaClient()` just works;
* `client` is a ready `LumaClient` and `sim` the running simulator (blocks use them without
  creating them, as the pages say);
* the current directory is an empty temporary one (blocks write `fox.mp4` and friends there);
* clients built without a `poll_policy` poll at the simulator's pace instead of a real gateway's.

A block that cannot run offline (a real chat model, say) carries
`<!-- not-tested: why -->` on the line before its fence. Such blocks are reported as skipped,
and there must stay very few of them.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import luma_tools._client
from luma_tools import LumaClient, PollPolicy
from luma_tools.simulator import LumaSimulator

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"

#: At most this many blocks may be marked `not-tested`.
MAX_NOT_TESTED = 3

#: The simulator's jobs take well under a second: run the schedule (estimates included) 10x faster.
FAST_POLL = PollPolicy(first_delay=0.5, min_interval=0.5, max_interval=2.0).scaled(0.1)

_FENCE_OPEN = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>[^`\n]*)$")
_NOT_TESTED = re.compile(r"<!--\s*not-tested:\s*(?P<reason>.*?)\s*-->")
_PYTHON = {"python", "py", "python3", "pycon"}


@dataclass(frozen=True)
class Block:
    """One fenced Python block of a Markdown file."""

    source: str  # "concepts.md", "reference/client.md", "README.md"
    line: int  # 1-based line of the opening fence
    code: str
    not_tested: str | None  # the reason given by a not-tested marker, else None

    @property
    def id(self) -> str:
        return f"{self.source}:{self.line}"


def extract_blocks(text: str, source: str) -> list[Block]:
    """The fenced Python blocks of `text` (fences may be indented, e.g. inside tabs)."""
    lines = text.splitlines()
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        match = _FENCE_OPEN.match(lines[i])
        if match is None:
            i += 1
            continue
        indent, fence = match["indent"], match["fence"]
        words = match["info"].strip().lstrip("{").split()
        language = words[0].lstrip(".").lower() if words else ""
        start = i
        body: list[str] = []
        i += 1
        while i < len(lines):
            stripped = lines[i].strip()
            if stripped.startswith(fence[0] * len(fence)) and not stripped.strip(fence[0]):
                break
            body.append(lines[i][len(indent) :] if lines[i].startswith(indent) else lines[i])
            i += 1
        i += 1  # past the closing fence
        if language not in _PYTHON:
            continue
        previous = next((line for line in reversed(lines[:start]) if line.strip()), "")
        marker = _NOT_TESTED.search(previous)
        blocks.append(
            Block(
                source=source,
                line=start + 1,
                code="\n".join(body) + "\n",
                not_tested=marker["reason"] if marker else None,
            )
        )
    return blocks


def collect() -> list[Block]:
    blocks = extract_blocks((ROOT / "README.md").read_text(encoding="utf-8"), "README.md")
    for path in sorted(DOCS.rglob("*.md")):
        source = path.relative_to(DOCS).as_posix()
        blocks.extend(extract_blocks(path.read_text(encoding="utf-8"), source))
    return blocks


BLOCKS = collect()


@pytest.fixture
def docs_sim() -> Iterator[LumaSimulator]:
    # A fresh simulator per block: faults and shapes a block sets cannot leak into the next.
    with LumaSimulator(queue_seconds=0.1, run_seconds=0.2) as simulator:
        yield simulator


@pytest.fixture
def namespace(
    docs_sim: LumaSimulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[dict[str, object]]:
    monkeypatch.setenv("LUMA_API_KEY", docs_sim.api_key)
    monkeypatch.setenv("LUMA_BASE_URL", docs_sim.base_url)
    monkeypatch.chdir(tmp_path)
    # `LumaClient()` in an example gets the simulator's pace, not a real gateway's.
    monkeypatch.setattr(luma_tools._client, "PollPolicy", lambda: FAST_POLL)
    with LumaClient(timeout=(2.0, 10.0)) as client:
        namespace: dict[str, object] = {"__name__": "__docs_example__", "client": client}
        namespace["sim"] = docs_sim
        yield namespace
        _stop_background_work(namespace)


def _stop_background_work(namespace: dict[str, object]) -> None:
    """Close the widgets a block left running, so their threads do not outlive the simulator."""
    widgets = sys.modules.get("luma_tools.widgets")
    if widgets is None:
        return
    values = list(namespace.values())
    for value in list(values):
        if isinstance(value, list | tuple):
            values.extend(value)
    for value in values:
        if isinstance(value, widgets.TaskPanel | widgets.LumaStudio):
            value.close()  # stops the polling and rendering threads
            _close_tree(value)
        elif isinstance(value, widgets.TaskTracker):
            value.stop()


def _close_tree(root: Any) -> None:
    """Close every widget under `root`: a live container must not keep closed children."""
    stack = [root]
    while stack:
        widget = stack.pop()
        stack.extend(getattr(widget, "children", ()))
        if getattr(widget, "comm", None) is not None:
            widget.close()


@pytest.mark.timeout(30)
@pytest.mark.parametrize("block", BLOCKS, ids=[block.id for block in BLOCKS])
def test_example_runs(block: Block, namespace: dict[str, object]) -> None:
    if block.not_tested is not None:
        pytest.skip(f"marked not-tested: {block.not_tested}")
    exec(compile(block.code, block.id, "exec"), namespace)


def test_examples_were_found() -> None:
    sources = {block.source for block in BLOCKS}
    assert "README.md" in sources
    assert {"index.md", "quickstart.md", "concepts.md"} <= sources


def test_few_blocks_are_not_tested() -> None:
    marked = [f"{b.id} ({b.not_tested})" for b in BLOCKS if b.not_tested is not None]
    assert len(marked) <= MAX_NOT_TESTED, "too many not-tested blocks:\n" + "\n".join(marked)
    assert all(b.not_tested for b in BLOCKS if b.not_tested is not None), "give a reason"


def test_extract_blocks_handles_indentation_and_markers() -> None:
    text = "\n".join(
        [
            "# Title",  # 1
            "```bash",  # 2
            "echo hi",
            "```",
            '=== "Tab"',  # 5
            "",
            "    ```python",  # 7
            "    x = 1",
            "        y = 2",
            "    ```",
            "<!-- not-tested: needs a real chat model -->",
            '```py title="a.py"',  # 12
            "model.invoke('hi')",
            "```",
        ]
    )
    first, second = extract_blocks(text, "t.md")
    assert (first.id, first.code, first.not_tested) == ("t.md:7", "x = 1\n    y = 2\n", None)
    assert (second.id, second.not_tested) == ("t.md:12", "needs a real chat model")
