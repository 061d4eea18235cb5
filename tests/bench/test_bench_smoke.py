"""The benchmarks still run: a reduced pass of the quick ones (the real run: `python -m bench`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.__main__ import BENCHES, main


def test_benchmarks_import_and_the_quick_ones_run(tmp_path: Path) -> None:
    assert set(BENCHES) == {"overhead", "waiting", "download", "many", "agents", "imports"}
    out = tmp_path / "bench.md"
    assert main(["--quick", "--only", "imports,download", "--out", str(out)]) == 0
    text = out.read_text()
    assert "## Summary" in text
    assert "Download (32 MiB)" in text
    assert "heavy modules imported | none" in text


def test_unknown_benchmark_names_are_refused() -> None:
    with pytest.raises(SystemExit):
        main(["--only", "nope"])


def test_the_agents_benchmark_runs_small(tmp_path: Path) -> None:
    from bench import agents

    out = tmp_path / "agents.md"
    assert main(["--quick", "--only", "agents", "--out", str(out)]) == 0
    text = out.read_text()
    assert f"one job = {agents.JOB_SECONDS:.0f} s" in text
    assert "Many agents in one event loop" in text
    assert "default executor (baseline)" in text


def test_the_waiting_benchmark_gives_the_same_numbers_on_every_run() -> None:
    # The virtual clock: no sleeping, no machine noise, a fixed seed.
    from bench import waiting

    lengths = waiting.jobs(50)
    first, second = waiting.virtual_run(lengths), waiting.virtual_run(lengths)
    assert first == second
    assert first["wait, accurate"].gets < first["fixed 5 s (AceDataCloud CLI)"].gets
    assert first["wait, stale"].share < first["`wait` before, stale"].share
