"""The book's chapter-10 models (Sponza and the cube), fetched on demand: `python -m
game.book_data` (what `make book-data` runs in a checkout).

    python -m game.book_data            # download into the user's data folder, verified
    python -m game.book_data --where    # print where the book's models are found

The files are those of the zvk repository at a pinned commit, in the book's converted format
(`.json`, `-mat.json`, `.vtx`, `.idx` and textures). `book_data.json` beside this module lists
each one with its size and SHA-256; nothing that fails the check is ever kept under its real
name. Environment:
- `ZVK_BOOK_RES`: a local copy (a zvk clone's `booksamples/chapter-10/res`): used as it is.
- `ZVK_BOOK_URL`: another base URL to download from (the folder that holds `models/`).
- `ZVK_BOOK_DEADLINE_S`: the most seconds the whole download may take (default 3600).
- `ZVK_BOOK_MIN_RATE`: the slowest download allowed, in bytes per second averaged over each
  `ZVK_BOOK_RATE_WINDOW_S` seconds (defaults 1024 and 30): a server that trickles a byte at a
  time is given up on, not waited on for ever (the 30 s timeout is per read).

A download ended by Ctrl-C, SIGTERM, SIGHUP or SIGQUIT keeps no partial file and exits with
128 + the signal's number; the `.part` files of a run killed outright (SIGKILL, power loss) are
removed by the next run once their process is gone.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import hashlib
import http.client
import json
import logging
import os
import signal
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import platformdirs
from tqdm import tqdm

from eng.com.safe_io import STALE_AFTER_S, process_alive

log = logging.getLogger("game.book_data")
MANIFEST = Path(__file__).with_name("book_data.json")
COMMIT = "090b39454f7f436fb3afae03ca6e3d9536ce2957"
DEFAULT_URL = (
    f"https://raw.githubusercontent.com/lwjglgamedev/zvk/{COMMIT}/booksamples/chapter-10/res"
)
# `--scene NAME` for the book's models
MODELS = {"sponza": "models/sponza/Sponza.json", "cube": "models/cube/cube.json"}
# the glTF the book converted its cube from: the converter's test compares against the book's
CUBE_SOURCE = ("models/cube/cube.gltf", "models/cube/cube.bin", "models/cube/cube_met_rough.png")
TIMEOUT_S = 30
CHUNK = 1 << 16
LIMITS = {  # environment variable: (default, what it is)
    "ZVK_BOOK_DEADLINE_S": (3600.0, "seconds"),
    "ZVK_BOOK_MIN_RATE": (1024.0, "bytes per second"),
    "ZVK_BOOK_RATE_WINDOW_S": (30.0, "seconds"),
}
STOP_SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGTERM", "SIGHUP", "SIGQUIT") if hasattr(signal, name)
)


class BookDataError(RuntimeError):
    """The book's data is missing, cannot be fetched or fails its checksum (one line)."""


class StoppedBySignal(BaseException):
    """SIGTERM, SIGHUP or SIGQUIT arrived during a download (exit status 128 + `signum`)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


@dataclass(frozen=True, slots=True)
class FileEntry:
    path: str  # relative to the res folder, '/'-separated
    size: int
    sha256: str


def data_dir() -> Path:
    """Where `python -m game.book_data` puts the book's res folder (the user's data folder)."""
    return Path(platformdirs.user_data_dir("zvk-py", appauthor=False)) / "book-res"


def load_manifest(path: Path = MANIFEST) -> list[FileEntry]:
    with open(path, encoding="utf-8") as f:
        doc = json.load(f)
    return [FileEntry(e["path"], e["size"], e["sha256"]) for e in doc["files"]]


def make_manifest(res: Path, paths: Iterable[str]) -> dict:
    """The manifest of `paths` (relative to `res`), as book_data.json holds it."""
    files = []
    for rel in sorted(paths):
        data = (res / rel).read_bytes()
        files.append({"path": rel, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()})
    return {"commit": COMMIT, "files": files}


def book_files(res: Path) -> list[str]:
    """The files chapter 10 needs under a res folder: each model and what its materials name,
    and the cube's glTF source."""
    paths = list(CUBE_SOURCE)
    for model_rel in MODELS.values():
        model = res / model_rel
        stem = model.stem
        for name in (f"{stem}.json", f"{stem}-mat.json", f"{stem}.vtx", f"{stem}.idx"):
            paths.append(f"{Path(model_rel).parent.as_posix()}/{name}")
        materials = json.loads((model.parent / f"{stem}-mat.json").read_text(encoding="utf-8"))
        for item in materials["items"]:
            texture = Path(item["texturePath"].replace("\\", "/")).name
            if texture:
                paths.append(f"{Path(model_rel).parent.as_posix()}/{texture}")
    return sorted(set(paths))


def _sha256_of(path: Path) -> str | None:
    try:
        with open(path, "rb") as f:
            return hashlib.file_digest(f, "sha256").hexdigest()
    except OSError:
        return None


def is_complete(res: Path, entries: list[FileEntry]) -> bool:
    """Whether every listed file is there with its size: a cheap look, no checksum."""
    for entry in entries:
        path = res / entry.path
        if not path.is_file() or path.stat().st_size != entry.size:
            return False
    return True


def find_res(entries: list[FileEntry] | None = None) -> Path | None:
    """The book's res folder: `ZVK_BOOK_RES`, else the data folder if it is complete."""
    local = os.environ.get("ZVK_BOOK_RES")
    if local:
        return Path(local)
    res = data_dir()
    return res if is_complete(res, entries or load_manifest()) else None


def model_path(name: str) -> Path:
    """The `.json` of the book's model `name` ('sponza' or 'cube'), wherever it is."""
    res = find_res()
    rel = MODELS[name]
    if res is None or not (res / rel).is_file():
        where = os.environ.get("ZVK_BOOK_RES") or data_dir()
        raise BookDataError(
            f"the book's {name} model is not in {where}: run `python -m game.book_data` to "
            "download it"
        )
    return res / rel


def _limit(name: str) -> float:
    default, unit = LIMITS[name]
    text = os.environ.get(name)
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value < float("inf"):
        raise BookDataError(f"{name}={text!r}: expected a positive number of {unit}")
    return value


class _Pace:
    """The overall deadline and the minimum rate of one `download`."""

    def __init__(self) -> None:
        self.deadline_s = _limit("ZVK_BOOK_DEADLINE_S")
        self.min_rate = _limit("ZVK_BOOK_MIN_RATE")
        self.window_s = _limit("ZVK_BOOK_RATE_WINDOW_S")
        self.start = self.window_start = time.monotonic()
        self.window_bytes = 0

    def timeout(self) -> float:
        """The timeout of one read: never past the deadline."""
        return max(0.01, min(TIMEOUT_S, self.start + self.deadline_s - time.monotonic()))

    def check_deadline(self, url: str) -> None:
        if time.monotonic() - self.start >= self.deadline_s:
            raise BookDataError(
                f"cannot download {url}: not done after {self.deadline_s:g} s "
                "(ZVK_BOOK_DEADLINE_S); nothing incomplete was kept"
            )

    def check(self, url: str, n: int) -> None:
        self.check_deadline(url)
        now = time.monotonic()
        self.window_bytes += n
        if now - self.window_start >= self.window_s:
            rate = self.window_bytes / (now - self.window_start)
            if rate < self.min_rate:
                raise BookDataError(
                    f"cannot download {url}: {rate:.0f} bytes/s, slower than "
                    f"{self.min_rate:g} (ZVK_BOOK_MIN_RATE); nothing incomplete was kept"
                )
            self.window_start, self.window_bytes = now, 0


def _io_error(what: str, path: Path, exc: OSError) -> BookDataError:
    if exc.errno == errno.ENOSPC:
        return BookDataError(f"no space left on the device of {path}: free some and run again")
    if isinstance(exc, IsADirectoryError) or (exc.errno == errno.EISDIR):
        return BookDataError(f"{path} is a folder where the book's file goes: move it away")
    if exc.errno in (errno.ENOTDIR, errno.EEXIST):
        return BookDataError(f"{path}: a file is in the way of a folder of the book's data")
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return BookDataError(f"cannot {what} {path}: the folder is read-only ({exc.strerror})")
    return BookDataError(f"cannot {what} {path} ({exc.strerror or exc})")


def part_prefix(dest: Path) -> str:
    """The start of the temporary names of `dest`: `.NAME.PID.` (then random, then `.part`)."""
    return f".{dest.name}.{os.getpid()}."


def sweep_parts(dest: Path) -> None:
    """Removes the `.part` files of `dest` left by a run that was killed: their process is gone
    (or, with no pid in the name, they are older than an hour)."""
    try:
        found = list(dest.parent.glob(f".{dest.name}.*.part"))
    except OSError as exc:  # an unreadable folder: the download itself will say so
        log.debug("%s", exc)
        return
    for part in found:
        pid_text = part.name[len(dest.name) + 2 :].split(".", 1)[0]
        try:
            stale = time.time() - part.lstat().st_mtime > STALE_AFTER_S
            if stale or (pid_text.isdigit() and not process_alive(int(pid_text))):
                part.unlink()
        except OSError as exc:  # removed meanwhile, or not ours to remove: left as it is
            log.debug("%s", exc)


def _fetch(
    url: str, entry: FileEntry, dest: Path, progress: Callable[[int], object], pace: _Pace
) -> None:
    """Downloads `url` into `dest` through a temporary file, checked against `entry`."""
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _io_error("make the folder", dest.parent, exc) from None
    sweep_parts(dest)
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=part_prefix(dest), suffix=".part", dir=dest.parent)
    except OSError as exc:
        raise _io_error("write into", dest.parent, exc) from None
    tmp = Path(tmp_name)
    try:
        digest = hashlib.sha256()
        size = 0
        try:  # a failed write, or the flush when the file is closed
            with os.fdopen(fd, "wb") as out:
                try:
                    with urllib.request.urlopen(url, timeout=pace.timeout()) as response:
                        while True:
                            _set_read_timeout(response, pace.timeout())
                            chunk = response.read1(min(CHUNK, entry.size + 1 - size))
                            if not chunk:
                                break
                            size += len(chunk)
                            digest.update(chunk)
                            try:
                                out.write(chunk)
                            except OSError as exc:
                                raise _io_error("write", dest, exc) from None
                            progress(len(chunk))
                            if size > entry.size:
                                break
                            pace.check(url, len(chunk))
                except urllib.error.HTTPError as exc:
                    raise BookDataError(f"{url}: HTTP {exc.code} {exc.reason}") from None
                except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
                    pace.check_deadline(url)  # a read cut short by the deadline
                    reason = getattr(exc, "reason", None) or exc
                    raise BookDataError(
                        f"cannot download {url} ({reason}): check the network, or set "
                        "ZVK_BOOK_URL to a mirror or ZVK_BOOK_RES to a local copy"
                    ) from None
        except OSError as exc:
            raise _io_error("write", dest, exc) from None
        if size != entry.size or digest.hexdigest() != entry.sha256:
            raise BookDataError(
                f"{url}: checksum mismatch ({size} bytes, sha256 {digest.hexdigest()[:12]}..., "
                f"expected {entry.size} bytes, {entry.sha256[:12]}...); nothing was kept"
            )
        try:
            os.replace(tmp, dest)
        except OSError as exc:
            raise _io_error("write", dest, exc) from None
    finally:
        tmp.unlink(missing_ok=True)


def _set_read_timeout(response: object, timeout: float) -> None:
    """Shortens the socket's timeout to what is left before the deadline."""
    sock = getattr(getattr(getattr(response, "fp", None), "raw", None), "_sock", None)
    if sock is not None:
        sock.settimeout(timeout)


def check_url(base_url: str) -> None:
    """BookDataError unless `base_url` is an http(s) or file URL that parses."""
    try:
        parts = urllib.parse.urlsplit(base_url)
        parts.port  # noqa: B018 (parses the port: ValueError when it is not a number)
    except ValueError as exc:
        raise BookDataError(f"ZVK_BOOK_URL {base_url!r} is not a valid URL ({exc})") from None
    if parts.scheme not in ("http", "https", "file") or not (parts.netloc or parts.path):
        raise BookDataError(
            f"ZVK_BOOK_URL {base_url!r} is not a valid URL (expected http://, https:// or file://)"
        )


def download(
    base_url: str, entries: list[FileEntry], res: Path, show_progress: bool | None = None
) -> int:
    """Fetches every listed file that `res` does not already hold verified; returns how many.

    `show_progress` None shows the bar only on a terminal."""
    check_url(base_url)
    if res.exists() and not res.is_dir():
        raise BookDataError(f"{res} is a file, not a folder: move it away or set XDG_DATA_HOME")
    todo = [e for e in entries if _sha256_of(res / e.path) != e.sha256]
    if not todo:
        return 0
    pace = _Pace()
    with tqdm(
        total=sum(e.size for e in todo),
        unit="B",
        unit_scale=True,
        desc="book data",
        disable=None if show_progress is None else not show_progress,
    ) as bar:
        for entry in todo:
            url = f"{base_url.rstrip('/')}/{entry.path}"
            _fetch(url, entry, res / entry.path, bar.update, pace)
    return len(todo)


def verify(res: Path, entries: list[FileEntry]) -> None:
    """Raises BookDataError for the first listed file that `res` lacks or holds changed."""
    for entry in entries:
        if _sha256_of(res / entry.path) != entry.sha256:
            raise BookDataError(f"{res / entry.path}: missing or not the book's file (sha256)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m game.book_data",
        description="Download the book's chapter-10 models (Sponza, cube), checked by SHA-256.",
    )
    parser.add_argument("--where", action="store_true", help="print where the models are found")
    parser.add_argument(
        "--write-manifest",
        type=Path,
        metavar="RES",
        help="(maintainers) write book_data.json from a res folder of the pinned commit",
    )
    args = parser.parse_args(argv)
    try:
        if args.write_manifest is not None:
            doc = make_manifest(args.write_manifest, book_files(args.write_manifest))
            tmp = MANIFEST.with_suffix(".json.tmp")
            tmp.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
            os.replace(tmp, MANIFEST)
            print(f"{MANIFEST}: {len(doc['files'])} files")
            return 0
        entries = load_manifest()
        if args.where:
            res = find_res(entries)
            missing = f"not found (run `python -m game.book_data`): {data_dir()}"
            print(res if res is not None else missing)
            return 0 if res is not None else 1
        local = os.environ.get("ZVK_BOOK_RES")
        if local:
            verify(Path(local), entries)
            print(f"book data: using the local copy {local} (ZVK_BOOK_RES), verified")
            return 0
        res = data_dir()
        with _stopped_by_signals():
            fetched = download(os.environ.get("ZVK_BOOK_URL") or DEFAULT_URL, entries, res)
        print(f"book data: {len(entries)} files verified in {res} ({fetched} downloaded)")
        return 0
    except BookDataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted: nothing incomplete was kept", file=sys.stderr)
        return 130
    except StoppedBySignal as exc:
        name = signal.Signals(exc.signum).name
        print(f"stopped by {name}: nothing incomplete was kept", file=sys.stderr)
        return 128 + exc.signum


@contextlib.contextmanager
def _stopped_by_signals() -> Iterator[None]:
    """SIGTERM, SIGHUP and SIGQUIT raise StoppedBySignal (so `finally` removes the `.part`
    file) for the time of the download; the handlers before are restored after."""

    def stop(signum: int, frame: object) -> None:
        raise StoppedBySignal(signum)

    before = {signum: signal.signal(signum, stop) for signum in STOP_SIGNALS}
    try:
        yield
    finally:
        for signum, handler in before.items():
            signal.signal(signum, handler)


if __name__ == "__main__":
    sys.exit(main())
