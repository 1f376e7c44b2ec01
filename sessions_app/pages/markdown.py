"""Transcript text → safe HTML.

Transcripts are untrusted: raw HTML in them is escaped (markdown-it with ``html`` off), links
keep only http, https and mailto targets (no ``javascript:``, ``data:``, ``file:``), images are
not loaded (a remote image would leak the reader), and every link opens with
``rel="noopener noreferrer nofollow"``.
"""

from __future__ import annotations

from functools import lru_cache

from markdown_it import MarkdownIt

SAFE_SCHEMES = ("http://", "https://", "mailto:")


def _safe_link(url: str) -> bool:
    return url.strip().lower().startswith(SAFE_SCHEMES) or url.startswith(("#", "/"))


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "breaks": True})
    md.validateLink = _safe_link
    md.disable("image")

    def link_open(renderer, tokens, idx, options, env):
        tokens[idx].attrSet("rel", "noopener noreferrer nofollow")
        tokens[idx].attrSet("target", "_blank")
        return renderer.renderToken(tokens, idx, options, env)

    md.add_render_rule("link_open", link_open)
    return md


def render(text: str) -> str:
    """Markdown of a message → HTML safe to insert into the page."""
    return _parser().render(text)
