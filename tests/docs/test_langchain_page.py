"""The LangChain page documents exactly the arguments each tool accepts."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

tools = pytest.importorskip("luma_tools.tools")

PAGE = Path(__file__).resolve().parents[2] / "docs" / "langchain.md"
SCHEMAS = {
    "luma_create_video": tools.LumaCreateVideoInput,
    "luma_extend_video": tools.LumaExtendVideoInput,
    "luma_query_task": tools.LumaQueryTaskInput,
    "luma_download_video": tools.LumaDownloadVideoInput,
}


def documented_arguments() -> dict[str, set[str]]:
    """{tool name: argument names} from the page's "Arguments" table."""
    table = PAGE.read_text(encoding="utf-8").split("### Arguments", 1)[1].split("\n## ", 1)[0]
    found: dict[str, set[str]] = {}
    tool = ""
    for line in table.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) < 3 or cells[0].startswith("-") or cells[0] == "tool":
            continue
        tool = cells[0].strip("`") or tool
        found.setdefault(tool, set()).update(re.findall(r"`([a-z_]+)`", cells[1]))
    return found


@pytest.mark.parametrize("tool", sorted(SCHEMAS))
def test_the_arguments_table_matches_the_schema(tool: str) -> None:
    assert documented_arguments().get(tool) == set(SCHEMAS[tool].model_fields)
