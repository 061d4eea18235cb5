"""The package surface: exports, version, typing marker, and optional extras kept optional."""

from __future__ import annotations

import importlib.metadata
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

import luma_tools


def run_python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )


def test_import_stays_free_of_langchain_and_ipywidgets() -> None:
    # asyncio too (about 50 ms): `AsyncLumaClient` loads it on first use.
    result = run_python(
        "import sys, luma_tools\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in "
        "{'langchain', 'langchain_core', 'langgraph', 'ipywidgets', 'IPython', 'werkzeug', "
        "'mcp', 'asyncio'})\n"
        "print(heavy)"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_exports_resolve() -> None:
    for name in luma_tools.__all__:
        assert getattr(luma_tools, name) is not None, name
    assert "LumaToolkit" in dir(luma_tools)
    from luma_tools.tools import LumaToolkit

    assert luma_tools.LumaToolkit is LumaToolkit
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        luma_tools.Nope  # noqa: B018


def test_version_and_typing_marker() -> None:
    assert luma_tools.__version__ == importlib.metadata.version("luma-tools")
    assert (Path(luma_tools.__file__).parent / "py.typed").exists()


#: (the dependency made unimportable, the code that needs it, the extra that provides it)
MISSING_EXTRAS = [
    ("langchain_core", "import luma_tools.chains", "luma_tools.chains", "langchain"),
    ("langchain_core", "import luma_tools.tools", "luma_tools.tools", "langchain"),
    ("langchain_core", "luma_tools.LumaToolkit", "luma_tools.tools", "langchain"),
    ("ipywidgets", "import luma_tools.widgets", "luma_tools.widgets", "notebook"),
    ("werkzeug", "import luma_tools.simulator", "luma_tools.simulator", "simulator"),
    ("werkzeug", "from luma_tools.simulator import LumaSimulator", "luma_tools.simulator",
     "simulator"),
]  # fmt: skip


def run_without(blocked: str, code: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """Run `code` in a fresh interpreter where `blocked` cannot be imported (and no python on
    PATH, so the install line must name this interpreter)."""
    script = f"import sys; sys.modules[{blocked!r}] = None\nimport luma_tools\n{code}"
    return subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "PATH": str(tmp_path)},
    )


@pytest.mark.parametrize(
    ("blocked", "code", "module", "extra"), MISSING_EXTRAS, ids=[c[1] for c in MISSING_EXTRAS]
)
def test_missing_extra_names_the_install_command(
    blocked: str, code: str, module: str, extra: str, tmp_path: Path
) -> None:
    result = run_without(blocked, code, tmp_path)
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    install = f"{shlex.quote(sys.executable)} -m pip install 'luma-tools[{extra}]'"
    assert last == (
        f"ModuleNotFoundError: {module} needs {blocked}, from the [{extra}] extra. "
        f"Install it with: {install}"
    ), result.stderr


@pytest.mark.parametrize("argv", [["demo"], ["simulator", "--port", "0"]], ids=["demo", "sim"])
def test_cli_without_the_simulator_extra_says_what_to_install(
    argv: list[str], tmp_path: Path
) -> None:
    code = f"from luma_tools.cli import main\nsys.exit(main({argv!r}))"
    result = run_without("werkzeug", code, tmp_path)
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("\n") == 1, result.stderr  # one line, no traceback
    assert result.stderr.startswith("luma-tools: error: luma_tools.simulator needs werkzeug")
    assert "-m pip install 'luma-tools[simulator]'" in result.stderr
