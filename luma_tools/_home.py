"""Where luma-tools keeps its own files (the job journal, download locks)."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

__all__ = ["HOME_ENV", "home_dir"]

#: Set this to keep luma-tools' files in a folder of your choice.
HOME_ENV = "LUMA_TOOLS_HOME"


def home_dir() -> Path:
    """`$LUMA_TOOLS_HOME` when set, else the platform's user data folder for luma-tools."""
    chosen = os.environ.get(HOME_ENV, "").strip()
    if chosen:
        return Path(chosen).expanduser()
    return Path(platformdirs.user_data_dir("luma-tools", appauthor=False))
