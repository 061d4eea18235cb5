#!/usr/bin/env python3
"""Project tasks that work on a fresh machine with nothing but Python >= 3.11.

    python3 tasks.py demo    # the demo on the embedded simulator: writes luma-demo.mp4
    python3 tasks.py test    # the whole test suite (pass pytest options after it)
    python3 tasks.py test --with-browser   # also install Debian's chromium for the browser tests
    python3 tasks.py lint    # ruff and mypy --strict
    python3 tasks.py docs    # mkdocs build --strict (offline); open site/index.html
    python3 tasks.py docs --serve   # the docs at http://127.0.0.1:8000/docs/, rebuilt on edits
    python3 tasks.py bench   # the benchmarks; writes docs/benchmarks.md

Each task creates `.venv/` on first use and installs the project into it (again only when
pyproject.toml changes), so every command is self-contained. Nothing is installed outside
`.venv/` unless asked: system packages (Debian's chromium, for the browser tests) only with
`--with-browser` or in CI (`CI=true`).
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.parse
import venv
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
CHROMIUM = Path("/usr/bin/chromium")
IN_CI = os.environ.get("CI", "").lower() not in {"", "0", "false", "no"}
#: Seconds between "still installing" lines while a quiet install runs.
HEARTBEAT_SECONDS = 10.0
DOCS_ADDRESS = "127.0.0.1:8000"


def say(message: str) -> None:
    print(f"[tasks] {message}", file=sys.stderr, flush=True)


def run(*command: str | Path, env: dict[str, str] | None = None, cwd: Path = ROOT) -> int:
    return subprocess.call([str(part) for part in command], cwd=cwd, env=env)


def _latest_step(log: Path) -> str:
    """pip's or apt's latest line worth showing ("Collecting jupyterlab...")."""
    lines = log.read_text(encoding="utf-8", errors="replace").splitlines()
    for line in reversed(lines):
        line = line.strip()
        if line and not line.startswith(("WARNING", "━")):
            return line if len(line) <= 90 else line[:87] + "..."
    return "starting"


def run_with_heartbeat(
    command: Sequence[str | Path], what: str, log: Path, env: dict[str, str] | None = None
) -> int:
    """Run a long, quiet install with its output in `log` and a line every few seconds.

    In CI the command's own output streams instead (the log of the job is the log). On failure
    the end of the log is shown.
    """
    argv = [str(part) for part in command]
    if IN_CI:
        return subprocess.call(argv, cwd=ROOT, env=env)
    log.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with log.open("w", encoding="utf-8") as out:
        process = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            while True:
                try:
                    code = int(process.wait(timeout=HEARTBEAT_SECONDS))
                    break
                except subprocess.TimeoutExpired:
                    elapsed = time.monotonic() - started
                    say(f"still {what} ({elapsed:.0f} s): {_latest_step(log)}")
        except KeyboardInterrupt:
            process.terminate()
            process.wait()
            say(f"interrupted while {what}; the next run starts again")
            sys.exit(130)
    if code:
        tail = log.read_text(encoding="utf-8", errors="replace").splitlines()[-25:]
        print("\n".join(tail), file=sys.stderr)
        say(f"{what} failed (exit status {code}); full log: {log}")
    else:
        say(f"done {what} in {time.monotonic() - started:.0f} s")
    return code


def ensure_env(extras: str) -> None:
    """Create .venv and install the project with `extras`, unless already up to date."""
    if not (BIN / "python").exists():
        say(f"creating {VENV.name}/")
        venv.create(VENV, with_pip=True)
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    stamp = VENV / f".installed-{extras}"
    if stamp.exists() and stamp.read_text() == digest:
        return
    log = VENV / "pip-install.log"
    say(
        f"installing luma-tools[{extras}] and its dependencies into {VENV.name}/ "
        f"(on first use and after pyproject.toml changes; a few minutes for [dev]; "
        f"log: {log.relative_to(ROOT)})"
    )
    code = run_with_heartbeat(
        [
            BIN / "python",
            "-m",
            "pip",
            "install",
            "--disable-pip-version-check",
            "--progress-bar",
            "off",
            "-e",
            f".[{extras}]",
        ],
        "installing",
        log,
    )
    if code:
        sys.exit(code)
    stamp.write_text(digest)


def ensure_chromium() -> None:
    """Install Debian's Chromium for the browser tests (asked for, or in CI), or exit."""
    if CHROMIUM.exists():
        return
    as_root = hasattr(os, "geteuid") and os.geteuid() == 0
    sudo = [] if as_root else ["sudo"]
    if not shutil.which("apt-get") or not (as_root or shutil.which("sudo")):
        say(f"cannot install chromium here (needs apt-get and root or sudo); provide {CHROMIUM}")
        sys.exit(1)
    say("installing Debian's chromium for the browser tests (apt-get; about 120 packages)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    log = VENV / "apt-install.log"
    for step in (["update", "-q"], ["install", "-y", "-q", "chromium"]):
        if run_with_heartbeat([*sudo, "apt-get", *step], "installing chromium", log, env=env):
            sys.exit(1)
    if not CHROMIUM.exists():
        say(f"apt-get installed chromium, but {CHROMIUM} is still missing")
        sys.exit(1)


def task_demo(args: list[str]) -> int:
    ensure_env("simulator")
    # In the user's folder: the video lands where they are, and the command the demo prints
    # next is right from there.
    return run(BIN / "luma-tools", "demo", *args, cwd=Path.cwd())


BROWSER_TESTS_SKIPPED = (
    f"browser tests skipped: no {CHROMIUM}; `python3 tasks.py test --with-browser` "
    "installs Debian's chromium and runs them"
)


def without_browser_tests(args: list[str]) -> list[str]:
    """The pytest arguments that leave the browser tests out, or [] to run them.

    They are left out when Chromium is missing outside CI (in CI they must run, and fail without
    it), unless the command line picks tests by marker itself.
    """
    if CHROMIUM.exists() or IN_CI or any(arg.startswith("-m") for arg in args):
        return []
    return ["-m", "not browser"]


def task_test(args: list[str]) -> int:
    with_browser = "--with-browser" in args
    args = [arg for arg in args if arg != "--with-browser"]
    ensure_env("dev")
    if with_browser or IN_CI:
        ensure_chromium()
    deselect = without_browser_tests(args)
    code = run(BIN / "python", "-m", "pytest", *deselect, *args)
    if deselect:
        say(BROWSER_TESTS_SKIPPED)  # last, next to pytest's summary: the one line about them
    return code


def task_lint(args: list[str]) -> int:
    ensure_env("dev")
    return (
        run(BIN / "ruff", "check", ".")
        or run(BIN / "ruff", "format", "--check", ".")
        or run(BIN / "mypy", "--strict", "luma_tools")
    )


def docs_path() -> str:
    """The path the docs are served under: that of `site_url` in mkdocs.yml (`/docs/`)."""
    config = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    found = re.search(r"^site_url:\s*(\S+)", config, flags=re.MULTILINE)
    path = urllib.parse.urlsplit(found.group(1)).path if found else "/"
    return path if path.endswith("/") else path + "/"


def task_docs(args: list[str]) -> int:
    ensure_env("dev")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}  # an end-of-life banner, not a problem
    if "--serve" in args:
        args = [arg for arg in args if arg != "--serve"]
        say(f"serving the docs at http://{DOCS_ADDRESS}{docs_path()} (Ctrl-C to stop)")
        try:
            return run(BIN / "mkdocs", "serve", "--strict", "-a", DOCS_ADDRESS, *args, env=env)
        except KeyboardInterrupt:
            return 0
    code = run(BIN / "mkdocs", "build", "--strict", *args, env=env)
    if code == 0:
        say(f"built the docs: open {ROOT / 'site' / 'index.html'} (works from disk)")
    return code


def task_bench(args: list[str]) -> int:
    ensure_env("dev")
    return run(BIN / "python", "-m", "bench", *args)


TASKS = {
    "demo": task_demo,
    "test": task_test,
    "lint": task_lint,
    "docs": task_docs,
    "bench": task_bench,
}


def main() -> int:
    if len(sys.argv) < 2 or sys.argv[1] not in TASKS:
        print(__doc__, file=sys.stderr)
        return 2
    return TASKS[sys.argv[1]](sys.argv[2:])


if __name__ == "__main__":
    sys.exit(main())
