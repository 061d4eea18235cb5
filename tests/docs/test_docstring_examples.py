"""Every ```python block of the docstrings the API reference renders runs.

The pages under `docs/reference/` render docstrings through `::: path` directives. This module
walks the same objects mkdocstrings does (with griffe, from the same sources and with the
directive's `members` and the site's `filters`): each directive's object, the members it shows
(methods, properties, attributes, nested classes, recursively; `__init__` is merged into its
class), then runs every fenced Python block of their docstrings. A test id names the object as
the page shows it and the block's rank in its docstring, e.g. `luma_tools.LumaClient.wait:1`.

Each block runs against a fresh `LumaSimulator`, in an empty temporary working directory with
`LUMA_API_KEY` and `LUMA_BASE_URL` pointing at the simulator (so `LumaClient()` just works and
polls at the simulator's pace), and may use these names without creating them:

* `client`: a `LumaClient` on the simulator, with a fast `PollPolicy`;
* `sim`: the running `LumaSimulator` (arm `sim.faults`, switch `sim.shapes`);
* `task`: a completed `Task` whose video is ready, and `task_id`, its id;
* `model`: a `luma_tools.testing.ScriptedChatModel` playing `video_agent_script("a red fox in
  snow")`, the stand-in for a chat model in agent examples;
* `toolkit`: a `LumaToolkit(client=client)`, and `tools`, its four tools.

Anything else an example uses, it imports or creates itself, so that it reads on its own.

A block that genuinely cannot run offline starts with a comment line `# not-tested: <reason>`
inside its fence; it is reported as skipped. At most `MAX_NOT_TESTED` blocks may be marked:
prefer rewriting an example so that it runs (call a web handler directly with a fake request
body, say) to marking it.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

import griffe
import pytest
import yaml
from fenced_blocks import Block, extract_blocks

from luma_tools import LumaClient

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT / "docs" / "reference"

#: At most this many docstring blocks may be marked `# not-tested: ...`.
MAX_NOT_TESTED = 6

_DIRECTIVE = re.compile(r"^:::[ \t]+(?P<path>[\w.]+)[ \t]*$")


def _site_options() -> dict[str, Any]:
    """The python handler's global options in `mkdocs.yml`."""
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))
    for plugin in config["plugins"]:
        if isinstance(plugin, dict) and "mkdocstrings" in plugin:
            options: dict[str, Any] = plugin["mkdocstrings"]["handlers"]["python"]["options"]
            return options
    raise AssertionError("mkdocs.yml configures no mkdocstrings python handler")


class Directive(NamedTuple):
    """One `::: path` directive of a reference page, with its local options."""

    page: Path
    path: str
    options: dict[str, Any]


def directives() -> list[Directive]:
    """Every `::: path` directive of the reference pages, in page order."""
    found: list[Directive] = []
    for page in sorted(REFERENCE.glob("*.md")):
        lines = page.read_text(encoding="utf-8").splitlines()
        for i, line in enumerate(lines):
            match = _DIRECTIVE.match(line)
            if match is None:
                continue
            indented = []
            for following in lines[i + 1 :]:
                if following.strip() and not following.startswith((" ", "\t")):
                    break
                indented.append(following)
            local = yaml.safe_load("\n".join(indented)) or {}
            found.append(Directive(page, match["path"], dict(local.get("options") or {})))
    return found


@functools.cache
def _package() -> griffe.Module:
    """`luma_tools` as mkdocstrings sees it: loaded by griffe from the sources."""
    package = griffe.load("luma_tools", search_paths=[str(ROOT)], resolve_aliases=True)
    assert isinstance(package, griffe.Module)
    return package


def _shown(name: str, filters: list[str]) -> bool:
    """Whether mkdocstrings' `filters` let a member named `name` through."""
    for pattern in filters:
        if pattern.startswith("!"):
            if re.search(pattern[1:], name):
                return False
        elif not re.search(pattern, name):
            return False
    return True


def _rendered(
    obj: griffe.Object | griffe.Alias, shown_as: str, options: dict[str, Any], top: bool
) -> Iterator[tuple[str, griffe.Object]]:
    """`(name on the page, object)` for `obj` and every member the page renders with it."""
    target = obj.final_target if isinstance(obj, griffe.Alias) else obj
    yield shown_as, target
    if target.is_class and options.get("merge_init_into_class"):
        init = target.members.get("__init__")
        if init is not None:
            yield f"{shown_as}.__init__", init
    if not (target.is_class or target.is_module):
        return
    members = options.get("members") if top else None
    if members is False:
        return
    if isinstance(members, list):
        chosen = [target.members[name] for name in members]
    else:
        exported = set(target.exports or ()) if target.is_module else set()
        chosen = [
            member
            for name, member in target.members.items()
            if _shown(name, options.get("filters", []))
            and not (member.is_alias and name not in exported)
            and not member.is_module  # show_submodules is off
        ]
    for member in chosen:
        yield from _rendered(member, f"{shown_as}.{member.name}", options, top=False)


def rendered_docstrings(directive: Directive) -> Iterator[tuple[str, str]]:
    """`(name on the page, docstring)` of everything `directive` renders."""
    obj = _package()[directive.path.removeprefix("luma_tools.")]
    options = {**_site_options(), **directive.options}
    for shown_as, target in _rendered(obj, directive.path, options, top=True):
        if target.docstring is not None:
            yield shown_as, target.docstring.value


def collect() -> list[Block]:
    blocks: list[Block] = []
    seen: set[str] = set()
    for directive in directives():
        for shown_as, docstring in rendered_docstrings(directive):
            if shown_as in seen:
                continue
            seen.add(shown_as)
            for rank, block in enumerate(extract_blocks(docstring, shown_as), 1):
                blocks.append(Block(shown_as, rank, block.code, block.not_tested))
    return blocks


BLOCKS = collect()


@pytest.fixture
def doc_namespace(namespace: dict[str, object]) -> dict[str, object]:
    """The `namespace` of the Markdown examples, plus the names the docstrings may assume."""
    from luma_tools.simulator import LumaSimulator
    from luma_tools.testing import ScriptedChatModel, video_agent_script
    from luma_tools.tools import LumaToolkit

    client, sim = namespace["client"], namespace["sim"]
    assert isinstance(client, LumaClient)
    assert isinstance(sim, LumaSimulator)
    task = client.get(sim.add_task(state="completed", prompt="a paper boat on a stream"))
    toolkit = LumaToolkit(client=client)
    namespace.update(
        task=task,
        task_id=task.id,
        model=ScriptedChatModel(script=video_agent_script("a red fox in snow")),
        toolkit=toolkit,
        tools=toolkit.get_tools(),
    )
    return namespace


@pytest.mark.timeout(30)
@pytest.mark.parametrize("block", BLOCKS, ids=[block.id for block in BLOCKS])
def test_docstring_example_runs(block: Block, doc_namespace: dict[str, object]) -> None:
    if block.not_tested is not None:
        pytest.skip(f"marked not-tested: {block.not_tested}")
    exec(compile(block.code, block.id, "exec"), doc_namespace)


def test_docstring_examples_were_found() -> None:
    ids = {block.id for block in BLOCKS}
    # A class, one of its methods, a module (two blocks) and a function, each reached through
    # a different kind of directive: proof that the walk reaches what the pages render.
    assert {
        "luma_tools.LumaClient.wait:1",
        "luma_tools.LumaClient:1",
        "luma_tools.webhooks:1",
        "luma_tools.webhooks:2",
        "luma_tools.webhooks.parse_notify_payload:1",
        "luma_tools.testing:1",
    } <= ids


def test_few_docstring_examples_are_not_tested() -> None:
    marked = [f"{b.id} ({b.not_tested})" for b in BLOCKS if b.not_tested is not None]
    assert len(marked) <= MAX_NOT_TESTED, "too many not-tested blocks:\n" + "\n".join(marked)
    assert all(b.not_tested for b in BLOCKS if b.not_tested is not None), "give a reason"


def test_members_false_renders_only_the_module_docstring() -> None:
    webhooks = _package()["webhooks"]
    assert [name for name, _ in _rendered(webhooks, "m", {"members": False}, top=True)] == ["m"]
    everything = [name for name, _ in _rendered(webhooks, "m", {"filters": ["!^_"]}, top=True)]
    assert "m.NotifyListener.url" in everything
    assert not any(name.split(".")[-1].startswith("_") for name in everything)


@pytest.mark.docs_build
@pytest.mark.timeout(180)
def test_the_walk_finds_every_code_block_the_reference_renders(built_site: Path) -> None:
    """Cross-check against mkdocs: each page shows its own blocks plus its docstrings' blocks."""
    expected: dict[str, int] = {}
    for page in sorted(REFERENCE.glob("*.md")):
        markdown = page.read_text(encoding="utf-8")
        expected[page.stem] = len(extract_blocks(markdown, page.name, any_language=True))
    for directive in directives():
        for shown_as, docstring in rendered_docstrings(directive):
            found = extract_blocks(docstring, shown_as, any_language=True)
            expected[directive.page.stem] += len(found)
    rendered = {
        stem: (built_site / "reference" / f"{stem}.html")
        .read_text(encoding="utf-8")
        .count('<div class="highlight">')
        for stem in expected
    }
    assert rendered == expected


def test_marker_inside_the_fence() -> None:
    docstring = "\n".join(
        [
            "Example:",
            "    ```python",
            "    # not-tested: binds a public interface",
            "    serve()",
            "    ```",
        ]
    )
    (block,) = extract_blocks(docstring, "luma_tools.x")
    assert block.not_tested == "binds a public interface"
