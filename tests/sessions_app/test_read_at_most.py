"""``jsonl.read_at_most``: what ``fh.read(limit)`` gives, without its buffer of *limit*."""

from __future__ import annotations

import pytest

from sessions_app.parsers import jsonl
from sessions_app.parsers.jsonl import read_at_most


@pytest.mark.parametrize("size", [0, 1, 99, 100, 101, 5000])
def test_the_same_bytes_as_a_plain_bounded_read(tmp_path, size):
    path = tmp_path / "f"
    path.write_bytes(bytes(range(256)) * (size // 256) + bytes(size % 256))
    with path.open("rb") as fh:
        expected = fh.read(101)
    with path.open("rb") as fh:
        assert read_at_most(fh, 101) == expected


@pytest.mark.parametrize(("limit", "expected"), [(40, 40), (1000, 60)])
def test_a_file_that_grew_after_its_size_was_taken_is_read_on_up_to_the_limit(
        tmp_path, monkeypatch, limit, expected):
    path = tmp_path / "f"
    path.write_bytes(b"a" * 10 + b"b" * 50)
    real_fstat = jsonl.os.fstat

    class Stale:  # the size the file had when read_at_most looked: 10 bytes
        def __init__(self, fd):
            self.st_size = min(real_fstat(fd).st_size, 10)

    monkeypatch.setattr(jsonl.os, "fstat", Stale)
    with path.open("rb") as fh:
        data = read_at_most(fh, limit)
    assert data == (b"a" * 10 + b"b" * 50)[:expected]
