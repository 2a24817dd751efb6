"""Files written whole or not at all (eng/com/safe_io.py atomic_write, fsynced) and buffer
writes that never run past their allocation: each test fails when its guard is taken away."""

import errno
import os
import stat

import numpy as np
import pytest

from eng.com import safe_io
from eng.extras import snapshots
from eng.vk.buf import VkBuffer
from eng.vk.vma import ffi


def test_atomic_write_syncs_the_file_before_the_rename_and_the_folder_after(tmp_path, monkeypatch):
    target = tmp_path / "out.bin"
    target.write_bytes(b"old")
    synced = []
    real_fsync = os.fsync

    def fsync(fd):
        mode = os.fstat(fd).st_mode
        synced.append(("folder" if stat.S_ISDIR(mode) else "file", target.read_bytes()))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    safe_io.write_bytes_atomic(target, b"new")
    assert synced == [("file", b"old"), ("folder", b"new")]


class _Vma:
    def stats_json(self) -> str:
        return '{"Total": {}}'


def _failing_fsync(fd):
    raise OSError(errno.EIO, "Input/output error")


@pytest.mark.parametrize("what", ["report", "screenshot"])
def test_a_failed_write_leaves_the_old_file_whole(what, tmp_path, monkeypatch):
    """VMA's report and map, F12 and M screenshots go through snapshots.write_atomic: a write
    that fails before it is complete (here its fsync) must leave the old file as it was."""
    target = tmp_path / f"{what}.out"
    target.write_bytes(b"the user's file")
    monkeypatch.setattr(os, "fsync", _failing_fsync)
    with pytest.raises(snapshots.SnapshotError, match="cannot write it .Input/output error"):
        if what == "report":
            snapshots.save_vma_files(_Vma(), report=target)  # type: ignore[arg-type]
        else:
            snapshots.save_screenshot(np.zeros((4, 4, 4), np.uint8), target)
    assert target.read_bytes() == b"the user's file"
    assert sorted(p.name for p in tmp_path.iterdir()) == [target.name]


@pytest.mark.parametrize(("offset", "size"), [(13, 4), (12, 8), (0, 17), (16, 1), (-1, 1)])
def test_a_buffer_write_past_the_allocation_is_refused_before_any_byte_moves(offset, size):
    memory = ffi.new("char[32]", b"\x55" * 32)  # the allocation (16 bytes) and what follows
    buffer = VkBuffer(16, None, None, memory)
    with pytest.raises(ValueError, match="overflow a 16-byte buffer"):
        buffer.write(None, bytes(size), offset)  # type: ignore[arg-type]
    assert bytes(ffi.buffer(memory, 32)) == b"\x55" * 32
