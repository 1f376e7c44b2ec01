"""Cline and its forks Roo Code and Kilo Code: one directory per task,
``<root>/tasks/<task id>/``, where ``<root>`` is the extension's VS Code ``globalStorage``
folder (newer Cline: ``~/.cline/data``). A task directory holds

* ``api_conversation_history.json``: the conversation as the model saw it, one JSON document.
  An array of Anthropic messages (``role``, ``content`` as a string or blocks; Roo and newer
  Cline add ``ts``, Cline ``modelInfo`` and ``metrics``), or Roo's envelope
  ``{"version": 2, "messages": [...]}`` of AI SDK messages (``tool-call`` and ``tool-result``
  parts, ``role: "tool"``). Tools are native blocks with ids, or, in the XML protocol, XML in
  the assistant's text (``<read_file><path>a.ts</path></read_file>``) answered by a
  ``[read_file for 'a.ts'] Result:`` text in the next user message;
* ``ui_messages.json``: what the panel showed, a time on every line, and each request's
  tokens (``say: "api_req_started"``);
* ``task_metadata.json`` (models used, the agent's version) and, for Roo Code,
  ``history_item.json`` (the workspace, the parent task of a subtask, its children).

The conversation is the session file and the others are its companions, so a change to any of
them re-reads the task. Times come from the messages' ``ts``; without them (older Cline) from
the request each message belongs to in ``ui_messages.json``. The user's words are the
``<task>``, ``<feedback>``, ``<answer>`` and ``<user_message>`` the harness wraps them in;
``<environment_details>`` (where the working directory is read) is not shown. One module for
the three agents: their formats agree; each is its own parser object and registry entry.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from pathlib import Path

import orjson

from sessions_app.parsers.base import (
    AgentParser,
    Note,
    ParsedMessage,
    ParsedSession,
    ParsedToolCall,
    ParseOptions,
    ParseResult,
    compact_json,
    parse_timestamp,
)
from sessions_app.parsers.chatlog import (
    LABEL_HEADS,
    Builder,
    Issues,
    call_file_path,
    first_line,
    s,
    tool_label,
    usage_fields,
)
from sessions_app.parsers.jsondoc import JsonDocument, read_document
from sessions_app.parsers.jsonl import FileReadError
from sessions_app.parsers.project import project_from_cwd
from sessions_app.parsers.registry import AGENTS, category_of
from sessions_app.parsers.tools import by_category

CONVERSATION = "api_conversation_history.json"
UI_MESSAGES = "ui_messages.json"
TASK_METADATA = "task_metadata.json"
HISTORY_ITEM = "history_item.json"  # Roo Code
TASK_HISTORY = ("state", "taskHistory.json")  # Cline: every task's history item, cwd included
TASKS = "tasks"
# The folder each agent's tasks live under, by the name of the extension (or data dir).
_EXTENSIONS = {"saoudrizwan.claude-dev": "cline", ".cline": "cline",
               "rooveterinaryinc.roo-cline": "roo-code", "kilocode.kilo-code": "kilo"}
SIDECAR_MAX_BYTES = 64 * 1024 * 1024

# The tools of Cline, Roo Code and Kilo Code (the same names in all three where they share a
# tool), with the shared table's names they use, so that XML tool uses can be recognised.
TOOL_CATEGORIES = by_category({
    "Read": ("read_file", "list_files", "list_code_definition_names", "read_command_output"),
    "Edit": ("replace_in_file", "apply_diff", "insert_content", "search_and_replace",
             "search_replace", "edit_file", "apply_patch"),
    "Write": ("write_to_file", "new_rule"),
    "Bash": ("execute_command",),
    "Grep": ("search_files", "codebase_search"),
    "Task": ("new_task",),
    "Tool": ("ask_followup_question", "attempt_completion", "plan_mode_respond",
             "act_mode_respond", "browser_action", "use_mcp_tool", "access_mcp_resource",
             "load_mcp_documentation", "switch_mode", "update_todo_list", "focus_chain",
             "condense", "summarize_task", "report_bug", "fetch_instructions",
             "run_slash_command", "generate_image", "generate_explanation", "web_fetch",
             "web_search"),
})
# Tools that talk to the user: their text is what the user reads, and a call still waiting
# for its answer is the task waiting for the user, not a tool.
SPEECH = {"attempt_completion": "result", "ask_followup_question": "question",
          "plan_mode_respond": "response", "act_mode_respond": "response"}
# Parameters whose value may hold anything, closing tags included: read to their last close.
_LONG_PARAMS = frozenset({"content", "diff", "result", "response", "message", "patch"})
_XML_TOOL_RE = re.compile(
    r"<(" + "|".join(sorted(map(re.escape, TOOL_CATEGORIES), key=len, reverse=True)) + r")>")
_PARAM_RE = re.compile(r"<([a-z_]+)>")
_NESTED_PATH_RE = re.compile(r"<path>\s*(.*?)\s*</path>", re.S)
_THINKING_RE = re.compile(r"<thinking>\s*(.*?)\s*(?:</thinking>|\Z)", re.S)
_ENVIRONMENT_RE = re.compile(r"<environment_details>.*?(?:</environment_details>|\Z)", re.S)
_CWD_RE = re.compile(r"# Current (?:Working|Workspace) Directory \((.+)\) Files")
_MODEL_RE = re.compile(r"<model>([^<\n]{1,200})</model>")
_PROMPT_RE = re.compile(r"<(task|feedback|answer|user_message)>\n?(.*?)\n?</\1>", re.S)
_ANSWER_RE = re.compile(r"<(feedback|answer)>\n?(.*?)\n?</\1>", re.S)
# ``[read_file for 'a.ts'] Result:`` (the description may span lines: new_task's message).
_RESULT_HEAD_RE = re.compile(r"\A\[([a-z_]+)\b")
_RESULT_MARK = "] Result:"
_EXIT_RE = re.compile(r"Exit code: (-?\d{1,10})\b")
# What the harness says in the user's place, and the kind of system row it becomes.
_HARNESS = (("[TASK RESUMPTION]", "resume"), ("[ERROR]", "error"),
            ("<explicit_instructions", "instructions"), ("[Response interrupted", "interrupted"))


def _dict(value: object) -> dict:
    return value if isinstance(value, dict) else {}


def _list(value: object) -> list:
    return value if isinstance(value, list) else []


# --- the companions ---------------------------------------------------------------------------


def _companion(path: Path, result: ParseResult) -> JsonDocument:
    """A companion document, read forgivingly: a missing one is empty, a bad one an issue."""
    try:
        doc = read_document(path, SIDECAR_MAX_BYTES, name=path.name)
    except FileReadError as exc:
        if path.exists() or path.is_symlink():
            result.issues.append(f"{path.name}: not read ({exc})")
        return JsonDocument()
    result.issues.extend(doc.issues)
    return doc


@lru_cache(maxsize=8)
def _task_history(path: Path, _stamp: tuple[int, int]) -> dict[str, str]:
    """Cline's ``state/taskHistory.json``: task id -> its working directory (one read per
    change of the file, whatever the number of tasks asking)."""
    try:
        doc = read_document(path, SIDECAR_MAX_BYTES, name=path.name)
    except FileReadError:
        return {}
    cwds = {}
    for item in _list(doc.value):
        item = _dict(item)
        task_id, cwd = item.get("id"), s(item.get("cwdOnTaskInitialization"))
        if isinstance(task_id, str | int) and not isinstance(task_id, bool) and cwd:
            cwds[str(task_id)] = cwd
    return cwds


def _cline_cwd(root: Path, task_id: str) -> str:
    path = root.joinpath(*TASK_HISTORY)
    try:
        st = path.stat()
    except OSError:
        return ""
    return _task_history(path, (st.st_size, st.st_mtime_ns)).get(task_id, "")


@dataclass
class _Request:
    """One API request as ``ui_messages.json`` shows it."""

    ts: datetime | None
    reply_ts: datetime | None = None  # when the reply began to show
    usage: dict = field(default_factory=dict)


def _requests(ui: object) -> tuple[list[_Request], list[datetime]]:
    """The requests of the panel, in order, and the time of every one of its lines."""
    requests: list[_Request] = []
    stamps: list[datetime] = []
    for line in _list(ui):
        line = _dict(line)
        ts = parse_timestamp(line.get("ts")) if not isinstance(line.get("ts"), bool) else None
        if ts is not None:
            stamps.append(ts)
        say = line.get("say")
        if say == "api_req_started":
            payload = _json_text(line.get("text"))
            usage = {key: payload[source] for key, source in (
                ("input_tokens", "tokensIn"), ("output_tokens", "tokensOut"),
                ("cache_creation_input_tokens", "cacheWrites"),
                ("cache_read_input_tokens", "cacheReads")) if payload.get(source) is not None}
            requests.append(_Request(ts, usage=usage))
        elif requests and requests[-1].reply_ts is None and ts is not None and (
                line.get("type") == "say" and say in ("text", "reasoning", "tool", "command",
                                                       "completion_result")
                or line.get("type") == "ask" and line.get("ask") not in (None, "api_req_failed")):
            requests[-1].reply_ts = ts
    return requests, stamps


def _json_text(value: object) -> dict:
    """A JSON object written as a string (the panel's request lines), or {}."""
    if not isinstance(value, str) or not value.startswith("{"):
        return {}
    try:
        return _dict(orjson.loads(value))
    except orjson.JSONDecodeError:
        return {}


# --- the conversation, one shape for every format ------------------------------------------


@dataclass
class _Block:
    kind: str  # text | thinking | tool_use | tool_result | other
    text: str = ""
    tool_id: str = ""
    name: str = ""
    input: object = None
    status: str = ""  # tool_result: errored / cancelled when the format says so


def _blocks(message: dict, note: Note) -> list[_Block]:
    """A message's content as blocks, whether Anthropic's or the AI SDK's."""
    content = message.get("content")
    if isinstance(content, str):
        return [_Block("text", content)]
    blocks = []
    reasoning = s(message.get("reasoning_content"))  # DeepSeek's interleaved thinking
    if reasoning:
        blocks.append(_Block("thinking", reasoning))
    for part in _list(content):
        part = _dict(part)
        kind = part.get("type")
        if kind == "text":
            blocks.append(_Block("text", s(part.get("text"))))
        elif kind == "thinking":
            blocks.append(_Block("thinking", s(part.get("thinking"))))
        elif kind in ("reasoning", "redacted_thinking") and not reasoning:
            blocks.append(_Block("thinking", s(part.get("text"))))
        elif kind in ("tool_use", "tool-call"):
            tool_id = s(part.get("id")) if kind == "tool_use" else s(part.get("toolCallId"))
            name = s(part.get("name")) if kind == "tool_use" else s(part.get("toolName"))
            if tool_id or name:  # neither: a part cut off as it was written
                blocks.append(_Block("tool_use", tool_id=tool_id, name=name,
                                     input=part.get("input")))
        elif kind == "tool_result":
            text = _result_text(part.get("content"), note)
            status = "errored" if part.get("is_error") is True else ""
            blocks.append(_Block("tool_result", text, tool_id=s(part.get("tool_use_id")),
                                 status=status))
        elif kind == "tool-result":
            text, status = _sdk_output(part.get("output"), note)
            blocks.append(_Block("tool_result", text, tool_id=s(part.get("toolCallId")),
                                 status=status))
    return blocks


def _result_text(content: object, note: Note) -> str:
    if isinstance(content, str):
        return content
    texts = [s(_dict(part).get("text")) for part in _list(content)
             if _dict(part).get("type") == "text"]
    if texts or isinstance(content, list) or content is None:
        return "\n".join(texts)
    return compact_json(content, note, "tool result")


def _sdk_output(output: object, note: Note) -> tuple[str, str]:
    """An AI SDK tool output as text, and the status its type gives."""
    out = _dict(output)
    kind, value = out.get("type"), out.get("value")
    if kind in ("text", "error-text"):
        text = s(value)
    elif kind == "content":
        text = "\n".join(s(_dict(item).get("text")) for item in _list(value)
                         if _dict(item).get("type") == "text")
    elif kind == "execution-denied":
        return s(out.get("reason")) or "The user denied this operation.", "cancelled"
    elif isinstance(output, str):
        text = output
    else:
        text = compact_json(value if kind else output, note, "tool result")
    return text, "errored" if kind in ("error-text", "error-json") else ""


def _conversation(value: object) -> list | None:
    """The messages of the document: a plain array, or Roo's versioned envelope."""
    if isinstance(value, list):
        return value
    envelope = _dict(value)
    if isinstance(envelope.get("messages"), list):
        return envelope["messages"]
    return None


# --- XML tool uses ----------------------------------------------------------------------------


@dataclass
class _XmlCall:
    name: str
    params: dict[str, str]
    start: int
    end: int


def _xml_calls(text: str) -> Iterator[_XmlCall]:
    """The tool uses written as XML in an assistant's text (an unclosed one runs to the end:
    the reply was cut off while the tool was being written)."""
    pos = 0
    while match := _XML_TOOL_RE.search(text, pos):
        name = match.group(1)
        close = text.find(f"</{name}>", match.end())
        body_end = close if close != -1 else len(text)
        end = close + len(name) + 3 if close != -1 else len(text)
        yield _XmlCall(name, _xml_params(text[match.end():body_end]), match.start(), end)
        pos = end


def _xml_params(body: str) -> dict[str, str]:
    params: dict[str, str] = {}
    pos = 0
    while match := _PARAM_RE.search(body, pos):
        name = match.group(1)
        closing = f"</{name}>"
        end = body.rfind(closing) if name in _LONG_PARAMS else body.find(closing, match.end())
        if end < match.end():
            value, pos = body[match.end():], len(body)
        else:
            value, pos = body[match.end():end], end + len(closing)
        value = value.strip("\n") if name in _LONG_PARAMS else value.strip()
        params.setdefault(name, value)
    if "path" not in params and "args" in params:  # Roo's read_file: <args><file><path>
        nested = _NESTED_PATH_RE.search(params["args"])
        if nested:
            params["path"] = nested.group(1)
    return params


# --- one task ---------------------------------------------------------------------------------


def _status(name: str, text: str) -> str:
    """What a result's text says of its call: a refusal, a failure, a command that exited
    non-zero (Roo and Kilo print its exit code before the output)."""
    head = text.lstrip()[:400]
    if head.startswith("The user denied this operation"):
        return "cancelled"
    if head.startswith(("The tool execution failed", "[ERROR]", "Error:",
                        "Missing value for required parameter")):
        return "errored"
    if (head.startswith("{") and '"status"' in head and len(text) < 1_000_000
            and _json_text(text.strip()).get("status") == "error"):  # newer Roo's tool errors
        return "errored"
    if category_of(name) == "Bash":
        header, found, _ = text[:4096].partition("\nOutput:")
        if found:
            if "Command execution was not successful" in header:
                return "errored"
            match = _EXIT_RE.search(header)
            if match and int(match.group(1)) != 0:
                return "errored"
    return ""


def _label(name: str, category: str, data: object) -> str:
    """The label line a call adds to its message (a speech tool's text follows it)."""
    args = data if isinstance(data, dict) else {}
    if name == "new_task":  # Roo's subtask (mode, message); Cline's handoff (context)
        mode = s(args.get("mode"))
        message = first_line(s(args.get("message")) or s(args.get("context")))
        return f"[Task: {message} ({mode})]" if mode else f"[Task: {message}]"
    if name == "use_mcp_tool" and s(args.get("tool_name")):
        server = s(args.get("server_name"))
        return f"[Tool: {server}/{s(args.get('tool_name'))}]" if server \
            else f"[Tool: {s(args.get('tool_name'))}]"
    if category == "Read" and not call_file_path(category, args):
        files = _list(args.get("files"))  # Roo's native read_file: {"files": [{"path"}]}
        path = s(_dict(files[0]).get("path")) if files else ""
        return f"[Read: {path}]" if path else "[Read]"
    return tool_label(name, category, data)


class _Task:
    """Builds one task's session from its conversation and companions."""

    def __init__(self, options: ParseOptions, requests: list[_Request],
                 model_usage: list) -> None:
        self.builder = Builder(options)
        self.requests = requests
        self.model_usage = model_usage
        self.users = self.replies = 0  # API messages seen of each role: their request
        self.cwd = ""
        self.model = ""  # the model the environment details last named (Roo, Kilo)
        self.pending_xml: list[ParsedToolCall] = []  # the last reply's XML calls, unanswered
        self.pending_thinking = ""  # a reasoning item stored apart, for the next reply
        self.new_tasks: list[ParsedToolCall] = []

    # -- user side --

    def user(self, index: int, message: dict, note: Note) -> None:
        ts = self._time(message, self.requests[self.users].ts
                        if self.users < len(self.requests) else None)
        self.users += 1
        prompts: list[str] = []
        harness: list[tuple[str, str]] = []
        xml_result: list = []  # [name, text] of the XML result being read
        results: list[tuple[str, str, str, str]] = []  # (tool id or '', name, text, status)

        def close_xml() -> None:
            if xml_result:
                results.append(("", xml_result[0], xml_result[1].lstrip("\n"), ""))
                xml_result.clear()

        for block in _blocks(message, note):
            if block.kind == "tool_result":
                close_xml()
                results.append((block.tool_id, "", block.text, block.status))
                continue
            if block.kind != "text":
                continue
            text = self._environment(block.text)
            if not text.strip():
                continue
            head = _RESULT_HEAD_RE.match(text)
            mark = text.find(_RESULT_MARK) if head else -1
            subtype = next((kind for prefix, kind in _HARNESS
                            if text.lstrip().startswith(prefix)), "")
            if head and mark != -1 and head.group(1) in TOOL_CATEGORIES:
                close_xml()
                xml_result.extend([head.group(1), text[mark + len(_RESULT_MARK):]])
            elif xml_result and not subtype:  # the result goes on (an <answer>, feedback)
                xml_result[1] += "\n" + text
            else:
                close_xml()
                found = [m.group(2).strip() for m in _PROMPT_RE.finditer(text)]
                if found:
                    prompts.extend(p for p in found if p)
                elif subtype:
                    harness.append((text.strip(), subtype))
                else:
                    prompts.append(text.strip())
        close_xml()
        for tool_id, name, text, status in results:
            call = self._answer(tool_id, name, text, status or None, ts)
            if call is not None and call.category not in ("Read", "Grep", "Glob"):
                prompts.extend(m.group(2).strip() for m in _ANSWER_RE.finditer(text)
                               if m.group(2).strip())
        if prompts:
            self.builder.add("user", "\n\n".join(prompts), ts)
        elif harness:
            self.builder.add("user", "\n\n".join(t for t, _ in harness), ts, is_system=True,
                             source_type="system", source_subtype=harness[0][1])

    def _environment(self, text: str) -> str:
        """*text* without its environment details, from which the working directory and the
        model are read."""
        if "<environment_details>" not in text:
            return text
        for details in _ENVIRONMENT_RE.findall(text):
            cwd = _CWD_RE.search(details)
            if cwd and not self.cwd:
                self.cwd = cwd.group(1).strip()
            model = _MODEL_RE.search(details)
            if model:
                self.model = model.group(1).strip()
        return _ENVIRONMENT_RE.sub("", text)

    def _answer(self, tool_id: str, name: str, text: str, status: str | None,
                ts: datetime | None) -> ParsedToolCall | None:
        """Attach a result to its call: a native one by id, an XML one to the first call of
        the last reply with that name not answered yet."""
        if tool_id:
            call = self.builder.calls.get(tool_id)
        else:
            call = next((c for c in self.pending_xml if c.tool_name == name), None)
            if call is not None:
                self.pending_xml.remove(call)
            elif name == "new_task" and self.new_tasks:
                call = self.new_tasks[-1]  # "[new_task completed] Result:": the subtask's end
        if call is None:
            return None
        status = status if status is not None else _status(call.tool_name, text)
        self.builder.result(call.tool_use_id, text, status=status, timestamp=ts)
        return call

    # -- assistant side --

    def assistant(self, index: int, message: dict, note: Note) -> None:
        request = self.requests[self.replies] if self.replies < len(self.requests) else None
        self.replies += 1
        ts = self._time(message, (request.reply_ts or request.ts) if request else None)
        thinking = [self.pending_thinking] if self.pending_thinking else []
        self.pending_thinking = ""
        parts: list[str] = []
        calls: list[tuple[str, str, object]] = []  # (id, name, input)
        for block in _blocks(message, note):
            if block.kind == "thinking":
                thinking.append(block.text.strip())
            elif block.kind == "tool_use":
                calls.append((block.tool_id, block.name, block.input))
            elif block.kind == "text":
                self._reply_text(block.text, index, thinking, parts, calls)
        model = self._model(message, ts)
        summary = message.get("isSummary") is True
        row = self.builder.add("assistant", "", ts, thinking="\n\n".join(t for t in thinking
                                                                          if t),
                               model=model, is_system=summary,
                               source_type="system" if summary else "assistant",
                               source_subtype="compact_boundary" if summary else "",
                               is_compact_boundary=summary)
        self.pending_xml = []
        content = [row.content] if row.content else []
        for prose in parts:
            content.append(prose)
        for tool_id, name, raw in calls:
            xml = not tool_id
            call_id = tool_id or f"xml-{index}-{len(row.tool_calls)}"
            call = self.builder.call(row, name, raw, call_id, note, label=False)
            if call is None:
                continue
            data = raw if isinstance(raw, dict) else call_input(call.input_json)
            text = _label(call.tool_name, call.category, data)
            speech = s(_dict(data).get(SPEECH.get(call.tool_name, ""))).strip()
            content.append(f"{text}\n\n{speech}" if speech else text)
            if xml:
                self.pending_xml.append(call)
            if call.tool_name == "new_task":
                self.new_tasks.append(call)
        row.content = "\n".join(content)
        self._usage(row, message, request, note)

    def _reply_text(self, text: str, index: int, thinking: list[str], parts: list[str],
                    calls: list[tuple[str, str, object]]) -> None:
        """Split a reply's text into its ``<thinking>``, its prose and its XML tool uses."""
        if "<thinking>" in text:
            thinking.extend(m.group(1).strip() for m in _THINKING_RE.finditer(text))
            text = _THINKING_RE.sub("", text)
        pos = 0
        for xml in _xml_calls(text):
            if text[pos:xml.start].strip():
                parts.append(text[pos:xml.start].strip())
            calls.append(("", xml.name, xml.params))
            pos = xml.end
        if text[pos:].strip():
            parts.append(text[pos:].strip())

    def _model(self, message: dict, ts: datetime | None) -> str:
        info = _dict(message.get("modelInfo"))
        model = s(info.get("modelId")) or s(info.get("id"))
        if model:
            return model
        if self.model:
            return self.model
        chosen = ""
        for entry in self.model_usage:  # task_metadata's model_usage, oldest first
            entry = _dict(entry)
            at = parse_timestamp(entry.get("ts")) if not isinstance(entry.get("ts"),
                                                                    bool) else None
            if s(entry.get("model_id")) and (ts is None or at is None or at <= ts or not chosen):
                chosen = s(entry.get("model_id"))
        return chosen

    def _usage(self, row: ParsedMessage, message: dict, request: _Request | None,
               note: Note) -> None:
        tokens = _dict(_dict(message.get("metrics")).get("tokens"))  # newer Cline
        if tokens:
            usage_fields(row, {"input_tokens": tokens.get("prompt"),
                               "output_tokens": tokens.get("completion"),
                               "cache_read_input_tokens": tokens.get("cached")},
                         note, "metrics.tokens", input_includes_cache=True)
        elif request is not None and request.usage:
            usage_fields(row, request.usage, note, "api_req_started")

    def _time(self, message: dict, fallback: datetime | None) -> datetime | None:
        ts = message.get("ts")
        parsed = parse_timestamp(ts) if not isinstance(ts, bool) else None
        return parsed or fallback

    def reasoning_item(self, message: dict) -> None:
        """A reasoning item stored on its own (OpenAI's): its summary is the next reply's."""
        summary = "\n\n".join(s(_dict(part).get("text"))
                                for part in _list(message.get("summary")))
        if summary.strip():
            self.pending_thinking = summary.strip()


def call_input(input_json: str) -> object:
    try:
        return orjson.loads(input_json) if input_json[:1] == "{" else None
    except orjson.JSONDecodeError:
        return None


def _termination(messages: list[ParsedMessage], truncated: bool) -> str:
    if truncated:
        return "truncated"
    last = messages[-1]
    if last.role == "user" and not last.is_system:
        return "awaiting_assistant"
    if any(c.result_content_length is None and c.tool_name not in SPEECH
           for c in last.tool_calls):
        return "tool_call_pending"
    return "awaiting_user"


def _parse(agent: str, path: Path, root: Path, options: ParseOptions) -> ParseResult:
    doc = read_document(path, options.max_line_bytes)  # raises FileReadError when unreadable
    result = ParseResult(path=path, is_truncated=doc.truncated, issues=list(doc.issues),
                         sha256=doc.sha256, size=doc.size)
    messages = _conversation(doc.value)
    if messages is None:
        if doc.value is not None:
            result.issues.append(f"not a conversation (a JSON {type(doc.value).__name__}),"
                                 " not read")
        return result
    task_dir = path.parent
    task_id = task_dir.name
    issues = Issues()
    ui = _companion(task_dir / UI_MESSAGES, result)
    metadata = _dict(_companion(task_dir / TASK_METADATA, result).value)
    history = _dict(_companion(task_dir / HISTORY_ITEM, result).value)
    requests, stamps = _requests(ui.value)
    task = _Task(options, requests, _list(metadata.get("model_usage")))
    for index, message in enumerate(messages):
        if not isinstance(message, dict):
            result.malformed_lines += 1
            issues.add(f"message {index}: not an object, skipped")
            continue
        result.records += 1
        note = issues.note(f"message {index}")
        role = message.get("role")
        if role in ("user", "tool"):
            task.user(index, message, note)
        elif role == "assistant":
            task.assistant(index, message, note)
        elif message.get("type") == "reasoning":
            task.reasoning_item(message)
    result.issues.extend(issues.lines)
    parsed = task.builder.finish()
    if not parsed:
        return result
    prefix = AGENTS[agent].id_prefix
    parent = s(history.get("parentTaskId"))
    children = [c for c in _list(history.get("childIds")) if isinstance(c, str) and c]
    spawned = [c for c in task.new_tasks
               if not c.result_events or c.result_events[-1].status not in ("errored",
                                                                            "cancelled")]
    for call, child in zip(spawned, children, strict=False):
        call.subagent_session_id = prefix + child
    cwd = s(history.get("workspace")) or (_cline_cwd(root, task_id) if agent == "cline"
                                          else "") or task.cwd
    versions = [s(_dict(entry).get("cline_version"))
                for entry in _list(metadata.get("environment_history"))]
    times = [m.timestamp for m in parsed if m.timestamp] + stamps
    session = ParsedSession(
        id=prefix + task_id,
        agent=agent,
        project=project_from_cwd(cwd) if cwd else "unknown",
        cwd=cwd,
        started_at=min(times, default=None),
        ended_at=max(times, default=None),
        parent_session_id=prefix + parent if parent else None,
        relationship_type="subagent" if parent else "",
        source_session_id=task_id,
        source_version=next((v for v in reversed(versions) if v), ""),
        messages=parsed,
    )
    session.termination_status = _termination(parsed, result.is_truncated)
    result.sessions = [session]
    return result


class ClineTaskParser:
    """The parser of one agent of the family (they differ only in their name)."""

    version = 1
    tool_categories = TOOL_CATEGORIES
    label_heads = LABEL_HEADS

    def __init__(self, agent: str) -> None:
        self.agent = agent

    def matches(self, rel_parts: tuple[str, ...]) -> bool:
        """``tasks/<task id>/api_conversation_history.json``."""
        return len(rel_parts) == 3 and rel_parts[0] == TASKS and rel_parts[2] == CONVERSATION

    def companion_paths(self, path: Path) -> tuple[Path, ...]:
        """The task's panel transcript, metadata and history item."""
        return tuple(path.with_name(name) for name in (UI_MESSAGES, TASK_METADATA, HISTORY_ITEM))

    def sniff(self, path: Path) -> bool:
        """A conversation file beside a ``ui_messages.json``, under this agent's extension
        folder when its path names one; else Roo Code's when it has a history item or the
        versioned envelope, Kilo Code's when its task is named by a UUID as Roo's are
        (Cline names a task by its epoch milliseconds), Cline's otherwise. An older Roo Code
        task, without its history item, reads as Kilo's: nothing else tells them apart."""
        if path.name != CONVERSATION or not path.with_name(UI_MESSAGES).is_file():
            return False
        with path.open("rb") as fh:
            head = fh.read(64 * 1024).lstrip()
        if not (head.startswith((b"[", b"{")) and b'"role"' in head):
            return False
        owner = next((_EXTENSIONS[p.name] for p in path.parents if p.name in _EXTENSIONS), "")
        if not owner:
            roo = path.with_name(HISTORY_ITEM).is_file() or head.startswith(b"{")
            owner = "roo-code" if roo else "cline" if path.parent.name.isdigit() else "kilo"
        return owner == self.agent

    def root_of(self, path: Path) -> Path:
        """The folder holding ``tasks/``."""
        return path.parents[2] if len(path.parents) > 2 else path.parent

    def parse(self, path: Path, root: Path, options: ParseOptions | None = None) -> ParseResult:
        return _parse(self.agent, path, root, options or ParseOptions())


cline: AgentParser = ClineTaskParser("cline")
roo_code: AgentParser = ClineTaskParser("roo-code")
kilo: AgentParser = ClineTaskParser("kilo")
