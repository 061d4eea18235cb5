"""Untrusted text made fit to quote to a model: no control characters, and a length cap.

Gateway replies are untrusted input: a failure reason can run to 200,000 characters, a state
word can carry ANSI escapes or bidi overrides that rewrite what a reader sees. Everything a
gateway said goes through `quote` (the core's `clean_text`, for any value) before it joins a
message, and every message through `fit` before it leaves, so a tool result stays within
`MAX_CONTENT_CHARS` whatever arrives.
"""

from __future__ import annotations

from .._text import clean_text

__all__ = ["MAX_CONTENT_CHARS", "fit", "quote"]

#: The longest text content a tool result may have.
MAX_CONTENT_CHARS = 1000
_ELLIPSIS = "…"


def quote(value: object, limit: int) -> str:
    """Gateway text fit to quote: one line, no invisible characters, at most `limit` long.

    Example:
        ```python
        from luma_tools.agent import quote

        assert quote("bad\\x1b[31m\\nreason\\u202e", 80) == "bad[31m reason"
        assert len(quote("x" * 200_000, 300)) == 300
        ```
    """
    return clean_text(str(value), limit)


def fit(text: str, limit: int = MAX_CONTENT_CHARS) -> str:
    """A whole message cut to `limit` characters, keeping its end (the next step).

    Messages are built from parts capped one by one, so this is a backstop: when it cuts,
    it cuts the middle, where the details are, never the instruction that ends the text.
    """
    if len(text) <= limit:
        return text
    tail = limit // 3
    return text[: limit - tail - 3].rstrip() + " " + _ELLIPSIS + " " + text[-tail:].lstrip()
