"""What the scoring reads of a session (section 4.1): its messages, tool calls and aggregates,
and the user's ``[automated]`` rules."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # only for type hints: the package stays importable without the parsers
    from sessions_app.parsers.base import ParsedSession


@dataclass(frozen=True)
class SignalMessage:
    ordinal: int
    role: str  # user | assistant
    content: str = ""
    is_system: bool = False
    is_compact_boundary: bool = False
    model: str = ""
    context_tokens: int = 0
    has_context_tokens: bool = False
    timestamp: datetime | None = None


@dataclass(frozen=True)
class SignalToolCall:
    message_ordinal: int
    call_index: int
    tool_name: str
    category: str
    input_json: str = ""
    result_content: str = ""
    event_status: str = ""  # status of the call's LAST result event, '' if none


@dataclass(frozen=True)
class AutomatedRules:
    """User-configured automated-prompt patterns (config.toml ``[automated]``), added to the
    built-in lists."""

    prefixes: tuple[str, ...] = ()
    substrings: tuple[str, ...] = ()
    exact_matches: tuple[str, ...] = ()


NO_RULES = AutomatedRules()


@dataclass(frozen=True)
class SignalInput:
    messages: Sequence[SignalMessage]
    tool_calls: Sequence[SignalToolCall]  # message-ordinal, then call-index order
    message_count: int
    user_message_count: int
    first_message: str = ""  # the stored (truncated) first_message
    peak_context_tokens: int = 0
    ended_at: datetime | None = None  # last activity (timezone-aware)
    session_kind: str = ""
    agent: str = ""


def from_parsed(session: ParsedSession) -> SignalInput:
    """Adapt a parser's ``ParsedSession`` to ``SignalInput``."""
    messages = sorted(session.messages, key=lambda m: m.ordinal)
    calls: list[SignalToolCall] = []
    for message in messages:
        for call in sorted(message.tool_calls, key=lambda c: c.call_index):
            calls.append(
                SignalToolCall(
                    message_ordinal=message.ordinal,
                    call_index=call.call_index,
                    tool_name=call.tool_name,
                    category=call.category,
                    input_json=call.input_json or "",
                    result_content=call.result_content or "",
                    event_status=call.result_events[-1].status if call.result_events else "",
                )
            )
    return SignalInput(
        messages=[
            SignalMessage(
                ordinal=m.ordinal,
                role=m.role,
                content=m.content,
                is_system=m.is_system,
                is_compact_boundary=m.is_compact_boundary,
                model=m.model,
                context_tokens=m.context_tokens,
                has_context_tokens=m.has_context_tokens,
                timestamp=m.timestamp,
            )
            for m in messages
        ],
        tool_calls=calls,
        message_count=session.message_count,
        user_message_count=session.user_message_count,
        first_message=session.first_message,
        peak_context_tokens=session.peak_context_tokens,
        ended_at=session.ended_at,
        session_kind=session.session_kind,
        agent=session.agent,
    )
