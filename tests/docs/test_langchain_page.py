"""The LangChain page lists every argument the tools accept."""

from __future__ import annotations

from pathlib import Path

import pytest

tools = pytest.importorskip("luma_tools.tools")

PAGE = Path(__file__).resolve().parents[2] / "docs" / "langchain.md"


@pytest.mark.parametrize(
    "schema",
    [
        tools.LumaCreateVideoInput,
        tools.LumaExtendVideoInput,
        tools.LumaQueryTaskInput,
        tools.LumaDownloadVideoInput,
    ],
    ids=lambda schema: schema.__name__,
)
def test_every_tool_argument_is_documented(schema: type) -> None:
    table = PAGE.read_text(encoding="utf-8").split("### Arguments", 1)[1].split("\n## ", 1)[0]
    missing = [name for name in schema.model_fields if f"`{name}`" not in table]
    assert not missing, f"{schema.__name__}: undocumented arguments {missing}"
