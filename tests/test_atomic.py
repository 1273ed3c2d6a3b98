"""A model file is replaced whole: readers see the old file or the new one."""

from __future__ import annotations

import pytest

from pipeline.atomic import write_atomically


def test_the_new_content_replaces_the_old_and_nothing_is_left_beside_it(tmp_path):
    target = tmp_path / "model.npz"
    target.write_bytes(b"old")
    write_atomically(target, b"new content")
    assert target.read_bytes() == b"new content"
    assert [p.name for p in tmp_path.iterdir()] == ["model.npz"]


def test_a_failed_replace_leaves_the_target_as_it_was_and_no_partial_file(tmp_path):
    target = tmp_path / "model.npz"
    target.mkdir()  # renaming a file over a directory fails
    (target / "inside").write_bytes(b"kept")
    with pytest.raises(OSError):
        write_atomically(target, b"new content")
    assert (target / "inside").read_bytes() == b"kept"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.npz"]
