"""Run the benchmarks and write `docs/benchmarks.md`.

    python -m bench                      # everything (about 5 minutes); writes docs/benchmarks.md
    python -m bench --only download      # some of them (names: see --help)
    python -m bench --quick --out -      # reduced sizes, to stdout (a smoke run)

A partial or quick run never overwrites `docs/benchmarks.md` unless `--out` says so.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from . import agents, batch, download, imports, many, overhead, waiting
from ._common import ROOT, Section, machine, table

BENCHES: dict[str, Callable[[bool], Section]] = {
    "overhead": overhead.run,
    "waiting": waiting.run,
    "download": download.run,
    "many": many.run,
    "batch": batch.run,
    "agents": agents.run,
    "imports": imports.run,
}
DEFAULT_OUT = ROOT / "docs" / "benchmarks.md"
MACHINE_DEPENDENT = (
    "every figure measured in real time (per-call overhead, download, many jobs, batch, many "
    "agents, import, and the waiting benchmark's real-time run). The waiting figures on the "
    "virtual clock are the same on every machine and every run."
)


def render(sections: list[Section], *, quick: bool, seconds: float) -> str:
    rows = [[s.title, *r.cells()] for s in sections for r in s.rows if r.goal or r.ok is not None]
    missed = sum(1 for s in sections for r in s.misses)
    lines = [
        "# Benchmarks",
        "",
        "Produced by `python -m bench` from the repository root (`python3 tasks.py bench`); "
        "every table below comes from one run. Re-run it to refresh this page.",
        "",
        f"- **Machine:** {machine()}",
        f"- **Run:** {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {seconds:.0f} s"
        + (" (quick mode: reduced sizes)" if quick else ""),
        f"- **Goals met:** {len(rows) - missed} of {len(rows)}",
        f"- **Machine-dependent:** {MACHINE_DEPENDENT}",
        "",
        "## Summary",
        "",
        *table(["benchmark", "figure", "value", "goal", "met"], rows),
        "",
    ]
    return "\n".join(lines) + "\n" + "\n".join(s.markdown() for s in sections)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--only", default="", help=f"comma-separated subset of: {', '.join(BENCHES)}"
    )
    parser.add_argument("--quick", action="store_true", help="reduced sizes (a smoke run)")
    parser.add_argument("--out", default=None, help="output file, or - for stdout")
    args = parser.parse_args(argv)
    names = [n.strip() for n in args.only.split(",") if n.strip()] or list(BENCHES)
    unknown = [n for n in names if n not in BENCHES]
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(unknown)}")
    partial = args.quick or len(names) < len(BENCHES)
    out = args.out or ("-" if partial else str(DEFAULT_OUT))

    started = time.monotonic()
    sections = []
    for name in names:
        print(f"[bench] {name} ...", file=sys.stderr, flush=True)
        t0 = time.monotonic()
        sections.append(BENCHES[name](args.quick))
        print(f"[bench] {name} done in {time.monotonic() - t0:.0f} s", file=sys.stderr)
    text = render(sections, quick=args.quick, seconds=time.monotonic() - started)
    if out == "-":
        print(text)
    else:
        Path(out).write_text(text, encoding="utf-8")
        print(f"[bench] wrote {out}", file=sys.stderr)
        print(text.split("## Summary", 1)[1].split("\n## ", 1)[0].strip())
    # Missed goals are findings to read in the table, not a failed command.
    return 0


if __name__ == "__main__":
    sys.exit(main())
