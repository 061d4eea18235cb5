"""The package surface: exports, version, typing marker, and optional extras kept optional."""

from __future__ import annotations

import importlib.metadata
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
    result = run_python(
        "import sys, luma_tools\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in "
        "{'langchain', 'langchain_core', 'langgraph', 'ipywidgets', 'IPython', 'werkzeug'})\n"
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


@pytest.mark.parametrize(
    ("blocked", "module", "extra"),
    [
        ("langchain_core", "luma_tools.tools", "langchain"),
        ("werkzeug", "luma_tools.simulator", "simulator"),
    ],
)
def test_missing_extra_names_the_install_command(blocked: str, module: str, extra: str) -> None:
    result = run_python(
        f"import sys; sys.modules[{blocked!r}] = None\n"
        f"try:\n    import {module}\n"
        "except ImportError as exc:\n    print(exc)\n"
    )
    assert f"pip install 'luma-tools[{extra}]'" in result.stdout, result.stderr
