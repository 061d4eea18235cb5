"""The tools' native async path: agents waiting at once never starve a quick call."""

from __future__ import annotations

import asyncio
import threading
import time

from langchain_core.messages import ToolMessage

from luma_tools import LumaClient, PollPolicy
from luma_tools.simulator import LumaSimulator
from luma_tools.tools import LumaToolkit

POLL = PollPolicy(first_delay=0.2, min_interval=0.2, max_interval=0.5, jitter=0.1)


def call(name: str, args: dict[str, object], n: int = 0) -> dict[str, object]:
    return {"name": name, "args": args, "id": f"call-{name}-{n}", "type": "tool_call"}


async def test_many_waiting_agents_do_not_starve_a_quick_call() -> None:
    with LumaSimulator(queue_seconds=1.0, run_seconds=4.0) as sim:
        client = LumaClient(
            sim.api_key, sim.base_url, poll_policy=POLL, journal=False, max_connections=8
        )
        create, _, query, _ = LumaToolkit(client=client).get_tools()
        ids = [sim.add_task(state="processing") for _ in range(40)]
        waits = [
            asyncio.ensure_future(
                query.ainvoke(call("luma_query_task", {"task_id": i, "wait_seconds": 3}, n))
            )
            for n, i in enumerate(ids)
        ]
        await asyncio.sleep(0.5)  # all 40 are inside their bounded wait now
        started = time.monotonic()
        quick = await create.ainvoke(call("luma_create_video", {"prompt": "a quick fox"}))
        latency = time.monotonic() - started
        results = await asyncio.gather(*waits)
        assert isinstance(quick, ToolMessage)
        assert quick.status == "success"
        assert latency < 0.5, f"a quick create waited {latency:.2f} s behind 40 bounded waits"
        assert all(isinstance(r, ToolMessage) and r.status == "success" for r in results)
        names = [thread.name for thread in threading.enumerate()]
        assert not any(name.startswith("asyncio_") for name in names)  # the loop's executor unused
        client.close()


async def test_progress_reaches_async_listeners(client: LumaClient, sim: LumaSimulator) -> None:
    from langchain_core.callbacks import AsyncCallbackHandler

    events: list[dict[str, object]] = []

    class Listener(AsyncCallbackHandler):
        async def on_custom_event(self, name, data, **kwargs):  # type: ignore[no-untyped-def, override]
            events.append(data)

    _, _, query, _ = LumaToolkit(client=client).get_tools()
    task = client.create("a watched fox")
    result = await query.ainvoke(
        call("luma_query_task", {"task_id": task.id, "wait_seconds": 10}),
        config={"callbacks": [Listener()]},
    )
    assert result.status == "success"
    assert events
    assert all(e["task_id"] == task.id for e in events)
