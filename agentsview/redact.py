"""Remove passwords from database URLs and from any text that may quote them."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, quote, unquote, urlsplit

MASK = "***"

# userinfo password in scheme://user:password@host
_USERINFO_RE = re.compile(
    r"(?P<head>[a-zA-Z][a-zA-Z0-9+.-]*://[^/@:\s]*:)(?P<pw>[^@\s]*)(?P<at>@)"
)
# password=... in a URL query string or a libpq keyword/value DSN
_PARAM_RE = re.compile(
    r"(?P<key>\bpassword\s*=\s*)(?P<pw>'(?:[^'\\]|\\.)*'|[^&\s]*)", re.IGNORECASE
)


def redact_url(url: str) -> str:
    """Return *url* with the password (userinfo or ``password=`` parameter) masked."""
    text = _USERINFO_RE.sub(lambda m: m["head"] + MASK + m["at"], url)
    return _PARAM_RE.sub(lambda m: m["key"] + MASK, text)


def url_passwords(url: str) -> list[str]:
    """Every password spelled in *url*, raw and percent-decoded, for scrubbing free text."""
    found: list[str] = []
    m = _USERINFO_RE.search(url)
    if m and m["pw"]:
        found.append(m["pw"])
    try:
        query = urlsplit(url).query
    except ValueError:
        query = ""
    for key, value in parse_qsl(query, keep_blank_values=False):
        if key.lower() == "password" and value:
            found.append(value)
    for m in _PARAM_RE.finditer(url):
        value = m["pw"].strip("'")
        if value:
            found.append(value)
    variants: set[str] = set()
    for pw in found:
        variants.update({pw, unquote(pw), quote(unquote(pw), safe="")})
    # Longest first so a password containing another is masked whole.
    return sorted((v for v in variants if v), key=len, reverse=True)


def scrub(text: str, url: str | None) -> str:
    """Mask every password of *url* wherever it appears in *text* (errors, tracebacks)."""
    if not url:
        return redact_url(text)
    for secret in url_passwords(url):
        text = text.replace(secret, MASK)
    return redact_url(text)
