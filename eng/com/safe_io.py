"""Reading and writing files safely (not in the book, whose files are trusted; its
utils.zig `loadFile` reads a whole file with no limit).

- `read_file` opens only regular files and reads at most a limit per kind of file, so a FIFO
  cannot hang a reader and `/dev/zero` or a huge sparse file cannot exhaust memory;
- `parse_json` / `parse_toml` turn parse failures, nesting deeper than `MAX_DEPTH` and numbers
  that do not fit (NaN, infinities, 400-digit integers, floats beyond float32) into one line
  naming the key;
- `atomic_write` writes through a temporary name and `os.replace`, so an interrupted or failed
  write leaves the old file as it was; the file is fsynced before the rename and its folder
  after (as git and SQLite do), so a power loss leaves the old file or the new, never an
  empty one (it writes whole files: never use it on the per-frame path);
- `make_temp_dir` / `remove_stale_temps` name temporary folders by their owner's pid, so that a
  later run can clean up after one that was killed; `remove_stale_writes` does the same for
  the temporary files of `atomic_write` that a killed run left.
"""

import json
import logging
import math
import os
import re
import shutil
import stat
import sys
import tempfile
import time
import tomllib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

log = logging.getLogger("eng")

MiB = 2**20
# Per kind of file, the most a reader takes in (far above what real files hold: Sponza's
# model JSON is 40 KiB, its largest texture 1.6 MiB, its .vtx 5.8 MiB)
CONFIG_LIMIT = 1 * MiB  # cfg.toml: a handful of settings
JSON_LIMIT = 64 * MiB  # scene, model and material JSON
IMAGE_LIMIT = 512 * MiB  # one texture file (PNG, JPEG, ...)
GEOMETRY_LIMIT = 2048 * MiB  # one .vtx / .idx file
MODEL_INPUT_LIMIT = 2048 * MiB  # a glTF / GLB / OBJ input of the converter, or a file it names
SHADER_LIMIT = 8 * MiB  # one GLSL or SPIR-V file (the project's are 2 KiB)

MAX_DEPTH = 64  # nesting of JSON/TOML arrays and objects (the book's files use 4)
MAX_INT = 2**53  # the largest integer a float holds exactly: sizes, offsets, counts
MAX_FLOAT = 3.4028234663852886e38  # float32's largest: every number ends up in a float32
_NONBLOCKING = sum(getattr(os, f, 0) for f in ("O_NONBLOCK", "O_NOCTTY", "O_CLOEXEC", "O_BINARY"))
_UMASK = os.umask(0o022)
os.umask(_UMASK)

_KINDS = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


class FileProblemError(ValueError):
    """Why a file cannot be used, in one line without the file's name (readers add it)."""


def _size_text(n: int) -> str:
    return f"{n // MiB} MiB" if n >= MiB else f"{n} bytes"


def read_file(path: Path | str, limit: int, kind: str) -> bytes:
    """The bytes of the regular file `path`, at most `limit` of them (`kind` names the kind
    of file in the message). Opens without blocking, so a FIFO is refused, not waited on."""
    flags = os.O_RDONLY | _NONBLOCKING  # a FIFO opens at once instead of waiting for a writer
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise FileProblemError("file not found") from None
    except OSError as exc:  # ENAMETOOLONG, EACCES, ELOOP, ...
        raise FileProblemError(f"cannot read it ({exc.strerror or exc})") from None
    except ValueError:  # a name from a file holding "\u0000"
        raise FileProblemError("its name holds a NUL byte, which no file name can") from None
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        what = next((name for test, name in _KINDS if test(mode)), "not a file")
        raise FileProblemError(f"is {what}, not a regular file")
    with os.fdopen(fd, "rb", buffering=0) as f:
        too_big = FileProblemError(f"is larger than {_size_text(limit)}, the limit for {kind}")
        size = os.fstat(fd).st_size
        if size > limit:
            raise too_big
        try:  # one byte more than the size: a buffer as large as the file, not the limit
            data = f.read(size + 1)
        except OSError as exc:
            raise FileProblemError(f"cannot read it ({exc.strerror or exc})") from None
        if len(data) != size:  # it grew or shrank while it was read
            raise FileProblemError("changed while it was being read")
        return data


def check_numbers(doc: Any) -> None:
    """Every number in a parsed JSON/TOML document must fit: finite, within float32's range
    (integers within 2**53), nested at most MAX_DEPTH deep. FileProblemError names the key."""
    pending: list[tuple[str, Any, int]] = [("", doc, 0)]
    while pending:  # a loop, not recursion: the document may be deep
        where, node, depth = pending.pop()
        if depth > MAX_DEPTH:
            raise FileProblemError(f"nested more than {MAX_DEPTH} levels deep (at '{where}')")
        if isinstance(node, dict):
            items = [(f"{where}.{k}" if where else str(k), v) for k, v in node.items()]
        elif isinstance(node, list):
            items = [(f"{where}[{i}]", v) for i, v in enumerate(node)]
        else:
            _check_number(where, node)
            continue
        pending.extend((key, value, depth + 1) for key, value in reversed(items))


def _check_number(where: str, value: Any) -> None:
    if isinstance(value, bool):
        return
    if isinstance(value, int) and not -MAX_INT <= value <= MAX_INT:
        digits = len(str(abs(value)))
        raise FileProblemError(f"'{where}' is an integer too large to use ({digits} digits)")
    if isinstance(value, float) and not math.isfinite(value):
        raise FileProblemError(f"'{where}' is {value}, not a finite number")
    if isinstance(value, float) and abs(value) > MAX_FLOAT:
        raise FileProblemError(f"'{where}' is {value:g}, beyond the range of a 32-bit float")


def _parsed(parse: Callable[[Any], Any], text: str | bytes, invalid: str) -> Any:
    """Runs a (recursive) parser, turning the failures of hostile input into FileProblemError."""
    try:
        doc = parse(text)
    except RecursionError:
        raise FileProblemError(f"nested more than {MAX_DEPTH} levels deep") from None
    except (json.JSONDecodeError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise FileProblemError(f"{invalid} ({exc})") from None
    except ValueError:  # Python refuses integers of more than 4300 digits
        raise FileProblemError("has an integer with thousands of digits") from None
    check_numbers(doc)
    return doc


def parse_json(data: bytes) -> Any:
    """A JSON document, checked by `check_numbers`; FileProblemError if it is not usable."""
    return _parsed(json.loads, data, "malformed JSON")


def parse_toml(data: bytes) -> dict[str, Any]:
    """A TOML document (UTF-8), checked by `check_numbers`; FileProblemError if it is not usable."""
    try:
        text = data.decode("utf-8-sig")  # a BOM (Windows editors write one) is not a statement
    except UnicodeDecodeError as exc:
        raise FileProblemError(f"not UTF-8 text ({exc})") from None
    return _parsed(tomllib.loads, text, "not valid TOML")


@contextmanager
def atomic_write(path: Path | str) -> Iterator[IO[bytes]]:
    """A binary file to write that replaces `path` only once it is complete and closed; on
    any failure (Ctrl-C included) the temporary file goes and `path` stays as it was."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        if hasattr(os, "fchmod"):  # POSIX: what open() would give, not mkstemp's 0600
            os.fchmod(fd, 0o666 & ~_UMASK)
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())  # the data is on disk before the name points at it
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _sync_folder(path.parent)


def _sync_folder(folder: Path) -> None:
    """fsyncs a folder, so that a rename in it survives a power loss (as git and SQLite do);
    Windows cannot open a folder: nothing to do there."""
    if sys.platform == "win32":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_bytes_atomic(path: Path | str, data: bytes) -> None:
    """`path.write_bytes(data)` through `atomic_write`."""
    with atomic_write(path) as f:
        f.write(data)


STALE_AFTER_S = 3600.0
"""A temporary folder whose owner cannot be told apart (another machine) is stale after this."""


def make_temp_dir(parent: Path, tag: str) -> Path:
    """A new, unique folder `parent/.<tag>-<pid>-<random>` (hidden, owned by this process)."""
    return Path(tempfile.mkdtemp(prefix=f".{tag}-{os.getpid()}-", dir=parent))


def remove_stale_temps(parent: Path, tag: str) -> list[Path]:
    """Removes the `make_temp_dir(parent, tag)` folders whose process is gone or that are
    older than STALE_AFTER_S (a run killed by SIGTERM/SIGKILL leaves them); returns them."""
    removed = []
    for entry in parent.glob(f".{tag}-*-*"):
        pid_text = entry.name[len(tag) + 2 :].split("-", 1)[0]
        try:
            age = time.time() - entry.lstat().st_mtime
        except OSError as exc:  # removed meanwhile
            log.debug("%s", exc)
            continue
        if not pid_text.isdigit() or int(pid_text) == os.getpid():
            continue
        if age > STALE_AFTER_S or not process_alive(int(pid_text)):
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry)
    return removed


def process_alive(pid: int) -> bool:
    """Whether process `pid` still runs (on Windows, always assumed)."""
    if sys.platform == "win32":  # os.kill would end the process there: let the age decide
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    return True


WRITE_IDLE_S = 600.0
"""A temporary file of `atomic_write` not written for this long is a killed run's leftover
(a file being written grows, and its time changes, as it is written)."""


def remove_stale_writes(folder: Path, name: str, idle_s: float = WRITE_IDLE_S) -> list[Path]:
    """Removes the temporary files that `atomic_write` made for the files `name` (a regular
    expression of names) in `folder` and that nothing has written for `idle_s` seconds: what
    a run killed by SIGKILL or a crash left beside the user's files. Returns them."""
    removed: list[Path] = []
    tmp_name = re.compile(rf"\.(?:{name})\.[a-z0-9_]{{8}}\.tmp")  # mkstemp's 8 characters
    try:
        entries = [e for e in folder.iterdir() if tmp_name.fullmatch(e.name)]
    except OSError as exc:  # the folder's own problems are reported by its writer
        log.debug("%s", exc)
        return removed
    for entry in entries:
        try:
            info = entry.lstat()
            if stat.S_ISREG(info.st_mode) and time.time() - info.st_mtime > idle_s:
                entry.unlink()
                removed.append(entry)
                log.info("removed %s, left by a run that was stopped", entry)
        except OSError as exc:  # removed meanwhile, or not ours to remove
            log.debug("%s", exc)
    return removed
