"""Command lines that run as printed, from where the user is.

A hint such as "run `luma-tools generate ...`" is only useful if `luma-tools` is on the user's
PATH. Often it is not: the script sits in a virtual environment's `bin/` (`Scripts\\` on
Windows) that was never activated. These helpers spell a command the way it will actually run:
the bare name when PATH finds this very program, else its path, else this interpreter with `-m`.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

__all__ = ["cli_command", "pip_install_command", "python_command"]

_SCRIPT_NAMES = {"luma-tools", "luma-tools.exe", "luma-tools-script.py"}


def _quote(part: str) -> str:
    return subprocess.list2cmdline([part]) if os.name == "nt" else shlex.quote(part)


def _found_on_path(name: str, program: Path) -> bool:
    """Whether PATH resolves `name` to `program` itself (not to another copy elsewhere)."""
    found = shutil.which(name)
    if found is None:
        return False
    found_path = Path(found).absolute()
    # Compare the folders before the files: a virtual environment's python is a symlink to the
    # system one, yet only the venv's copy sees the venv's packages.
    return found_path.parent == program.absolute().parent and found_path.samefile(program)


def _shown_path(program: Path) -> str:
    absolute = program.absolute()
    try:
        relative = absolute.relative_to(Path.cwd())
    except ValueError:
        return str(absolute)
    # A bare name would be looked up on PATH; keep a separator so the shell runs this file.
    return str(relative) if relative.parent != Path() else f"{os.curdir}{os.sep}{relative}"


def python_command() -> str:
    """This interpreter, as a user would type it (`python3` when PATH finds this very one).

    Returns:
        A shell-quoted command, e.g. `python3` or `/home/me/project/.venv/bin/python`.

    Example:
        ```python
        from luma_tools._invocation import python_command

        print(f"{python_command()} -m luma_tools --help")
        ```
    """
    executable = Path(sys.executable)
    for name in ("python3", "python"):
        if _found_on_path(name, executable):
            return name
    return _quote(str(executable))


def cli_command() -> str:
    """How to run `luma-tools` again from the current directory, exactly as it ran now.

    `luma-tools` when PATH finds the running script; its path when it ran from an environment
    that is not on PATH (e.g. `.venv/bin/luma-tools`); `<python> -m luma_tools` otherwise.

    Returns:
        A shell-quoted command prefix: append a subcommand and its arguments.

    Example:
        ```python
        from luma_tools._invocation import cli_command

        print(f'{cli_command()} generate "your prompt" -o video.mp4')
        ```
    """
    script = Path(sys.argv[0]) if sys.argv and sys.argv[0] else None
    if script is not None and script.name.lower() in _SCRIPT_NAMES and script.exists():
        if _found_on_path("luma-tools", script):
            return "luma-tools"
        return _quote(_shown_path(script))
    return f"{python_command()} -m luma_tools"


def pip_install_command(requirement: str) -> str:
    """The pip command that installs `requirement` into this interpreter's environment.

    Args:
        requirement: A requirement, e.g. `luma-tools[langchain]`.

    Returns:
        A command line, e.g. `python3 -m pip install 'luma-tools[langchain]'`.

    Example:
        ```python
        from luma_tools._invocation import pip_install_command

        print(pip_install_command("luma-tools[simulator]"))
        ```
    """
    quoted = f'"{requirement}"' if os.name == "nt" else f"'{requirement}'"
    return f"{python_command()} -m pip install {quoted}"
