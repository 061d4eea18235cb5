"""Every ```python block of the documentation runs.

The blocks of `docs/**/*.md` and of `README.md` are extracted and executed one by one against a
live `LumaSimulator`, with the conventions the docs promise their readers (the `namespace`
fixture of `conftest.py`; `test_docstring_examples.py` does the same for the API reference's
docstrings):

* `LUMA_API_KEY` and `LUMA_BASE_URL` point at the simulator, so `LumaClient()` just works;
* `client` is a ready `LumaClient` and `sim` the running simulator (blocks use them without
  creating them, as the pages say);
* the current directory is an empty temporary one (blocks write `fox.mp4` and friends there);
* clients built without a `poll_policy` poll at the simulator's pace instead of a real gateway's.

A block that cannot run offline (a real chat model, say) carries
`<!-- not-tested: why -->` on the line before its fence (or `# not-tested: why` as its first
line). Such blocks are reported as skipped, and there must stay very few of them.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from fenced_blocks import Block, extract_blocks

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"

#: At most this many blocks may be marked `not-tested`.
MAX_NOT_TESTED = 3


def collect() -> list[Block]:
    blocks = extract_blocks((ROOT / "README.md").read_text(encoding="utf-8"), "README.md")
    for path in sorted(DOCS.rglob("*.md")):
        source = path.relative_to(DOCS).as_posix()
        blocks.extend(extract_blocks(path.read_text(encoding="utf-8"), source))
    return blocks


BLOCKS = collect()


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
