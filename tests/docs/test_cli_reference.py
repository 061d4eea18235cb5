"""The CLI reference documents every command and every flag the parser knows."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from luma_tools.cli import EXIT_CODES, build_parser

CLI_PAGE = Path(__file__).resolve().parents[2] / "docs" / "cli.md"


def _commands() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    raise AssertionError("no subcommands")


@pytest.fixture(scope="module")
def page() -> str:
    return CLI_PAGE.read_text(encoding="utf-8")


@pytest.mark.parametrize("command", sorted(_commands()))
def test_every_command_and_flag_is_documented(command: str, page: str) -> None:
    assert f"\n## {command}\n" in page, f"no section for `luma-tools {command}`"
    for action in _commands()[command]._actions:
        for flag in action.option_strings:
            assert f"`{flag}" in page or f" {flag}" in page, f"{command}: {flag} is undocumented"


def test_every_exit_code_is_documented(page: str) -> None:
    table = page.split("## Exit codes", 1)[1].split("\n## ", 1)[0]
    for code in EXIT_CODES.values():
        assert f"\n| {code} |" in table, f"exit code {code} is undocumented"
