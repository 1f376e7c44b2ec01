"""Session exports: the XML-tagged Markdown transcript and the standalone HTML page.

`segments` splits a message's stored content for both of them (and for the dashboard);
`markdown`, `html` and `filenames` hold one format each, and the download's file name.
"""

from __future__ import annotations

from sessions_app.export.filenames import export_filename
from sessions_app.export.html import session_html
from sessions_app.export.markdown import session_markdown

__all__ = ["export_filename", "session_html", "session_markdown"]
