"""Untrusted text made fit to quote to a model: no control characters, and a length cap.

Gateway replies are untrusted input: a failure reason can run to 200,000 characters, a state
word can carry ANSI escapes or bidi overrides that rewrite what a reader sees. Everything a
gateway said goes through `quote` before it joins a message, and every message through
`fit` before it leaves, so a tool result stays within `MAX_CONTENT_CHARS` whatever arrives.
"""

from __future__ import annotations

import re

__all__ = ["MAX_CONTENT_CHARS", "clip", "fit", "quote"]

#: The longest text content a tool result may have.
MAX_CONTENT_CHARS = 1000

# C0/C1 controls, zero-width and bidi formatting characters, the BOM. Whitespace controls
# (tab, newline...) are folded into spaces first, so words stay apart.
_INVISIBLE = re.compile("[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]")
_ELLIPSIS = "…"


def clip(text: str, limit: int) -> str:
    """`text` cut to at most `limit` characters, an ellipsis marking the cut."""
    if len(text) <= limit:
        return text
    return text[: max(limit - 1, 0)].rstrip() + _ELLIPSIS


def quote(value: object, limit: int) -> str:
    """Gateway text fit to quote: one line, no invisible characters, at most `limit` long.

    Example:
        ```python
        from luma_tools.agent import quote

        assert quote("bad\\x1b[31m\\nreason\\u202e", 80) == "bad[31m reason"
        assert len(quote("x" * 200_000, 300)) == 300
        ```
    """
    text = " ".join(str(value).split())
    return clip(_INVISIBLE.sub("", text), limit)


def fit(text: str, limit: int = MAX_CONTENT_CHARS) -> str:
    """A whole message cut to `limit` characters, keeping its end (the next step).

    Messages are built from parts capped one by one, so this is a backstop: when it cuts,
    it cuts the middle, where the details are, never the instruction that ends the text.
    """
    if len(text) <= limit:
        return text
    tail = limit // 3
    return text[: limit - tail - 3].rstrip() + " " + _ELLIPSIS + " " + text[-tail:].lstrip()
