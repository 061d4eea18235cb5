#!/usr/bin/env python3
"""Project tasks that work on a fresh machine with nothing but Python >= 3.11.

    python3 tasks.py demo    # the demo on the embedded simulator: writes luma-demo.mp4
    python3 tasks.py test    # the whole test suite (pass pytest options after it)
    python3 tasks.py lint    # ruff and mypy --strict
    python3 tasks.py docs    # mkdocs build --strict (offline)
    python3 tasks.py bench   # the benchmarks; writes docs/benchmarks.md

Each task creates `.venv/` on first use and installs the project into it (again only when
pyproject.toml changes), so every command is self-contained.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
CHROMIUM = Path("/usr/bin/chromium")


def say(message: str) -> None:
    print(f"[tasks] {message}", file=sys.stderr, flush=True)


def run(*command: str | Path, env: dict[str, str] | None = None) -> int:
    return subprocess.call([str(part) for part in command], cwd=ROOT, env=env)


def ensure_env(extras: str) -> None:
    """Create .venv and install the project with `extras`, unless already up to date."""
    if not (BIN / "python").exists():
        say(f"creating {VENV.name}/")
        venv.create(VENV, with_pip=True)
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    stamp = VENV / f".installed-{extras}"
    if stamp.exists() and stamp.read_text() == digest:
        return
    say(f"installing luma-tools[{extras}] into {VENV.name}/ (first run only)")
    quiet = [] if os.environ.get("CI") else ["--quiet"]
    code = run(
        BIN / "python",
        "-m",
        "pip",
        "install",
        *quiet,
        "--disable-pip-version-check",
        "-e",
        f".[{extras}]",
    )
    if code:
        sys.exit(code)
    stamp.write_text(digest)


def ensure_chromium() -> None:
    """The browser tests drive Debian's Chromium; install it when we can (root + apt)."""
    if CHROMIUM.exists():
        return
    if hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("apt-get"):
        say("installing Debian's chromium for the browser tests (apt-get)")
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        if subprocess.call(["apt-get", "update", "-qq"], env=env) == 0:
            subprocess.call(["apt-get", "install", "-y", "-qq", "chromium"], env=env)
    if not CHROMIUM.exists():
        say("no /usr/bin/chromium: the browser tests will be skipped (CI installs it)")


def task_demo(args: list[str]) -> int:
    ensure_env("simulator")
    return run(BIN / "luma-tools", "demo", *args)


def task_test(args: list[str]) -> int:
    ensure_env("dev")
    ensure_chromium()
    return run(BIN / "python", "-m", "pytest", *args)


def task_lint(args: list[str]) -> int:
    ensure_env("dev")
    return (
        run(BIN / "ruff", "check", ".")
        or run(BIN / "ruff", "format", "--check", ".")
        or run(BIN / "mypy", "--strict", "luma_tools")
    )


def task_docs(args: list[str]) -> int:
    ensure_env("dev")
    return run(BIN / "mkdocs", "build", "--strict", *args)


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
