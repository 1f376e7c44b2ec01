"""A transcript written to attack the page that shows it."""

from __future__ import annotations

from pathlib import Path

import orjson

HOSTILE_ID = "aaaaaaaa-0000-4000-8000-00000000bad0"
SCRIPT = "<script>window.__pwned = 1; alert('xss')</script>"
ATTACKS = (
    f"Look: {SCRIPT} and [click me](javascript:window.__pwned=2) "
    "and <img src=x onerror=\"window.__pwned=3\"> and "
    "[data](data:text/html,<script>window.__pwned=4</script>) "
    "and <a href=\"javascript:window.__pwned=5\">raw link</a>"
)


def write_hostile(claude_root: Path) -> Path:
    path = claude_root / "-home-dev-projects-evil" / f"{HOSTILE_ID}.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [
        {"type": "user", "timestamp": "2026-03-05T10:00:00Z", "cwd": "/home/dev/projects/evil",
         "message": {"role": "user", "content": ATTACKS}},
        {"type": "assistant", "timestamp": "2026-03-05T10:00:05Z", "message": {
            "role": "assistant", "id": "m1", "content": [
                {"type": "thinking", "thinking": SCRIPT},
                {"type": "text", "text": ATTACKS},
                {"type": "tool_use", "id": "t1", "name": "Bash",
                 "input": {"command": SCRIPT, "description": "<b onmouseover=alert(1)>x</b>"}},
            ]}},
        {"type": "user", "timestamp": "2026-03-05T10:00:06Z", "message": {"role": "user",
         "content": [{"type": "tool_result", "tool_use_id": "t1", "content": SCRIPT}]}},
        {"type": "user", "timestamp": "2026-03-05T10:01:00Z",
         "message": {"role": "user", "content": "second prompt, so it is not one-shot"}},
        {"type": "assistant", "timestamp": "2026-03-05T10:01:05Z", "message": {
            "role": "assistant", "id": "m2", "content": [{"type": "text", "text": "done"}]}},
    ]
    path.write_bytes(b"".join(orjson.dumps(line) + b"\n" for line in lines))
    return path
