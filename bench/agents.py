"""Many agents in one event loop: N agents, each a create then bounded query waits on a 3 s job.

Side by side, in one run: the tools' native async path (`ainvoke`: waits sleep in the event loop)
and the thread-executor baseline (what LangChain does for a tool without `_arun`: run the
blocking tool in the loop's default executor, `min(32, cpu + 4)` threads). Reported: wall time
against one job's length, peak threads of the agents' process, and the latency of an unrelated
quick tool call (a create from one more agent) made while the others wait.

The agents run in a child process, the simulator in this one, so that the thread count is the
agents' own. These are real-time figures: they depend on the machine.
"""

from __future__ import annotations

import asyncio
import json
import sys
import threading
import time
from typing import Any

from ._common import Row, Section, run_child

JOB_SECONDS = 3.0
QUEUE_SHARE = 0.2
WAIT_SECONDS = 8  # each luma_query_task call waits up to this long for a state change
BASELINE_LIMIT = 60.0  # the baseline is stopped after this long (it can take many minutes)
GOAL_WALL = 1.3
GOAL_QUICK = 0.5


def _call(name: str, args: dict[str, Any], n: int) -> dict[str, Any]:
    return {"name": name, "args": args, "id": f"{name}-{n}", "type": "tool_call"}


async def _agents(args: dict[str, Any]) -> dict[str, Any]:
    from luma_tools import LumaClient, PollPolicy
    from luma_tools.tools import LumaToolkit

    count, native, scale = args["agents"], args["mode"] == "native", args["scale"]
    client = LumaClient(
        args["api_key"],
        args["base_url"],
        poll_policy=PollPolicy().scaled(scale),
        max_connections=args.get("connections", 64),
        journal=False,
        timeout=(10.0, 30.0),
    )
    create, _, query, _ = LumaToolkit(client=client).get_tools()
    loop = asyncio.get_running_loop()

    async def invoke(tool: Any, call: dict[str, Any]) -> Any:
        if native:
            return await tool.ainvoke(call)
        return await loop.run_in_executor(None, tool.invoke, call)  # the baseline

    finished: list[float] = []
    waiting = 0
    all_waiting = asyncio.Event()

    async def agent(n: int) -> None:
        nonlocal waiting
        created = await invoke(create, _call("luma_create_video", {"prompt": f"agent {n}"}, n))
        task_id = created.artifact["id"]
        waiting += 1
        if waiting == count:
            all_waiting.set()
        while True:
            answer = await invoke(
                query,
                _call("luma_query_task", {"task_id": task_id, "wait_seconds": WAIT_SECONDS}, n),
            )
            if answer.artifact and answer.artifact.get("state") == "completed":
                finished.append(time.monotonic())
                return

    peak_threads = threading.active_count()
    stop = asyncio.Event()

    async def sample() -> None:
        nonlocal peak_threads
        while not stop.is_set():
            peak_threads = max(peak_threads, threading.active_count())
            await asyncio.sleep(0.05)

    sampler = asyncio.ensure_future(sample())
    started = time.monotonic()
    agents = [asyncio.ensure_future(agent(n)) for n in range(count)]
    await all_waiting.wait()  # every agent has its task and is inside its bounded wait
    await asyncio.sleep(0.2)
    quick_started = time.monotonic()
    await invoke(create, _call("luma_create_video", {"prompt": "one more agent"}, count))
    quick = time.monotonic() - quick_started
    _, pending = await asyncio.wait(agents, timeout=args["limit"])
    for task in pending:
        task.cancel()
    stop.set()
    await sampler
    wall = (max(finished) if finished else time.monotonic()) - started
    client.close()
    return {
        "wall": wall,
        "finished": len(finished),
        "threads": peak_threads,
        "quick": quick,
        "all_waiting_at": quick_started - 0.2 - started,
        "stopped": bool(pending),
    }


def _child() -> None:
    args = json.loads(sys.stdin.read())
    print(json.dumps(asyncio.run(_agents(args))))


def run(quick: bool = False) -> Section:
    from luma_tools.simulator import LumaSimulator

    section = Section("Many agents in one event loop")
    sizes = (20, 50) if quick else (50, 200, 1000)
    rows: list[list[str]] = []
    for agents in sizes:
        scale = 0.1 if agents >= 1000 else 1.0  # the largest run uses a time-scaled simulator
        for mode in ("native", "baseline"):
            if mode == "baseline" and agents >= 1000:
                continue  # hours with 6 threads; the 200-agent row shows the trend
            with LumaSimulator(
                queue_seconds=JOB_SECONDS * QUEUE_SHARE / scale,
                run_seconds=JOB_SECONDS * (1 - QUEUE_SHARE) / scale,
                time_scale=scale,
            ) as sim:
                result = run_child(
                    "bench.agents",
                    {
                        "agents": agents,
                        "mode": mode,
                        "scale": scale,
                        "base_url": sim.base_url,
                        "api_key": sim.api_key,
                        "limit": BASELINE_LIMIT if mode == "baseline" else 120.0,
                    },
                    timeout=600,
                )
            ratio = result["wall"] / JOB_SECONDS
            done = f"{result['finished']}/{agents}" + (" (stopped)" if result["stopped"] else "")
            rows.append(
                [
                    str(agents),
                    "`ainvoke` (native async)"
                    if mode == "native"
                    else "default executor (baseline)",
                    f"{result['wall']:.1f} s = {ratio:.2f}x"
                    if not result["stopped"]
                    else f"> {BASELINE_LIMIT:.0f} s",
                    done,
                    str(result["threads"]),
                    f"{result['quick']:.2f} s",
                ]
            )
            if mode == "native":
                section.rows.append(
                    Row(
                        f"{agents} agents: wall time / one job",
                        f"{ratio:.2f}x",
                        f"<= {GOAL_WALL}x",
                        ratio <= GOAL_WALL,
                    )
                )
                section.rows.append(
                    Row(
                        f"{agents} agents: quick call while they wait",
                        f"{result['quick'] * 1000:.0f} ms",
                        f"< {GOAL_QUICK * 1000:.0f} ms",
                        result["quick"] < GOAL_QUICK,
                    )
                )
    section.tables.append(
        (
            [
                "agents",
                "tools called through",
                "wall time (one job = 3 s)",
                "finished",
                "peak threads",
                "quick call",
            ],
            rows,
        )
    )
    section.notes.append(
        "Each agent creates a task, then calls `luma_query_task` with "
        f"`wait_seconds={WAIT_SECONDS}` until the task is completed (the bounded wait returns at "
        "each state change). Once every agent has its task and waits, one more agent's "
        "`luma_create_video` is timed (the quick call). The baseline runs the same blocking "
        "tool in the event loop's default executor, as LangChain does for a tool without "
        f"`_arun`; it is stopped after {BASELINE_LIMIT:.0f} s. The 1,000-agent run uses the "
        "simulator at time scale 0.1 with a poll policy scaled to match (a 30 s job in 3 s). "
        "`all created by` is when the last agent got its task id: the agents' process is one "
        "Python interpreter, so creating 1,000 paid tasks (a LangChain tool call and an HTTP "
        "exchange each, about 2-3 ms of one core) takes seconds, and that, not waiting, is what "
        "stretches the largest run. Real-time figures: machine-dependent."
    )
    return section


if __name__ == "__main__":
    _child()
