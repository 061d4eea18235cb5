"""Fenced code blocks of Markdown text, shared by the tests that run the documentation.

`test_examples.py` runs the blocks of the Markdown pages, `test_docstring_examples.py` those of
the docstrings the API reference renders; both extract them with `extract_blocks`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_FENCE_OPEN = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>[^`\n]*)$")
#: A marker on the line before a fence (Markdown pages, where it stays invisible).
_NOT_TESTED_COMMENT = re.compile(r"<!--\s*not-tested:\s*(?P<reason>.*?)\s*-->")
#: A marker on the first line inside a fence (docstrings, where readers of `help()` see it too).
_NOT_TESTED_LINE = re.compile(r"^#\s*not-tested:\s*(?P<reason>.*?)\s*$")
_PYTHON = {"python", "py", "python3", "pycon"}


@dataclass(frozen=True)
class Block:
    """One fenced Python block of a Markdown text."""

    source: str  # "concepts.md", "reference/client.md", "README.md", "luma_tools.LumaClient"
    line: int  # 1-based line of the opening fence
    code: str
    not_tested: str | None  # the reason given by a not-tested marker, else None

    @property
    def id(self) -> str:
        return f"{self.source}:{self.line}"


def extract_blocks(text: str, source: str, *, any_language: bool = False) -> list[Block]:
    """The fenced Python blocks of `text` (fences may be indented, e.g. inside tabs).

    A block is marked not-tested by `<!-- not-tested: why -->` on the line before its fence,
    or by `# not-tested: why` as the first line inside it. `any_language=True` returns the
    blocks of every language (bash, text...), e.g. to count what a page renders.
    """
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
        if language not in _PYTHON and not any_language:
            continue
        previous = next((line for line in reversed(lines[:start]) if line.strip()), "")
        first = next((line for line in body if line.strip()), "")
        marker = _NOT_TESTED_COMMENT.search(previous) or _NOT_TESTED_LINE.match(first.strip())
        blocks.append(
            Block(
                source=source,
                line=start + 1,
                code="\n".join(body) + "\n",
                not_tested=marker["reason"] if marker else None,
            )
        )
    return blocks
