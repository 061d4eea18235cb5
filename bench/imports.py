"""Import cost: what `import luma_tools` adds beyond requests and pydantic.

`python -X importtime` is run with requests and the pydantic names the package uses imported
first, so the cumulative time of the `luma_tools` line is the package's own cost: its modules,
its model classes and anything (stdlib or not) only it pulls in.
"""

from __future__ import annotations

import json
import subprocess
import sys

from ._common import ROOT, Row, Section, median

_BASELINE = (
    "import requests; "
    "from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, "
    "field_validator"
)
_HEAVY = ("langchain", "langchain_core", "ipywidgets", "werkzeug", "IPython")


def _cumulative_us(stderr: str, module: str) -> int:
    for line in stderr.splitlines():
        parts = [p.strip() for p in line.removeprefix("import time:").split("|")]
        if len(parts) == 3 and parts[2] == module:
            return int(parts[1])
    raise RuntimeError(f"{module} not found in -X importtime output")


def _run(code: str, *flags: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *flags, "-c", code],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
    )


def run(quick: bool = False) -> Section:
    runs = 3 if quick else 9
    own = [
        _cumulative_us(
            _run(f"{_BASELINE}; import luma_tools", "-X", "importtime").stderr, "luma_tools"
        )
        for _ in range(runs)
    ]
    total = [
        _cumulative_us(_run("import luma_tools", "-X", "importtime").stderr, "luma_tools")
        for _ in range(runs)
    ]
    loaded = json.loads(
        _run(
            "import sys, json, luma_tools; "
            f"print(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}} & {set(_HEAVY)!r})))"
        ).stdout
    )
    own_ms, total_ms = median(own) / 1000, median(total) / 1000
    section = Section("Import")
    section.rows += [
        Row(
            "`import luma_tools`, own cost beyond requests + pydantic",
            f"{own_ms:.0f} ms",
            "<= 100 ms",
            own_ms <= 100,
        ),
        Row("`import luma_tools`, everything (cold interpreter)", f"{total_ms:.0f} ms", "", None),
        Row(
            "heavy modules imported",
            ", ".join(loaded) or "none",
            "no langchain, no ipywidgets",
            not loaded,
        ),
    ]
    section.notes.append(
        f"Median of {runs} runs of `python -X importtime`; the own cost is the cumulative time "
        f"of the `luma_tools` line after `{_BASELINE}`."
    )
    return section
