"""Shared pieces of the benchmarks: result rows, statistics, machine facts, child processes."""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Row:
    """One figure: what was measured, its value, the goal and whether it was met."""

    metric: str
    value: str
    goal: str = ""
    ok: bool | None = None

    def cells(self) -> list[str]:
        verdict = {True: "✅", False: "❌", None: ""}[self.ok]
        return [self.metric, self.value, self.goal, verdict]


@dataclass
class Section:
    """The output of one benchmark: a heading, a table of rows and free-form notes."""

    title: str
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    tables: list[tuple[list[str], list[list[str]]]] = field(default_factory=list)

    def markdown(self) -> str:
        lines = [f"## {self.title}", ""]
        for header, body in self.tables:
            lines += [*table(header, body), ""]
        if self.rows:
            lines += table(["figure", "value", "goal", "met"], [r.cells() for r in self.rows])
            lines.append("")
        lines += [f"{note}\n" for note in self.notes]
        return "\n".join(lines).rstrip() + "\n"

    @property
    def misses(self) -> list[Row]:
        return [r for r in self.rows if r.ok is False]


def table(header: Sequence[str], body: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cells) + " |" for cells in body]
    return lines


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def mean(values: Sequence[float]) -> float:
    return statistics.fmean(values) if values else float("nan")


def mib(n: float) -> str:
    return f"{n / (1 << 20):.1f} MiB"


def machine() -> str:
    """One line on the machine the numbers come from."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                memory = f", {int(line.split()[1]) / (1 << 20):.0f} GiB RAM"
    except OSError:
        pass
    import pydantic
    import requests

    return (
        f"{cpu}, {os.cpu_count()} CPUs{memory}; {platform.system()} {platform.release()}; "
        f"Python {platform.python_version()}, requests {requests.__version__}, "
        f"pydantic {pydantic.VERSION}"
    )


def rss_status() -> dict[str, int]:
    """VmRSS and VmHWM (peak) of this process, in bytes (Linux)."""
    found: dict[str, int] = {}
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                found[key] = int(rest.split()[0]) * 1024
    except OSError:
        pass
    return found


def reset_peak_rss() -> bool:
    """Reset VmHWM to the current RSS (Linux >= 4.0); False where unsupported."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def run_child(module: str, args: dict[str, Any], timeout: float = 600) -> dict[str, Any]:
    """Run `python -m <module>` with JSON `args` on stdin; return the JSON it prints last.

    Measurements of memory and threads run in a child, so that the simulator serving them (in
    this process) does not count.
    """
    done = subprocess.run(
        [sys.executable, "-m", module],
        input=json.dumps(args),
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{module} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def fmt_ratio(x: float) -> str:
    return f"{x:.2f}x"
