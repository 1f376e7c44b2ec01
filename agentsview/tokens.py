"""Per-person API tokens (DRF tokens): create, revoke, list, in the database given."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token


class TokenError(Exception):
    """A one-line reason the token operation cannot be done."""


@dataclass(frozen=True)
class TokenHolder:
    username: str
    created: datetime
    active: bool


def create_token(username: str, *, create_user: bool = False, using: str = "default") -> str:
    """A new token for *username* (replacing any it had); returns the key, shown once."""
    users = get_user_model().objects.db_manager(using)
    user = users.filter(username=username).first()
    if user is None:
        if not create_user:
            raise TokenError(f"no user {username!r} (add --create-user, or create it in the"
                             " admin)")
        user = users.create_user(username=username)
    Token.objects.using(using).filter(user=user).delete()
    return Token.objects.using(using).create(user=user).key


def revoke_token(username: str, *, using: str = "default") -> None:
    deleted, _ = Token.objects.using(using).filter(user__username=username).delete()
    if not deleted:
        raise TokenError(f"{username} has no token")


def token_holders(*, using: str = "default") -> list[TokenHolder]:
    return [TokenHolder(t.user.username, t.created, t.user.is_active)
            for t in Token.objects.using(using).select_related("user").order_by("user__username")]
