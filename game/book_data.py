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
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import json
import os
import sys
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import platformdirs
from tqdm import tqdm

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


class BookDataError(RuntimeError):
    """The book's data is missing, cannot be fetched or fails its checksum (one line)."""


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


def _fetch(url: str, entry: FileEntry, dest: Path, progress: Callable[[int], object]) -> None:
    """Downloads `url` into `dest` through a temporary file, checked against `entry`."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    tmp = Path(tmp_name)
    try:
        digest = hashlib.sha256()
        size = 0
        with os.fdopen(fd, "wb") as out:
            try:
                with urllib.request.urlopen(url, timeout=TIMEOUT_S) as response:
                    while chunk := response.read(min(CHUNK, entry.size + 1 - size)):
                        size += len(chunk)
                        digest.update(chunk)
                        out.write(chunk)
                        progress(len(chunk))
                        if size > entry.size:
                            break
            except urllib.error.HTTPError as exc:
                raise BookDataError(f"{url}: HTTP {exc.code} {exc.reason}") from None
            except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
                reason = getattr(exc, "reason", None) or exc
                raise BookDataError(
                    f"cannot download {url} ({reason}): check the network, or set ZVK_BOOK_URL "
                    "to a mirror or ZVK_BOOK_RES to a local copy"
                ) from None
        if size != entry.size or digest.hexdigest() != entry.sha256:
            raise BookDataError(
                f"{url}: checksum mismatch ({size} bytes, sha256 {digest.hexdigest()[:12]}..., "
                f"expected {entry.size} bytes, {entry.sha256[:12]}...); nothing was kept"
            )
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)


def download(
    base_url: str, entries: list[FileEntry], res: Path, show_progress: bool | None = None
) -> int:
    """Fetches every listed file that `res` does not already hold verified; returns how many.

    `show_progress` None shows the bar only on a terminal."""
    todo = [e for e in entries if _sha256_of(res / e.path) != e.sha256]
    if not todo:
        return 0
    with tqdm(
        total=sum(e.size for e in todo),
        unit="B",
        unit_scale=True,
        desc="book data",
        disable=None if show_progress is None else not show_progress,
    ) as bar:
        for entry in todo:
            url = f"{base_url.rstrip('/')}/{entry.path}"
            _fetch(url, entry, res / entry.path, bar.update)
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
        fetched = download(os.environ.get("ZVK_BOOK_URL") or DEFAULT_URL, entries, res)
        print(f"book data: {len(entries)} files verified in {res} ({fetched} downloaded)")
        return 0
    except BookDataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted: nothing incomplete was kept", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
