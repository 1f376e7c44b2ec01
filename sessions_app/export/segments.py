"""A message's stored content split into text, thinking and tool-call segments.

The parsers flatten each message into one string: prose, `[Thinking]` ... `[/Thinking]`
blocks and tool label lines such as `[Bash: Run tests]`. Everything that shows a message
(the Markdown and HTML exports, the dashboard) reads that string back through this one
module, so they all agree on where a block starts and ends, and none of them interprets
markers inside a fenced code block.
"""

from __future__ import annotations

import re
from collections.abc import Set
from dataclasses import dataclass
from typing import Literal

from sessions_app.export.text import clean
from sessions_app.parsers.registry import tool_label_heads

SegmentKind = Literal["text", "thinking", "tool"]

_FENCE_RE = re.compile(r"^\s*```")


@dataclass
class Segment:
    """One piece of a message's content, with the lines it came from."""

    kind: SegmentKind
    text: str = ""  # text or thinking body; for tools, the body after the label line
    label: str = ""  # tools: the whole label line, e.g. "[Bash: Run tests]"
    head: str = ""  # tools: the label's tool name, e.g. "Bash"
    start: int = 0  # first line of the content this segment covers (markers included)
    end: int = 0  # one past its last line


def is_fence(line: str) -> bool:
    """Whether the line opens or closes a fenced code block (the exports render those)."""
    return _FENCE_RE.match(line) is not None


def label_head(line: str, heads: Set[str]) -> str | None:
    """The tool name when the line is a tool label such as `[Read: x]` or `[Bash]`.

    The longest matching head wins, so `[Todo List]` is not read as a `Todo` call.
    """
    stripped = line.rstrip()
    if not (stripped.startswith("[") and stripped.endswith("]")) or len(stripped) < 3:
        return None
    inner = stripped[1:-1]
    matches = [
        head
        for head in heads
        if inner == head
        or (len(inner) > len(head) and inner.startswith(head) and inner[len(head)] in ": ")
    ]
    return max(matches, key=len) if matches else None


def _is_thinking_open(line: str) -> bool:
    return line.strip() == "[Thinking]"


def _is_thinking_close(line: str) -> bool:
    return line.strip() == "[/Thinking]"


def split_content(
    content: str, *, thinking: bool, tools: bool, heads: Set[str]
) -> list[Segment]:
    """Split stored content into text, thinking and tool segments, in order.

    Markers are only read where the message says they can be (`thinking`, `tools`), since a
    user may well type `[Thinking]`. Thinking runs from `[Thinking]` to `[/Thinking]` or,
    without a closing marker, to a blank line or a tool label. A tool segment is a label
    line plus the lines after it up to a blank line, another label or a code fence. Text
    segments lose their leading and trailing blank lines; empty ones are dropped.
    """
    lines = content.split("\n")
    segments: list[Segment] = []
    text_start: int | None = None

    def flush_text(end: int) -> None:
        nonlocal text_start
        if text_start is not None:
            segments.append(Segment("text", start=text_start, end=end))
            text_start = None

    i = 0
    in_fence = False
    while i < len(lines):
        line = lines[i]
        if is_fence(line) or in_fence:
            in_fence = in_fence != is_fence(line)  # a fence line toggles; inside, all is text
            if text_start is None:
                text_start = i
            i += 1
            continue
        if thinking and _is_thinking_open(line):
            flush_text(i)
            start = i
            closed = any(_is_thinking_close(rest) for rest in lines[i + 1:])
            body: list[str] = []
            i += 1
            while i < len(lines):
                if closed and _is_thinking_close(lines[i]):
                    i += 1
                    break
                if not closed and (not lines[i].strip() or label_head(lines[i], heads)):
                    break
                body.append(lines[i])
                i += 1
            segments.append(Segment("thinking", text="\n".join(body), start=start, end=i))
            continue
        head = label_head(line, heads) if tools else None
        if head is not None:
            flush_text(i)
            start = i
            body = []
            i += 1
            while i < len(lines):
                nxt = lines[i]
                if (
                    not nxt.strip()
                    or is_fence(nxt)
                    or label_head(nxt, heads)
                    or (thinking and _is_thinking_open(nxt))
                ):
                    break
                body.append(nxt)
                i += 1
            segments.append(Segment(
                "tool", text="\n".join(body), label=line.rstrip(), head=head, start=start, end=i
            ))
            continue
        if text_start is None:
            text_start = i
        i += 1
    flush_text(len(lines))

    for seg in segments:
        if seg.kind == "text":
            kept = lines[seg.start:seg.end]
            while kept and not kept[0].strip():
                kept.pop(0)
            while kept and not kept[-1].strip():
                kept.pop()
            seg.text = "\n".join(kept).rstrip()
    return [s for s in segments if s.kind != "text" or s.text]


def _reading(message: dict) -> tuple[bool, bool, set[str]]:
    """Which markers a message DTO's content may hold: (thinking, tools, tool label heads).

    A message's own tool calls add their names to the known heads, so a label written by an
    agent whose tools we have never heard of is still found.
    """
    calls = message.get("tool_calls") or []
    heads = set(tool_label_heads())
    for call in calls:
        for key in ("tool_name", "category"):
            if call.get(key):
                heads.add(str(call[key]))
    tools = bool(message.get("has_tool_use") or calls or message.get("role") == "assistant")
    thinking = bool(message.get("has_thinking") or message.get("thinking_text"))
    return thinking, tools, heads


def message_segments(message: dict) -> list[Segment]:
    """The segments of a message DTO's content, with forbidden characters dropped first."""
    thinking, tools, heads = _reading(message)
    return split_content(
        clean(message.get("content")), thinking=thinking, tools=tools, heads=heads
    )


def without_thinking(message: dict) -> str:
    """A message DTO's content minus its thinking blocks, every other line kept verbatim.

    For views that show the thinking apart (from `thinking_text`) and render the rest.
    """
    content = str(message.get("content") or "")
    thinking, tools, heads = _reading(message)
    segments = split_content(content, thinking=thinking, tools=tools, heads=heads)
    dropped = {
        i for seg in segments if seg.kind == "thinking" for i in range(seg.start, seg.end)
    }
    return "\n".join(line for i, line in enumerate(content.split("\n")) if i not in dropped)
