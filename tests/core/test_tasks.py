"""`tasks.py`: long installs show they are alive; browser tests skip in one line, or fail in CI."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def tasks(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    spec = importlib.util.spec_from_file_location("project_tasks", ROOT / "tasks.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setattr(module, "IN_CI", False)
    monkeypatch.setattr(module, "HEARTBEAT_SECONDS", 0.1)
    return module


def slow_install(seconds: float, exit_code: int = 0) -> list[str]:
    """A stand-in for pip: prints a step, takes a while, exits."""
    code = (
        "import sys, time\n"
        "print('Collecting jupyterlab>=4.4', flush=True)\n"
        f"time.sleep({seconds})\n"
        "print('ERROR: No matching distribution found for jupyterlab' if "
        f"{exit_code} else 'Successfully installed jupyterlab', flush=True)\n"
        f"sys.exit({exit_code})\n"
    )
    return [sys.executable, "-c", code]


def test_a_quiet_install_prints_still_installing_lines(
    tasks: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = tmp_path / "pip-install.log"
    assert tasks.run_with_heartbeat(slow_install(0.8), "installing", log) == 0
    err = capsys.readouterr().err
    alive = [line for line in err.splitlines() if line.startswith("[tasks] still installing (")]
    assert len(alive) >= 3, err
    assert alive[0].endswith("s): Collecting jupyterlab>=4.4")  # what pip is doing
    assert err.splitlines()[-1].startswith("[tasks] done installing in ")
    assert "Successfully installed jupyterlab" in log.read_text()


def test_a_failed_install_shows_the_end_of_its_log(
    tasks: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = tmp_path / "pip-install.log"
    assert tasks.run_with_heartbeat(slow_install(0, exit_code=3), "installing", log) == 3
    err = capsys.readouterr().err
    assert "ERROR: No matching distribution found for jupyterlab" in err
    assert f"[tasks] installing failed (exit status 3); full log: {log}" in err


def test_in_ci_the_installer_output_streams_as_is(
    tasks: ModuleType, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    tasks.IN_CI = True
    log = tmp_path / "pip-install.log"
    assert tasks.run_with_heartbeat(slow_install(0), "installing", log) == 0
    assert "Collecting jupyterlab>=4.4" in capfd.readouterr().out
    assert not log.exists()


BROWSER_TEST = """
    def test_needs_a_browser(browser):
        pass


    def test_needs_one_too(browser):
        pass
"""


def run_browser_tests_without_chromium(tmp_path: Path, ci: str | None) -> tuple[int, str]:
    """The real `browser` fixture of tests/browser/conftest.py, with Chromium made missing."""
    (tmp_path / "conftest.py").write_text(
        textwrap.dedent(f"""
            import importlib.util
            from pathlib import Path

            spec = importlib.util.spec_from_file_location(
                "browser_conftest", {str(ROOT / "tests" / "browser" / "conftest.py")!r}
            )
            browser_conftest = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(browser_conftest)
            browser_conftest.CHROMIUM = Path({str(tmp_path / "no-chromium")!r})
            browser = browser_conftest.browser
        """)
    )
    (tmp_path / "test_browser.py").write_text(textwrap.dedent(BROWSER_TEST))
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    if ci is not None:
        env["CI"] = ci
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-ra", "-p", "no:cacheprovider", "-q", str(tmp_path)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return result.returncode, result.stdout


def test_without_chromium_tasks_leaves_browser_tests_out_with_one_line(
    tasks: ModuleType, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(tasks, "CHROMIUM", tmp_path / "no-chromium")
    assert tasks.without_browser_tests([]) == ["-m", "not browser"]
    assert tasks.without_browser_tests(["tests/core", "-x"]) == ["-m", "not browser"]
    assert tasks.without_browser_tests(["-m", "browser"]) == []  # the user chose
    assert "--with-browser" in tasks.BROWSER_TESTS_SKIPPED
    monkeypatch.setattr(tasks, "IN_CI", True)
    assert tasks.without_browser_tests([]) == []  # CI runs them, and they fail without it
    monkeypatch.setattr(tasks, "IN_CI", False)
    monkeypatch.setattr(tasks, "CHROMIUM", Path(sys.executable))  # present
    assert tasks.without_browser_tests([]) == []


def test_run_directly_without_chromium_browser_tests_skip_saying_how_to_enable(
    tmp_path: Path,
) -> None:
    code, out = run_browser_tests_without_chromium(tmp_path, ci=None)
    assert code == 0, out
    skipped = [line for line in out.splitlines() if line.startswith("SKIPPED")]
    assert len(skipped) == 2, out
    assert all("`python3 tasks.py test --with-browser` installs" in line for line in skipped)


@pytest.mark.parametrize("ci", ["true", "1"])
def test_in_ci_without_chromium_browser_tests_fail(tmp_path: Path, ci: str) -> None:
    code, out = run_browser_tests_without_chromium(tmp_path, ci=ci)
    assert code == 1, out
    assert "2 errors" in out, out
    assert "CI installs Debian's chromium" in out


def test_ci_runs_the_readme_test_command() -> None:
    ci_script = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    quickstart = readme.split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    test_line = next(line for line in quickstart.splitlines() if "tasks.py test" in line)
    command = test_line.split("#", 1)[0].strip()
    assert command == "python3 tasks.py test"
    assert any(line.split("#", 1)[0].strip() == command for line in ci_script.splitlines())
    assert "apt-get install -y -qq chromium" in ci_script
