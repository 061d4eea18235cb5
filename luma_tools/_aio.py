"""Starting coroutines on an event loop from wherever a callback runs (the loop, or a thread)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any

__all__ = ["LoopCalls"]


class LoopCalls:
    """Runs coroutines on one loop, from the loop itself or from any thread, and waits for them.

    Progress callbacks of an async tool call fire in the event loop (a bounded wait) or in a
    worker thread (a download); both hand their notification to `submit`, and the call awaits
    `flush()` before it answers, so every notification goes out before the result.

    Example:
        ```python
        import asyncio

        from luma_tools._aio import LoopCalls


        async def main() -> list[str]:
            sent: list[str] = []

            async def send(text: str) -> None:
                sent.append(text)

            calls = LoopCalls(asyncio.get_running_loop())
            calls.submit(send("from the loop"))
            await asyncio.to_thread(lambda: calls.submit(send("from a thread")))
            await calls.flush()
            return sent


        assert sorted(asyncio.run(main())) == ["from a thread", "from the loop"]
        ```
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._lock = threading.Lock()
        self._pending: list[asyncio.Future[Any]] = []

    def submit(self, coroutine: Coroutine[Any, Any, Any]) -> None:
        """Schedule `coroutine` on the loop (callable from the loop or from another thread)."""
        if _running_loop() is self._loop:
            future: asyncio.Future[Any] = asyncio.ensure_future(coroutine)
        else:
            future = asyncio.wrap_future(
                asyncio.run_coroutine_threadsafe(coroutine, self._loop), loop=self._loop
            )
        with self._lock:
            self._pending.append(future)

    async def flush(self) -> None:
        """Wait for everything submitted so far (failures are swallowed: they are courtesies)."""
        with self._lock:
            pending, self._pending = self._pending, []
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None
