"""``write_atomically``: a reader sees the old content or the new, never a partial file."""

from __future__ import annotations

import pytest

from agentsview.files import write_atomically


def test_the_file_holds_the_new_data_and_nothing_is_left_beside_it(tmp_path):
    path = tmp_path / "server.8080.json"
    path.write_bytes(b"old")
    write_atomically(path, b'{"pid": 1}')
    assert path.read_bytes() == b'{"pid": 1}'
    assert [p.name for p in tmp_path.iterdir()] == ["server.8080.json"]


def test_a_failed_write_keeps_the_old_content_and_leaves_no_temporary_file(tmp_path):
    path = tmp_path / "sync-state.json"
    path.write_bytes(b"old")
    with pytest.raises(TypeError):
        write_atomically(path, "not bytes")  # type: ignore[arg-type]
    assert path.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["sync-state.json"]
