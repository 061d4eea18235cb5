"""The benchmarks still run: a reduced pass of the quick ones (the real run: `python -m bench`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.__main__ import BENCHES, main


def quick_run(tmp_path: Path, names: str) -> str:
    """The page a quick run of the benchmarks `names` (comma-separated) writes."""
    out = tmp_path / "bench.md"
    assert main(["--quick", "--only", names, "--out", str(out)]) == 0
    return out.read_text()


def test_benchmarks_import_and_the_quick_ones_run(tmp_path: Path) -> None:
    assert set(BENCHES) == {
        "overhead",
        "waiting",
        "download",
        "many",
        "batch",
        "agents",
        "imports",
    }
    text = quick_run(tmp_path, "imports,download")
    assert "## Summary" in text
    assert "Download (32 MiB)" in text
    assert "heavy modules imported | none" in text


def test_unknown_benchmark_names_are_refused() -> None:
    with pytest.raises(SystemExit):
        main(["--only", "nope"])


def test_the_agents_benchmark_runs_small(tmp_path: Path) -> None:
    from bench import agents

    text = quick_run(tmp_path, "agents")
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


def test_the_batch_benchmark_runs_small(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from bench import batch

    # Smaller and faster than even --quick: this checks the plumbing, not the figures.
    monkeypatch.setattr(batch, "QUICK", (12, 4))
    monkeypatch.setattr(batch, "TIME_SCALE", 0.002)
    text = quick_run(tmp_path, "batch")
    assert "Batch (12 prompts, luma-tools batch --concurrency 4)" in text
    assert "| creates sent | 12 | exactly 12 | ✅ |" in text
    assert "| videos saved | 12 | 12 | ✅ |" in text
    assert "0 creates" in text.split("the same command again (resume) |", 1)[1].split("|")[0]
