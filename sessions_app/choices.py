"""The fixed vocabularies of a session's signals, as Django choices: the model fields, the
filters, the scoring and the analytics all read them from here."""

from __future__ import annotations

from django.db import models


class Outcome(models.TextChoices):
    COMPLETED = "completed"
    ABANDONED = "abandoned"
    ERRORED = "errored"
    UNKNOWN = "unknown"


class OutcomeConfidence(models.TextChoices):
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


class HealthGrade(models.TextChoices):
    A = "A"
    B = "B"
    C = "C"
    D = "D"
    F = "F"


class AutomatedScope(models.TextChoices):
    """Which sessions the automated rule keeps: human leaves automated runs out, all includes
    them, automated keeps only them."""

    HUMAN = "human"
    ALL = "all"
    AUTOMATED = "automated"


class TombstoneKind(models.TextChoices):
    """Why a session must not come back as it was: deleted for good (a push never brings it
    back), or, on the shared database only, trashed or redacted there by a person."""

    DELETED = "deleted"
    TRASHED = "trashed"
    REDACTED = "redacted"
