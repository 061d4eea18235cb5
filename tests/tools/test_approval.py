"""Paid tools an agent cannot overspend: human approval (HumanInTheLoopMiddleware) and the
toolkit's `max_creates`, in a real `create_agent` loop with a checkpointer and a scripted model."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from langchain.agents import create_agent
from langchain.agents.middleware import HumanInTheLoopMiddleware
from langchain_core.messages import AIMessage, BaseMessage, ToolMessage
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command

from luma_tools import LumaClient, LumaToolkit
from luma_tools.simulator import LumaSimulator
from luma_tools.testing import ScriptedChatModel, last_tool_message, tool_call, tool_calls

Script = Callable[[list[BaseMessage]], AIMessage]


def once_then_report(first: AIMessage) -> Script:
    """Send `first`, then report the last tool result and stop."""

    def script(messages: list[BaseMessage]) -> AIMessage:
        last = last_tool_message(messages)
        return first if last is None else AIMessage(content=f"Result: {last.text}")

    return script


class ApprovalRun:
    """An agent whose paid tools wait for a decision, on one checkpointed thread."""

    def __init__(self, toolkit: LumaToolkit, script: Script) -> None:
        self.agent = create_agent(
            ScriptedChatModel(script=script),
            tools=toolkit.get_tools(),
            middleware=[HumanInTheLoopMiddleware(interrupt_on=toolkit.interrupt_on())],
            checkpointer=InMemorySaver(),
        )
        self.config: Any = {"configurable": {"thread_id": "approval-test"}}

    def start(self, request: str = "Make me a video") -> list[dict[str, Any]]:
        """Run until the approval request; its action requests."""
        state = self.agent.invoke({"messages": [("user", request)]}, self.config)
        (interrupt,) = state["__interrupt__"]
        return list(interrupt.value["action_requests"])

    def decide(self, *decisions: dict[str, Any]) -> list[BaseMessage]:
        state = self.agent.invoke(Command(resume={"decisions": list(decisions)}), self.config)
        assert "__interrupt__" not in state
        return list(state["messages"])


def tool_results(messages: list[BaseMessage]) -> list[ToolMessage]:
    return [m for m in messages if isinstance(m, ToolMessage)]


def test_approval_request_shows_prompt_options_and_cost(
    client: LumaClient, sim: LumaSimulator
) -> None:
    toolkit = LumaToolkit(client=client, price_per_video=0.45, currency="EUR", max_creates=5)
    call = tool_call("luma_create_video", prompt="a red fox in snow", aspect_ratio="9:16")
    run = ApprovalRun(toolkit, once_then_report(call))
    (request,) = run.start()
    assert request["name"] == "luma_create_video"
    assert request["args"] == {"prompt": "a red fox in snow", "aspect_ratio": "9:16"}
    description = request["description"]
    assert "Prompt: a red fox in snow" in description
    assert "Options: aspect_ratio=9:16" in description
    assert "Estimated cost: 0.45 EUR" in description
    assert "0 paid calls so far, limit 5" in description
    assert sim.count("create") == 0  # nothing is sent before the decision


def test_approve_makes_exactly_one_create(client: LumaClient, sim: LumaSimulator) -> None:
    toolkit = LumaToolkit(client=client)
    run = ApprovalRun(toolkit, once_then_report(tool_call("luma_create_video", prompt="a kite")))
    run.start()
    messages = run.decide({"type": "approve"})
    (result,) = tool_results(messages)
    assert result.status == "success"
    assert result.text.startswith("Created.")
    assert sim.count("create") == 1
    assert toolkit.spend_guard.used == 1
    assert messages[-1].text.startswith("Result: Created.")


def test_edit_sends_the_reviewed_arguments(client: LumaClient, sim: LumaSimulator) -> None:
    run = ApprovalRun(
        LumaToolkit(client=client),
        once_then_report(tool_call("luma_create_video", prompt="a shark attack, gore")),
    )
    run.start()
    edited = {"name": "luma_create_video", "args": {"prompt": "a shark swimming calmly"}}
    messages = run.decide({"type": "edit", "edited_action": edited})
    (result,) = tool_results(messages)
    assert result.status == "success"
    (sent,) = [r.json for r in sim.requests if r.route == "create"]
    assert sent["user_prompt"] == "a shark swimming calmly"


def test_reject_gives_a_clean_message_and_creates_nothing(
    client: LumaClient, sim: LumaSimulator
) -> None:
    run = ApprovalRun(
        LumaToolkit(client=client), once_then_report(tool_call("luma_create_video", prompt="x"))
    )
    run.start()
    messages = run.decide({"type": "reject", "message": "Too expensive today."})
    (result,) = tool_results(messages)
    assert result.status == "error"
    assert "rejected" in result.text
    assert "Too expensive today." in result.text
    assert "Traceback" not in result.text
    assert sim.count("create") == 0
    final = messages[-1]
    assert isinstance(final, AIMessage)
    assert not final.tool_calls  # the run ended cleanly


def test_parallel_calls_with_one_rejected_keep_every_tool_message(
    client: LumaClient, sim: LumaSimulator
) -> None:
    calls = tool_calls(
        ("luma_create_video", {"prompt": "a fox"}),
        ("luma_create_video", {"prompt": "a wolf"}),
        ("luma_create_video", {"prompt": "a bear"}),
    )
    run = ApprovalRun(LumaToolkit(client=client), once_then_report(calls))
    assert [r["args"]["prompt"] for r in run.start()] == ["a fox", "a wolf", "a bear"]
    messages = run.decide({"type": "approve"}, {"type": "reject"}, {"type": "approve"})
    results = {m.tool_call_id: m for m in tool_results(messages)}
    assert set(results) == {call["id"] for call in calls.tool_calls}  # none missing
    statuses = [results[call["id"]].status for call in calls.tool_calls]
    assert statuses == ["success", "error", "success"]
    assert sim.count("create") == 2
    sent = sorted(r.json["user_prompt"] for r in sim.requests if r.route == "create")
    assert sent == ["a bear", "a fox"]


def test_extend_waits_for_approval_but_query_does_not(
    client: LumaClient, sim: LumaSimulator
) -> None:
    source = sim.add_task(state="completed")
    calls = tool_calls(
        ("luma_query_task", {"task_id": source, "wait_seconds": 0}),
        ("luma_extend_video", {"task_id": source, "prompt": "then it rains"}),
    )
    run = ApprovalRun(LumaToolkit(client=client), once_then_report(calls))
    (request,) = run.start()
    assert request["name"] == "luma_extend_video"
    assert f"Continues task: {source}" in request["description"]
    messages = run.decide({"type": "approve"})
    assert [m.status for m in tool_results(messages)] == ["success", "success"]
    assert sim.count("extend") == 1


def test_toolkit_max_creates_stops_an_agent_that_keeps_creating(
    client: LumaClient, sim: LumaSimulator
) -> None:
    toolkit = LumaToolkit(client=client, max_creates=2)

    def greedy(messages: list[BaseMessage]) -> AIMessage:
        last = last_tool_message(messages)
        if last is not None and last.status == "error":
            return AIMessage(content=f"Stopped: {last.text}")
        return tool_call("luma_create_video", prompt="yet another video")

    agent = create_agent(ScriptedChatModel(script=greedy), tools=toolkit.get_tools())
    state = agent.invoke({"messages": [("user", "Make videos")]}, {"recursion_limit": 20})
    results = tool_results(list(state["messages"]))
    assert [m.status for m in results] == ["success", "success", "error"]
    assert "Spend limit reached" in results[-1].text
    assert "ask the user" in results[-1].text
    assert sim.count("create") == 2


def test_extend_and_create_share_one_guard(client: LumaClient, sim: LumaSimulator) -> None:
    tools = {t.name: t for t in LumaToolkit(client=client, max_creates=1).get_tools()}
    source = sim.add_task(state="completed")
    assert "Extension" in tools["luma_extend_video"].invoke({"task_id": source, "prompt": "more"})
    refused = tools["luma_create_video"].invoke({"prompt": "one more"})
    assert "Spend limit reached" in refused
    assert sim.count("create") == 0
