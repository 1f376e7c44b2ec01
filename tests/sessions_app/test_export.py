"""Session exports: Markdown byte-equal to AgentsView v0.46.1, HTML safe with hostile input.

Golden inputs and outputs live in tests/fixtures/golden/export/ (copied from the reference's
HTTP goldens: `*.json` are the API DTOs, `export-md*.md` / `export-html.html` the bodies).
No database is needed (the HTML page is a Django template).
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import pytest

from sessions_app.export import export_filename, session_html, session_markdown
from sessions_app.export.segments import message_segments, split_content, without_thinking

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
GOLDEN = FIXTURES / "golden" / "export"
CHILD_JSONL = (
    FIXTURES / "agents/claude/synthetic/projects/-home-dev-projects-webapp"
    / "7f3c1e2a-5b6d-4e8f-9a0b-1c2d3e4f5a6b/subagents/agent-a1b2c3d.jsonl"
)

ROOT_ID = "7f3c1e2a-5b6d-4e8f-9a0b-1c2d3e4f5a6b"
CHILD_ID = "agent-a1b2c3d"

HOSTILE = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "[x](javascript:alert(1))",
    "</textarea>",
    "]]>",
]
HOSTILE_TEXT = " ".join(HOSTILE)


def _json(name: str):
    return json.loads((GOLDEN / name).read_text(encoding="utf-8"))


def _golden(name: str) -> str:
    return (GOLDEN / name).read_bytes().decode("utf-8")


@pytest.fixture(scope="module")
def root() -> tuple[dict, list[dict]]:
    return _json("session.json"), _json("messages.json")["messages"]


@pytest.fixture(scope="module")
def codex() -> tuple[dict, list[dict]]:
    return _json("session-codex.json"), _json("messages-codex.json")["messages"]


# The reference goldens hold no message DTOs for the subagent session, so these are written
# by hand from its source file (checked against it in test_child_messages_match_source).
GREP_INPUT = '{"pattern":"redirect\\\\(\'/login\'\\\\)","path":"src","output_mode":"content"}'
GREP_OUTPUT = (
    "src/auth/redirect.ts:42:  if (!user) return redirect('/login')\n"
    "src/auth/login.ts:2:  return res.redirect('/login');"
)
CHILD_MESSAGES = [
    {
        "ordinal": 0,
        "role": "user",
        "content": "Search src/ for every place that issues a redirect to /login and report "
        "file:line.",
        "thinking_text": "",
        "timestamp": "2026-03-02T09:00:41Z",
        "has_thinking": False,
        "has_tool_use": False,
        "is_system": False,
    },
    {
        "ordinal": 1,
        "role": "assistant",
        "content": "[Grep: redirect\\('/login'\\)]",
        "thinking_text": "",
        "timestamp": "2026-03-02T09:00:45Z",
        "has_thinking": False,
        "has_tool_use": True,
        "is_system": False,
        "tool_calls": [
            {
                "tool_name": "Grep",
                "category": "Grep",
                "tool_use_id": "toolu_S1GREP",
                "input_json": GREP_INPUT,
                "result_content_length": len(GREP_OUTPUT),
                "result_content": GREP_OUTPUT,
                "result_events": [
                    {
                        "tool_use_id": "toolu_S1GREP",
                        "source": "tool_result",
                        "status": "",
                        "content": GREP_OUTPUT,
                        "content_length": len(GREP_OUTPUT),
                        "timestamp": "2026-03-02T09:00:46Z",
                        "event_index": 0,
                    }
                ],
            }
        ],
    },
    {
        "ordinal": 3,
        "role": "assistant",
        "content": "Redirects to /login: src/auth/redirect.ts:42 and src/auth/login.ts:2",
        "thinking_text": "",
        "timestamp": "2026-03-02T09:01:19Z",
        "has_thinking": False,
        "has_tool_use": False,
        "is_system": False,
    },
]


def _loader(sessions: dict[str, tuple[dict, list[dict]]], calls: list[str] | None = None):
    def load(session_id: str):
        if calls is not None:
            calls.append(session_id)
        return sessions.get(session_id)

    return load


@pytest.fixture(scope="module")
def child_loader():
    return _loader({CHILD_ID: (_json("subagent-session.json"), CHILD_MESSAGES)})


def _xml_part(markdown: str) -> ET.Element:
    """Parse the `<session>` element that follows the Markdown heading."""
    heading, blank, rest = markdown.split("\n", 2)
    assert heading.startswith("# Session: ")
    assert blank == ""
    return ET.fromstring(rest)


# --- Markdown: byte equality with the reference ----------------------------------------


def test_markdown_root_matches_golden(root):
    assert session_markdown(*root) == _golden("export-md.md")


def test_markdown_root_ignores_loader_without_depth(root, child_loader):
    assert session_markdown(*root, load_child=child_loader) == _golden("export-md.md")


@pytest.mark.parametrize("depth", [1, "1"])
def test_markdown_depth1_matches_golden(root, child_loader, depth):
    out = session_markdown(*root, depth=depth, load_child=child_loader)
    assert out == _golden("export-md-depth1.md")


def test_markdown_depth_all_matches_golden(root, child_loader):
    out = session_markdown(*root, depth="all", load_child=child_loader)
    assert out == _golden("export-md-depthall.md")


def test_markdown_codex_matches_golden(codex):
    assert session_markdown(*codex) == _golden("export-md-codex.md")


def test_child_messages_match_source():
    """The hand-written subagent DTOs agree with the subagent's JSONL file."""
    lines = [json.loads(x) for x in CHILD_JSONL.read_text(encoding="utf-8").splitlines()]
    tool_use = lines[1]["message"]["content"][0]
    assert json.loads(GREP_INPUT) == tool_use["input"]
    assert CHILD_MESSAGES[1]["tool_calls"][0]["tool_use_id"] == tool_use["id"]
    assert lines[2]["message"]["content"][0]["content"] == GREP_OUTPUT
    assert lines[0]["message"]["content"] == CHILD_MESSAGES[0]["content"]
    assert lines[3]["message"]["content"][0]["text"] == CHILD_MESSAGES[2]["content"]


@pytest.mark.parametrize(
    "name",
    [
        "export-md.md",
        "export-md-depth1.md",
        "export-md-depthall.md",
        "export-md-codex.md",
        "export-md-opencode.md",
    ],
)
def test_golden_markdown_is_well_formed_xml(name):
    session = _xml_part(_golden(name))
    assert session.tag == "session"


# --- Markdown: children, depth and cycles ----------------------------------------------


def _task_message(ordinal: int, call_id: str, child_id: str) -> dict:
    return {
        "ordinal": ordinal,
        "role": "assistant",
        "content": "[Task: go (Explore)]",
        "timestamp": "2026-01-01T00:00:00Z",
        "has_tool_use": True,
        "tool_calls": [
            {
                "tool_use_id": call_id,
                "tool_name": "Task",
                "category": "Task",
                "input_json": json.dumps({"description": "go", "prompt": f"do {child_id}"}),
                "subagent_session_id": child_id,
            }
        ],
    }


def _session(sid: str, parent: str | None = None) -> dict:
    out = {"id": sid, "project": "p", "agent": "claude", "message_count": 1}
    if parent:
        out.update(parent_session_id=parent, relationship_type="subagent")
    return out


@pytest.fixture()
def cyclic_tree():
    """root -> a -> b -> (a again, and root): a cycle the export must not follow."""
    return {
        "root": (_session("root"), [_task_message(0, "t-root", "a")]),
        "a": (_session("a", "root"), [_task_message(0, "t-a", "b")]),
        "b": (
            _session("b", "a"),
            [_task_message(0, "t-b1", "a"), _task_message(1, "t-b2", "root")],
        ),
    }


def test_depth1_stops_at_direct_children(cyclic_tree):
    calls: list[str] = []
    out = session_markdown(*cyclic_tree["root"], depth=1, load_child=_loader(cyclic_tree, calls))
    assert calls == ["a"]
    assert '<subagent_anchor session_id="a" tool_call_id="t-root" depth="1">' in out
    assert '<subagent_session id="a" parent_session_id="root" relationship="subagent"' in out
    assert "<subagent_session id=\"b\"" not in out
    _xml_part(out)


def test_depth_all_recurses_and_stops_on_cycles(cyclic_tree):
    calls: list[str] = []
    out = session_markdown(
        *cyclic_tree["root"], depth="all", load_child=_loader(cyclic_tree, calls)
    )
    assert calls == ["a", "b"]
    assert out.count("<subagent_session ") == 2
    assert '<subagent_anchor session_id="b" tool_call_id="t-a" depth="all">' in out
    session = _xml_part(out)
    nested = session.find("./message/subagent_anchor/subagent_session/message/subagent_anchor")
    assert nested is not None and nested.get("session_id") == "b"


def test_same_child_spawned_twice_is_exported_once():
    parent = _session("root")
    message = _task_message(0, "t1", "kid")
    message["tool_calls"].append({**message["tool_calls"][0], "tool_use_id": "t2"})
    kids = {"kid": (_session("kid", "root"), [{"ordinal": 0, "role": "user", "content": "hi"}])}
    out = session_markdown(parent, [message], depth="all", load_child=_loader(kids))
    assert out.count('<subagent_session id="kid"') == 1


def test_unknown_child_is_skipped(root):
    out = session_markdown(*root, depth="all", load_child=lambda _sid: None)
    assert out == _golden("export-md.md")


@pytest.mark.parametrize("depth", [2, "2", "deep", -1, True])
def test_invalid_depth_is_rejected(root, depth):
    with pytest.raises(ValueError):
        session_markdown(*root, depth=depth)


# --- Markdown: content layout ----------------------------------------------------------


def _one_call(content: str, call: dict) -> str:
    message = {"ordinal": 0, "role": "assistant", "content": content, "has_tool_use": True,
               "tool_calls": [call]}
    return session_markdown({"id": "s", "project": "p", "agent": "claude"}, [message])


def test_markdown_keeps_text_after_a_tool_in_place():
    call = {"tool_use_id": "t", "tool_name": "Bash", "category": "Bash",
            "input_json": '{"command":"ls"}'}
    out = _one_call("before\n[Bash]\n$ ls\n\nafter", call)
    assert "\nbefore\n<tool_call id=\"t\"" in out
    assert "<tool_body><![CDATA[\n$ ls\n]]></tool_body>\nafter\n</message>" in out


def test_markdown_does_not_read_labels_inside_code_fences():
    call = {"tool_use_id": "t", "tool_name": "Read", "category": "Read",
            "input_json": '{"file_path":"a.py"}'}
    out = _one_call("```\n[Read: fake]\n```\n[Read: a.py]", call)
    assert "```\n[Read: fake]\n```\n<tool_call" in out
    assert "<tool_body><![CDATA[\na.py\n]]></tool_body>" in out


def test_markdown_tool_body_fallbacks():
    todo = {"tool_use_id": "t", "tool_name": "TodoWrite", "category": "Tool",
            "input_json": json.dumps({"todos": [
                {"content": "a", "status": "pending"}, {"content": "b", "status": "completed"},
            ]})}
    assert "<tool_body><![CDATA[\n○ a\n  ✓ b\n]]></tool_body>" in _one_call("", todo)
    other = {"tool_use_id": "t", "tool_name": "mcp", "category": "Other",
             "input_json": '{"z": [1, 2], "a": "x", "m": {"k": null}}'}
    assert "<![CDATA[\na: x\nm: {\"k\": null}\nz: [1, 2]\n]]></tool_body>" in _one_call(
        "", other
    )
    not_json = {"tool_use_id": "t", "tool_name": "apply_patch", "category": "Edit",
                "input_json": "*** Begin Patch"}
    assert "<tool_body>" not in _one_call("", not_json)


def test_markdown_empty_message_is_one_line():
    out = session_markdown({"id": "s"}, [{"ordinal": 0, "role": "assistant", "content": ""}])
    assert '<message role="assistant" ordinal="0"></message>\n</session>\n' in out


# --- Markdown: hostile transcripts -----------------------------------------------------


def _hostile_messages() -> list[dict]:
    return [
        {
            "ordinal": 0,
            "role": "user",
            "content": HOSTILE_TEXT,
            "timestamp": "2026-01-01T00:00:00Z",
        },
        {
            "ordinal": 1,
            "role": "assistant",
            "content": f"[Thinking]\n{HOSTILE_TEXT}\n[/Thinking]\n{HOSTILE_TEXT}\n"
            "[Bash: run]\n$ echo hi",
            "thinking_text": HOSTILE_TEXT,
            "timestamp": "2026-01-01T00:00:01Z",
            "has_thinking": True,
            "has_tool_use": True,
            "tool_calls": [
                {
                    "tool_use_id": "t<1>\"'",
                    "tool_name": "Bash",
                    "category": "Bash",
                    "input_json": json.dumps({"command": HOSTILE_TEXT}),
                    "result_content": HOSTILE_TEXT,
                    "result_events": [
                        {
                            "tool_use_id": "t<1>\"'",
                            "source": "tool_result",
                            "status": "errored\" onclick=\"x",
                            "content": HOSTILE_TEXT + "\x00\x1b[31m",
                            "timestamp": "2026-01-01T00:00:02Z",
                        }
                    ],
                }
            ],
        },
    ]


def _hostile_session() -> dict:
    return {
        "id": "s\"1",
        "project": "evil\n<script>alert(1)</script>_[x](javascript:alert(1))",
        "agent": "claude",
        "started_at": "2026-01-01T00:00:00Z",
        "message_count": 2,
    }


def test_markdown_keeps_cdata_well_formed_with_hostile_text():
    out = session_markdown(_hostile_session(), _hostile_messages())
    session = _xml_part(out)  # raises if a `]]>` closed a section early
    assert session.get("id") == 's"1'
    user, assistant = session.findall("message")
    assert user.text == "\n" + HOSTILE_TEXT + "\n"
    assert assistant.find("thinking").text == "\n" + HOSTILE_TEXT + "\n"
    assert assistant.find("tool_call/arguments").text == (
        "\n" + json.dumps({"command": HOSTILE_TEXT}) + "\n"
    )
    results = assistant.findall("tool_result")
    assert results[0].text == "\n" + HOSTILE_TEXT + "\n"
    # control characters are dropped, everything else survives the round trip
    assert results[1].text == "\n" + HOSTILE_TEXT + "[31m\n"
    assert results[1].get("status") == 'errored" onclick="x'
    assert "]]]]><![CDATA[>" in out
    assert "\x00" not in out and "\x1b" not in out


def test_markdown_escapes_text_outside_cdata():
    out = session_markdown(_hostile_session(), _hostile_messages())
    outside = re.sub(r"<!\[CDATA\[.*?\]\]>", "", out, flags=re.S)
    for bad in ("<script>", "<img", "</textarea>"):
        assert bad not in outside
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in outside


def test_markdown_heading_is_one_escaped_line():
    out = session_markdown(_hostile_session(), [])
    heading = out.split("\n", 1)[0]
    assert heading == (
        "# Session: evil \\<script\\>alert(1)\\</script\\>\\_\\[x\\](javascript:alert(1))"
    )
    assert out.split("\n")[1] == ""


# --- HTML ------------------------------------------------------------------------------


class _TagCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_startendtag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)


def _parse_html(page: str) -> _TagCollector:
    parser = _TagCollector()
    parser.feed(page)
    parser.close()
    return parser


def _message_classes(page: str) -> dict[str, str]:
    found = re.findall(r'<div class="(message[^"]*)" data-ordinal="([^"]*)">', page)
    return {ordinal: classes for classes, ordinal in found}


def test_html_structure(root):
    page = session_html(*root)
    assert page.startswith("<!DOCTYPE html>\n<html lang=\"en\">")
    assert "<title>webapp - Agent Session</title>" in page
    assert "<h1>webapp</h1>" in page
    assert "<span>Claude Code</span>" in page
    assert "<span>13 messages</span>" in page
    assert "<span>2026-03-02 09:00:00</span>" in page
    for control in ("transcript-normal", "transcript-focused", "thinking-toggle", "sort-toggle"):
        assert f'id="{control}"' in page
        assert f'<label for="{control}" class="toggle-label">' in page
    assert ">Dark<" in page and ">Light<" in page
    assert "--bg-primary" in page and "#theme-toggle:checked ~ .page" in page
    assert (
        '<div class="message user" data-ordinal="0"><div class="message-header">'
        '<span class="message-role">user</span>'
        '<span class="message-time">2026-03-02 09:00:01</span></div>'
        '<div class="message-content">Fix the login redirect loop' in page
    )
    assert (
        '<div class="thinking-block"><div class="thinking-label">Thinking</div>'
        "The user reports a redirect loop. I should read login.ts first.</div>" in page
    )
    assert (
        '<div class="tool-block">[Bash: Run auth tests]\n$ npm test -- src/auth</div>' in page
    )
    assert "<code>src/auth/redirect.ts</code>" in page
    assert "I&#39;ll start by reading the login module." in page


def test_html_message_classes_match_golden(root):
    """Same blocks, same order, same role / focused-hidden / thinking-only classes."""
    page = session_html(*root)
    golden = _golden("export-html.html")
    assert list(_message_classes(page).items()) == list(_message_classes(golden).items())
    assert len(_message_classes(page)) == len(root[1])


def test_html_uses_the_class_names_of_the_reference(root):
    page = session_html(*root)
    golden = _golden("export-html.html")
    names = [
        "header-content", "session-meta", "controls", "messages", "message-header",
        "message-role", "message-time", "message-content", "thinking-block", "thinking-label",
        "tool-block", "toggle-input", "toggle-label", "focused-hidden",
    ]
    for name in names:
        assert name in golden
        assert name in page


def test_html_marks_thinking_only_and_unknown_roles():
    messages = [
        {"ordinal": 0, "role": "assistant", "content": "[Thinking]\nhmm\n[/Thinking]",
         "thinking_text": "hmm", "has_thinking": True},
        {"ordinal": 1, "role": "tool\" onmouseover=\"x", "content": "odd"},
    ]
    page = session_html({"project": "p", "agent": "codex"}, messages)
    classes = _message_classes(page)
    assert classes["0"] == "message assistant thinking-only"
    assert classes["1"] == "message unknown"
    assert "<span>Codex</span>" in page
    assert "<span>2 messages</span>" in page


def test_html_page_is_self_contained_and_locked_down(root):
    page = session_html(*root)
    parsed = _parse_html(page)
    metas = [attrs for tag, attrs in parsed.tags if tag == "meta"]
    csp = next(m["content"] for m in metas if m.get("http-equiv") == "Content-Security-Policy")
    assert "default-src 'none'" in csp and "script-src 'none'" in csp
    assert {"name": "referrer", "content": "no-referrer"} in metas
    assert all(tag not in ("script", "link", "img", "iframe", "a") for tag, _ in parsed.tags)
    for _tag, attrs in parsed.tags:
        assert not {"src", "href", "srcset", "action"} & attrs.keys()
        assert not any(name.startswith("on") for name in attrs)
    assert "url(" not in page and "@import" not in page
    assert not re.search(r"(?i)(https?:|//[a-z0-9])", page)


def test_html_escapes_hostile_transcript():
    page = session_html(_hostile_session(), _hostile_messages())
    for bad in HOSTILE[:2] + ["</textarea>", "<script", "<img", "onclick=\""]:
        assert bad not in page
    parsed = _parse_html(page)
    allowed = {
        "html", "head", "meta", "title", "style", "body", "input", "div", "header", "h1",
        "span", "label", "main", "footer", "code", "pre",
    }
    assert {tag for tag, _ in parsed.tags} <= allowed
    for _tag, attrs in parsed.tags:
        assert not any(name.startswith("on") for name in attrs)
        assert not {"src", "href"} & attrs.keys()
    text = "".join(parsed.text)
    # the hostile strings are all still there, as text
    for bad in HOSTILE:
        assert bad in text
    assert "javascript:" not in re.sub(r"\s", "", "".join(str(a) for _, a in parsed.tags))


def test_html_escapes_inline_code_and_fences():
    messages = [
        {
            "ordinal": 0,
            "role": "assistant",
            "content": "see `<b>x</b>` and\n```html\n<script>alert(1)</script>\n```\ndone",
        }
    ]
    page = session_html({"project": "p"}, messages)
    assert "<code>&lt;b&gt;x&lt;/b&gt;</code>" in page
    assert "<pre><code>&lt;script&gt;alert(1)&lt;/script&gt;</code></pre>" in page


# --- File names ------------------------------------------------------------------------


def test_export_filename_matches_reference_headers(root, codex):
    assert export_filename(root[0], "md") == "webapp-20260302.md"
    assert export_filename(root[0], "html") == "webapp-20260302.html"
    assert export_filename(codex[0], "md") == "api_server-20260304.md"
    opencode = {"project": "cli_tool", "started_at": "2026-03-07T08:00:00Z"}
    assert export_filename(opencode, "md") == "cli_tool-20260307.md"


@pytest.mark.parametrize(
    ("session", "expected"),
    [
        ({"project": "webapp"}, "webapp-unknown.md"),
        ({"project": "webapp", "started_at": ""}, "webapp-unknown.md"),
        ({"project": "webapp", "started_at": "garbage"}, "webapp-unknown.md"),
        ({"project": "webapp", "started_at": "2026-03-02T23:30:00-05:00"}, "webapp-20260302.md"),
        ({"project": "", "started_at": "2026-03-02T09:00:00Z"}, "session-20260302.md"),
        ({"started_at": "2026-03-02T09:00:00.5Z"}, "session-20260302.md"),
        (
            {"project": 'a"b/c\\d\r\ne;f\x00ü', "started_at": "2026-03-02T09:00:00Z"},
            "a_b_c_d__e_f__-20260302.md",
        ),
    ],
)
def test_export_filename_fallbacks_and_sanitising(session, expected):
    assert export_filename(session, "md") == expected


def test_export_filename_is_header_safe():
    name = export_filename({"project": "../../etc/passwd \u202e\"x"}, ".ht\"ml")
    assert re.fullmatch(r"[A-Za-z0-9_.\-]+", name)
    assert name.endswith(".ht_ml")


# --- Segments: one reading of stored content for both exports and the dashboard ------------

HEADS = frozenset({"Bash", "Read", "Todo", "Todo List"})


def _kinds(segments) -> list[tuple[str, str]]:
    return [(s.kind, s.label or s.text) for s in segments]


def test_segments_never_split_a_fenced_code_block():
    content = "intro\n```\n[Thinking]\n[Bash: ls]\n\n[/Thinking]\n```\n[Bash: ls]\n$ ls"
    segments = split_content(content, thinking=True, tools=True, heads=HEADS)
    assert _kinds(segments) == [
        ("text", "intro\n```\n[Thinking]\n[Bash: ls]\n\n[/Thinking]\n```"),
        ("tool", "[Bash: ls]"),
    ]
    assert segments[1].text == "$ ls"


def test_segments_thinking_without_closing_marker_ends_at_a_blank_line_or_a_label():
    blank = split_content("[Thinking]\nhmm\nstill\n\nanswer", thinking=True, tools=True,
                          heads=HEADS)
    assert _kinds(blank) == [("thinking", "hmm\nstill"), ("text", "answer")]
    label = split_content("[Thinking]\nhmm\n[Read: a.py]", thinking=True, tools=True,
                          heads=HEADS)
    assert _kinds(label) == [("thinking", "hmm"), ("tool", "[Read: a.py]")]


def test_segments_closed_thinking_keeps_its_blank_lines():
    segments = split_content("[Thinking]\na\n\nb\n[/Thinking]\nafter", thinking=True,
                             tools=False, heads=HEADS)
    assert _kinds(segments) == [("thinking", "a\n\nb"), ("text", "after")]
    assert (segments[0].start, segments[0].end) == (0, 5)


def test_segments_read_markers_only_where_the_message_allows():
    content = "[Thinking]\nx\n[/Thinking]\n[Bash]"
    segments = split_content(content, thinking=False, tools=False, heads=HEADS)
    assert _kinds(segments) == [("text", content)]


def test_segments_tool_body_stops_at_a_blank_line_or_a_fence_and_longest_head_wins():
    segments = split_content("[Todo List]\n- a\n\ntext\n[Bash]\n$ ls\n```\ncode\n```",
                             thinking=False, tools=True, heads=HEADS)
    assert [(s.kind, s.head, s.text) for s in segments] == [
        ("tool", "Todo List", "- a"),
        ("text", "", "text"),
        ("tool", "Bash", "$ ls"),
        ("text", "", "```\ncode\n```"),
    ]


def test_message_segments_know_the_message_own_tool_names_and_drop_control_characters():
    message = {"role": "user", "content": "a\x00b\n[frobnicate: x]\nbody",
               "tool_calls": [{"tool_name": "frobnicate", "category": "Other"}]}
    assert [(s.kind, s.head, s.text) for s in message_segments(message)] == [
        ("text", "", "ab"),
        ("tool", "frobnicate", "body"),
    ]


def test_without_thinking_drops_only_the_thinking_lines():
    message = {
        "role": "assistant",
        "content": "  lead\n\n[Thinking]\nplan\n\nmore\n[/Thinking]\n\n```\n[Thinking]\n```\n",
        "thinking_text": "plan\n\nmore",
    }
    assert without_thinking(message) == "  lead\n\n\n```\n[Thinking]\n```\n"


def test_agent_names_come_from_the_registry():
    session = {"id": "s", "project": "p", "agent": "vscode-copilot"}
    assert 'agent="VSCode Copilot"' in session_markdown(session, [])
    assert "<span>VS Code Copilot</span>" in session_html(session, [])
    unknown = {**session, "agent": "brand-new"}
    assert 'agent="brand-new"' in session_markdown(unknown, [])
    assert "<span>brand-new</span>" in session_html(unknown, [])


def test_tool_input_nested_too_deep_to_read_still_exports():
    """A tool input a parser kept verbatim may nest deeper than the JSON reader recurses: the
    exports fall back to the text instead of failing the request."""
    deep = '{"a":' * 1200 + "1" + "}" * 1200
    call = {"tool_name": "Bash", "category": "Bash", "tool_use_id": "t1", "input_json": deep}
    message = {"role": "assistant", "ordinal": 0, "content": "", "has_tool_use": True,
               "tool_calls": [call]}
    markdown = session_markdown({"id": "s", "project": "p"}, [message])
    assert '<tool_call id="t1" name="Bash" category="Bash">' in markdown
    assert deep in markdown  # the arguments, verbatim
    assert "Bash" in session_html({"id": "s", "project": "p"}, [message])
