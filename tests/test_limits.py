"""Process limits the driver dies under (eng/limits.py) and mappings that failed
(eng/vk/vma.py mapped_pointer): one line and status 1, never SIGBUS, SIGABRT or SIGSEGV."""

import subprocess
import sys

import pytest

from eng import limits
from eng.vk import vma

from .helpers import ROOT


def run_game_under(ulimit: str) -> subprocess.CompletedProcess:
    command = f"ulimit {ulimit}; exec {sys.executable} -m game --headless --frames 2"
    return subprocess.run(
        ["bash", "-c", command], capture_output=True, text=True, cwd=ROOT, timeout=120
    )


@pytest.mark.parametrize(
    ("ulimit", "named"),
    [("-f 1000", "file size limit (ulimit -f) is 1000 KiB"), ("-v 400000", "(ulimit -v)")],
)
def test_a_limit_the_driver_dies_under_is_one_line(ulimit, named):
    """Unchecked, lavapipe dies of SIGBUS under `ulimit -f 1000` and of SIGABRT or SIGSEGV
    under `ulimit -v 400000`..`1000000`."""
    result = run_game_under(ulimit)
    assert result.returncode == 1, result.stderr[-2000:]
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and named in lines[0], lines
    assert "raise it (ulimit" in lines[0], lines


def test_the_minimums_run():
    kib = limits.MIN_ADDRESS_SPACE // 1024, limits.MIN_FILE_SIZE // 1024
    result = run_game_under(f"-v {kib[0]}; ulimit -f {kib[1]}")
    assert result.returncode == 0, result.stderr[-2000:]


@pytest.mark.parametrize("address", [0, 2**64 - 1])
def test_a_mapping_that_failed_is_an_error_not_a_pointer(address):
    """lavapipe out of address space returns (void*)-1 as a mapped pointer (seen with Sponza
    under `ulimit -v 1600000`): writing through it was a segfault."""
    with pytest.raises(vma.VmaError, match="cannot map the memory of staging: the driver"):
        vma.mapped_pointer(vma.ffi.cast("void*", address), "staging")
    good = vma.ffi.new("char[4]")
    assert vma.mapped_pointer(good, "staging") == good
