"""The host set-ups of docs/mcp.md: valid JSON, and a `luma-tools mcp` command line that the
CLI accepts, for every host (what a user pastes must start the server)."""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "docs"))
from fenced_blocks import extract_blocks

from luma_tools.cli import build_parser

PAGE = Path(__file__).resolve().parents[2] / "docs" / "mcp.md"


def blocks(language: str) -> list[str]:
    found = extract_blocks(PAGE.read_text(encoding="utf-8"), "mcp.md", any_language=True)
    text = PAGE.read_text(encoding="utf-8").splitlines()
    return [b.code for b in found if text[b.line - 1].strip() == f"```{language}"]


def test_every_json_set_up_starts_the_server_with_accepted_options() -> None:
    configs = [json.loads(code) for code in blocks("json")]
    assert len(configs) == 3  # Claude Desktop, VS Code, Cursor
    for config in configs:
        (server,) = (config.get("mcpServers") or config["servers"]).values()
        assert server["command"] == "luma-tools"
        args = build_parser().parse_args(server["args"])
        assert args.command == "mcp"
        assert args.output_dir is not None  # hosts start servers in a folder of their own
        assert set(server["env"]) == {"LUMA_API_KEY", "LUMA_BASE_URL"}


def test_every_claude_mcp_add_line_runs_an_accepted_command() -> None:
    lines = [
        " ".join(part.rstrip("\\").strip() for part in code.splitlines())
        for code in blocks("bash")
        if "claude mcp add" in code
    ]
    commands = [line for line in lines if " -- luma-tools" in line]
    assert commands, "no stdio set-up for Claude Code"
    for line in commands:
        words = shlex.split(line.split(" -- ", 1)[1])
        assert words[0] == "luma-tools"
        assert build_parser().parse_args(words[1:]).command == "mcp"
