"""factory-boy factories for the session tables, with the edge cases the selectors, filters and
analytics must get right stated as traits (``SessionFactory(one_shot=True)``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import factory
from factory.django import DjangoModelFactory

from sessions_app.models import Message, Session, ToolCall

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


class SessionFactory(DjangoModelFactory):
    """A browsable, scored, top-level session of two prompts, an hour long."""

    class Meta:
        model = Session

    id = factory.Sequence(lambda n: f"session-{n:04d}")
    project = "webapp"
    machine = "laptop"
    agent = "claude"
    first_message = factory.LazyAttribute(lambda s: f"prompt of {s.id}")
    started_at = T0
    ended_at = factory.LazyAttribute(lambda s: s.started_at + timedelta(hours=1)
                                     if s.started_at else None)
    created_at = T0
    message_count = 4
    user_message_count = 2
    outcome = "completed"
    outcome_confidence = "medium"
    health_score = 90
    health_grade = "A"

    class Params:
        # one prompt: left out unless include_one_shot
        one_shot = factory.Trait(message_count=2, user_message_count=1)
        # a scripted run: left out unless include_automated or automated_scope asks for it
        automated = factory.Trait(is_automated=True, message_count=2, user_message_count=1)
        # a subagent: left out unless include_children
        child = factory.Trait(parent_session_id="parent", relationship_type="subagent")
        # never browsable, whatever the filters
        deleted = factory.Trait(deleted_at=T0)
        empty = factory.Trait(message_count=0, user_message_count=0)
        # no start time: the session starts when it was created (and is active until then)
        unstarted = factory.Trait(started_at=None, ended_at=None)
        # nothing to judge: no score, no grade
        unscored = factory.Trait(health_score=None, health_grade=None, outcome="unknown",
                                 outcome_confidence="low")


class MessageFactory(DjangoModelFactory):
    class Meta:
        model = Message

    session = factory.SubFactory(SessionFactory)
    ordinal = factory.Sequence(int)
    role = "user"
    content = "hello"
    timestamp = T0


class ToolCallFactory(DjangoModelFactory):
    class Meta:
        model = ToolCall

    session = factory.SubFactory(SessionFactory)
    message_ordinal = 1
    call_index = factory.Sequence(int)
    tool_name = "Bash"
    category = "Bash"
