"""Markers for the documentation tests."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "docs_build: runs `mkdocs build --strict` in a subprocess (a few seconds; "
        'deselect with -m "not docs_build")',
    )
