"""check_writable: outputs checked before any work, leaving nothing behind and touching no one else's folder."""
from __future__ import annotations

from pathlib import Path

import pytest

from spkssl.utils.io import OutputError, check_writable


def test_the_check_removes_only_the_empty_folders_it_made(tmp_path: Path) -> None:
    (tmp_path / "split2" / "1").mkdir(parents=True)  # a parallel job's part, being written
    (tmp_path / "split2" / "1" / "emb.npz").write_bytes(b"")
    check_writable(tmp_path / "split2" / "2", folder=True)
    assert (tmp_path / "split2" / "1" / "emb.npz").is_file() and not (tmp_path / "split2" / "2").exists()
    check_writable(tmp_path / "new" / "deep" / "out", folder=True)
    assert not (tmp_path / "new").exists()
    check_writable(tmp_path / "file.txt")
    assert list(tmp_path.iterdir()) == [tmp_path / "split2"]


def test_a_parent_that_is_a_file_or_an_unwritable_place_is_named(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("")
    with pytest.raises(OutputError, match="f is a file, not a folder"):
        check_writable(tmp_path / "f" / "out.txt")
    with pytest.raises(OutputError, match="cannot write /proc/spkssl-test"):
        check_writable("/proc/spkssl-test/out", folder=True)
