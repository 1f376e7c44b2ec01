"""The standalone HTML page of a session, rendered from `export/session.html`.

This module only decides what the page shows: it hands the template plain strings (never
markup) and the template, with autoescape on, writes every tag. The page is self-contained:
inline CSS, no scripts, no external resources, and a Content-Security-Policy that says so.
"""

from __future__ import annotations

import re
from typing import Any

from django.template.loader import render_to_string

from sessions_app.export.segments import is_fence, message_segments
from sessions_app.export.text import clean, display_time
from sessions_app.parsers.registry import AGENTS

# Inline code in prose: the capture group makes re.split alternate prose and code.
_INLINE_CODE_RE = re.compile(r"`([^`\n]+)`")


def _agent_name(agent: Any) -> str:
    """The registry's display name ("Claude Code"); an unknown key as itself."""
    key = str(agent or "")
    return AGENTS[key].display_name if key in AGENTS else key


def _prose(text: str) -> dict:
    """A prose block as (is_code, text) spans: its `inline code` becomes <code>."""
    parts = _INLINE_CODE_RE.split(text)
    return {"fenced": False, "spans": [(i % 2 == 1, part) for i, part in enumerate(parts)]}


def _text_blocks(text: str) -> list[dict]:
    """A text segment as prose and fenced code blocks, in order.

    An unclosed fence is shown as prose, opened by a bare ```.
    """
    blocks: list[dict] = []
    buffer: list[str] = []
    fence: list[str] | None = None
    for line in text.split("\n"):
        if is_fence(line):
            if fence is None:
                if buffer:
                    blocks.append(_prose("\n".join(buffer)))
                    buffer = []
                fence = []
            else:
                blocks.append({"fenced": True, "code": "\n".join(fence)})
                fence = None
            continue
        (buffer if fence is None else fence).append(line)
    if fence is not None:
        buffer.extend(["```", *fence])
    if buffer:
        blocks.append(_prose("\n".join(buffer)))
    return blocks


def _message(message: dict) -> dict:
    """What the template shows of one message: its classes, header and pieces."""
    role = str(message.get("role") or "")
    calls = list(message.get("tool_calls") or [])
    segments = message_segments(message)
    thinking_text = clean(message.get("thinking_text"))

    pieces: list[dict] = []
    tool_segments = 0
    if thinking_text and not any(s.kind == "thinking" for s in segments):
        pieces.append({"kind": "thinking", "text": thinking_text})
    for seg in segments:
        if seg.kind == "thinking":
            pieces.append({"kind": "thinking", "text": seg.text or thinking_text})
        elif seg.kind == "text":
            pieces.append({"kind": "text", "blocks": _text_blocks(seg.text)})
        else:
            tool_segments += 1
            text = "\n".join(x for x in (seg.label, seg.text) if x)
            pieces.append({"kind": "tool", "text": text})
    # Tool calls the content has no label for still show, by name.
    for call in calls[tool_segments:]:
        pieces.append({"kind": "tool", "text": f"[{clean(call.get('tool_name') or 'Tool')}]"})

    classes = ["message", role if role in ("user", "assistant") else "unknown"]
    only_thinking = bool(segments) and all(s.kind == "thinking" for s in segments) and not calls
    if role == "assistant" and (only_thinking or (thinking_text and not segments and not calls)):
        classes.append("thinking-only")
    if message.get("is_system") or (
        role == "assistant" and (message.get("has_tool_use") or calls)
    ):
        classes.append("focused-hidden")

    ordinal = message.get("ordinal")
    return {
        "classes": " ".join(classes),
        "ordinal": str(ordinal) if isinstance(ordinal, int) else clean(ordinal),
        "role": clean(role),
        "time": display_time(message.get("timestamp")),
        "pieces": pieces,
    }


def session_html(session: dict, messages: list[dict]) -> str:
    """A self-contained HTML page for one session (spec 7.2).

    No scripts, no external resources; the toggles (focused mode, thinking, newest first,
    dark theme) are CSS-only checkboxes and radios. All transcript text is escaped by the
    template's autoescape.
    """
    count = session.get("message_count")
    page = render_to_string("export/session.html", {
        "project": clean(session.get("project") or ""),
        "agent": clean(_agent_name(session.get("agent"))),
        # strings, so that no localisation setting can reformat the numbers
        "message_count": str(count) if isinstance(count, int) else str(len(messages)),
        "started": display_time(session.get("started_at")),
        "messages": [_message(m) for m in messages],
    })
    # Django escapes ' as &#x27;, the reference (Go's html.EscapeString) as &#39;: the same
    # character. Only autoescape writes "&#x27;" (a literal one in the text became
    # "&amp;#x27;"), so this changes no text and no markup, only the spelling.
    return page.replace("&#x27;", "&#39;")
