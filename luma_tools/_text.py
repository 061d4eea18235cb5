"""Text that came from outside (gateways, storage hosts, callers): made safe to show.

Everything a gateway sends can end up in an exception, a terminal, a tool result an LLM reads,
or a notebook. So text from a reply is capped, stripped of control characters (a terminal
escape sequence or a bidi override in a failure reason must not reach a screen), and scrubbed
of secrets the gateway may echo back (`invalid token Bearer sk-...`).
"""

from __future__ import annotations

import re
import threading

__all__ = ["REDACTED", "Redactor", "clean_text", "preview"]

#: What a redacted secret reads as.
REDACTED = "<redacted>"

# C0 and C1 controls (tab and newline are folded into spaces by `clean_text`), zero-width and
# bidirectional-override characters, which can disguise what a message says.
_UNSAFE = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]"
)
# Secrets shorter than this are not redacted: "a" would be replaced everywhere.
_MIN_SECRET = 6


def clean_text(value: str, limit: int, *, one_line: bool = True) -> str:
    """`value` without control characters, whitespace folded, at most `limit` characters.

    Example:
        ```python
        from luma_tools._text import clean_text

        assert clean_text("bad\\x1b[31m  red\\n", 40) == "bad[31m red"
        assert clean_text("x" * 50, 10) == "xxxxxxxxx…"
        ```
    """
    text = _UNSAFE.sub("", value)
    if one_line:
        text = " ".join(text.split())
    if len(text) > limit:
        text = text[: max(0, limit - 1)] + "…"
    return text


def preview(text: str, limit: int = 120) -> str:
    """A short, safe excerpt of a reply body, for error messages."""
    return clean_text(text, limit) or "(empty)"


class Redactor:
    """Replaces known secrets (also with any of their characters percent-encoded) with `<redacted>`.

    A client registers its API key and the tokens of its notify listeners; every reply body is
    passed through the redactor before anything parses it, so no exception, task field, tool
    result or widget can carry a secret the gateway echoed back.

    Example:
        ```python
        from luma_tools._text import Redactor

        redact = Redactor()
        redact.add("sk-secret/123")
        assert redact("invalid token Bearer sk-secret/123") == "invalid token Bearer <redacted>"
        assert redact("key=sk-secret%2F123") == "key=<redacted>"
        ```
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._secrets: frozenset[str] = frozenset()
        self._pattern: re.Pattern[str] | None = None

    def add(self, secret: str) -> None:
        """Redact `secret` from now on (too-short values are ignored)."""
        if len(secret) < _MIN_SECRET:
            return
        with self._lock:
            self._secrets = self._secrets | {secret}
            # Longest first, so a secret containing another is replaced whole.
            ordered = sorted(self._secrets, key=len, reverse=True)
            self._pattern = re.compile("|".join(_any_encoding(s) for s in ordered))

    def __call__(self, text: str) -> str:
        pattern = self._pattern
        return text if pattern is None else pattern.sub(REDACTED, text)

    def __repr__(self) -> str:
        return f"Redactor({len(self._secrets)} secrets)"


def _any_encoding(secret: str) -> str:
    """A regex matching `secret` with any of its characters written as %XX (either case)."""
    parts = []
    for char in secret:
        encoded = "".join(f"%{byte:02x}" for byte in char.encode())
        parts.append(f"(?:{re.escape(char)}|(?i:{re.escape(encoded)}))")
        if char == " ":
            parts[-1] = r"(?:\ |\+|%20)"
    return "".join(parts)
