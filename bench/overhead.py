"""Per-call overhead: `client.get()` and the `luma_query_task` tool against a raw
`requests.Session().get()` of the same simulator endpoint.

The simulator runs in its own process (so serving requests does not compete with the measured
calls for this interpreter's GIL); the three kinds of call are interleaved, in rotating order,
and the medians compared.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import requests

from luma_tools import LumaClient

from ._common import ROOT, Row, Section, median

API_KEY = "sim-bench-overhead"


def _start_simulator() -> tuple[subprocess.Popen[str], str]:
    # A free port: the default one may be taken by a simulator someone is trying out.
    command = ["-m", "luma_tools.simulator", "--api-key", API_KEY, "--port", "0", "--json"]
    process = subprocess.Popen(
        [sys.executable, *command], stdout=subprocess.PIPE, text=True, cwd=ROOT
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line.startswith("{"):
        process.kill()
        raise RuntimeError(f"the simulator did not start: {line!r}")
    base_url = str(json.loads(line)["base_url"])
    return process, base_url


def run(quick: bool = False) -> Section:
    from luma_tools.tools import LumaQueryTask

    calls = 100 if quick else 3000
    process, base_url = _start_simulator()
    try:
        with LumaClient(API_KEY, base_url) as client, requests.Session() as session:
            task_id = client.create("overhead").id
            url = f"{base_url}/luma/generations/{task_id}"
            headers = {"Authorization": f"Bearer {API_KEY}"}
            tool = LumaQueryTask(client=client)
            tool_call: dict[str, Any] = {
                "name": "luma_query_task",
                "args": {"task_id": task_id, "wait_seconds": 0},
                "id": "call_1",
                "type": "tool_call",
            }

            def raw() -> None:
                session.get(url, headers=headers, timeout=10).raise_for_status()

            def get() -> None:
                client.get(task_id)

            def tool_invoke() -> None:
                tool.invoke(tool_call)

            kinds: dict[str, Callable[[], None]] = {
                "raw requests": raw,
                "client.get": get,
                "tool": tool_invoke,
            }
            times: dict[str, list[float]] = {name: [] for name in kinds}
            for name in kinds:  # warm-up: connections, caches, lazy imports
                for _ in range(20):
                    kinds[name]()
            names = list(kinds)
            for i in range(calls):
                for name in names[i % 3 :] + names[: i % 3]:
                    started = time.perf_counter()
                    kinds[name]()
                    times[name].append(time.perf_counter() - started)
    finally:
        process.terminate()
        process.wait(10)
    raw_ms, get_ms, tool_ms = (median(times[n]) * 1000 for n in names)
    section = Section("Per-call overhead")
    section.tables.append(
        (
            ["call", "median", "vs raw"],
            [
                ["raw `requests.Session().get()`", f"{raw_ms:.3f} ms", "1.00x"],
                ["`client.get()`", f"{get_ms:.3f} ms", f"{get_ms / raw_ms:.2f}x"],
                ["`luma_query_task` ToolCall", f"{tool_ms:.3f} ms", f"{tool_ms / raw_ms:.2f}x"],
            ],
        )
    )
    section.rows += [
        Row(
            "`client.get()` vs raw", f"{get_ms / raw_ms:.2f}x", "<= 1.15x", get_ms <= 1.15 * raw_ms
        ),
        Row("tool call vs raw", f"{tool_ms / raw_ms:.2f}x", "<= 2x", tool_ms <= 2 * raw_ms),
    ]
    section.notes.append(
        f"{calls} calls of each kind, interleaved in rotating order after 20 warm-up calls; the "
        "simulator runs in a separate process on the same machine, keep-alive on all three."
    )
    return section
