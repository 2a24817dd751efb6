"""The cache of converted models behind `--scene model.glb` (not in the book): each input is
converted once by eng/model_gen.py into the user's cache folder.

An entry is the folder `<hash of the input>-<hash of everything it read>`, holding the model's
files and `.entry.json`: the fingerprint (size, mtime, SHA-256) of every file the conversion
read - the input, its buffers, .mtl and textures, and which names it looked for in vain - and
the size and SHA-256 of every file it wrote. An entry is used only when every input is as it
was, its own files are too, and the model loads as the engine loads it; otherwise the model is
converted again, so an edited .bin or texture, or a damaged entry, heals on the next run.

An entry is built in a folder of its own and renamed into place whole; when another process
renames its copy first, that one is used. A damaged entry in the way is removed; so are the
entries of the same input file that no longer match it, and the temporary folders of runs that
were killed."""

from __future__ import annotations

import errno
import hashlib
import json
import logging
import os
import shutil
from pathlib import Path

from eng.com.safe_io import (
    JSON_LIMIT,
    MODEL_INPUT_LIMIT,
    FileProblemError,
    make_temp_dir,
    parse_json,
    read_file,
    remove_stale_temps,
)
from eng.json_fields import ModelError
from eng.model_gen import ConvertError, convert
from eng.model_sources import InputFiles
from eng.model_write import load_written

log = logging.getLogger("eng.model")

MANIFEST = ".entry.json"  # a hidden name: the converter writes none


def convert_cached(input_path: Path | str, cache_root: Path | str) -> Path:
    """The model json of `input_path` converted inside `cache_root`, converting it unless an
    entry there matches it and all it names (see the module's docstring)."""
    input_path, cache_root = Path(input_path), Path(cache_root)
    files = InputFiles(input_path)
    digest = hashlib.sha256(files.read_input()).hexdigest()[:16]
    for entry in sorted(cache_root.glob(f"{digest}-*")):
        if (model := _verified(entry, files)) is not None:
            log.info("using cached conversion %s", model)
            return model
    try:
        cache_root.mkdir(parents=True, exist_ok=True)
        remove_stale_temps(cache_root, "convert")
        tmp = make_temp_dir(cache_root, "convert")
    except OSError as e:
        raise ConvertError(
            cache_root,
            f"cannot make the model cache folder ({e.strerror or e}); "
            "set XDG_CACHE_HOME to a writable folder",
        ) from None
    log.info("converting %s once, into the cache %s", input_path, cache_root)
    try:
        summary = convert(input_path, tmp)
        inputs = json.dumps(summary.inputs, sort_keys=True)
        target = cache_root / f"{digest}-{hashlib.sha256(inputs.encode()).hexdigest()[:16]}"
        manifest = {
            "source": str(input_path.resolve()),
            "model": summary.model_path.name,
            "inputs": summary.inputs,
            "outputs": {p.name: _fingerprint(p) for p in sorted(tmp.iterdir())},
        }
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=1), encoding="utf-8")
        model = _place(tmp, target, files, summary.model_path.name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        remove_stale_temps(cache_root, "convert")
    _remove_outdated(cache_root, digest, target, input_path)
    return model


def _fingerprint(path: Path) -> list[object]:
    data = read_file(path, MODEL_INPUT_LIMIT, "a converted file")
    return [len(data), hashlib.sha256(data).hexdigest()]


def _manifest(entry: Path) -> dict | None:
    """An entry's .entry.json, or None if it has none that reads."""
    try:
        doc = parse_json(read_file(entry / MANIFEST, JSON_LIMIT, "a JSON file"))
    except FileProblemError:
        return None
    return doc if isinstance(doc, dict) else None


def _verified(entry: Path, files: InputFiles) -> Path | None:
    """The model json of `entry` if it matches the input files and itself, and loads."""
    manifest = _manifest(entry)
    if manifest is None:
        return None
    inputs, outputs, model = (manifest.get(k) for k in ("inputs", "outputs", "model"))
    if not (isinstance(inputs, dict) and isinstance(outputs, dict) and isinstance(model, str)):
        return None
    if any(files.fingerprint(name) != fingerprint for name, fingerprint in inputs.items()):
        return None
    try:
        if model not in outputs or any(Path(name).name != name for name in outputs):
            return None  # names of files in the entry itself only
        if any(_fingerprint(entry / name) != value for name, value in outputs.items()):
            return None
        load_written(entry / model)
    except (FileProblemError, ModelError, OSError):
        return None
    return entry / model


def _place(tmp: Path, target: Path, files: InputFiles, model: str) -> Path:
    """Renames the new entry `tmp` to `target`; returns the model json there. Another
    process's entry already there is used; a damaged one is removed first."""
    for _ in range(3):
        try:
            os.rename(tmp, target)
            return target / model
        except OSError as e:
            if e.errno not in (errno.ENOTEMPTY, errno.EEXIST, errno.ENOTDIR):
                raise ConvertError(target, f"cannot write it ({e.strerror})") from None
        if (theirs := _verified(target, files)) is not None:
            return theirs  # another process finished first: its copy is used
        _discard(target)
    raise ConvertError(target, "cannot replace the damaged cache entry there")


def _discard(entry: Path) -> None:
    """Moves an entry aside, then removes it (a reader never sees half of it)."""
    aside = make_temp_dir(entry.parent, "convert")
    try:
        os.rename(entry, aside / "old")
    except FileNotFoundError:
        log.debug("%s: another process removed it first", entry)
    shutil.rmtree(aside, ignore_errors=True)


def _remove_outdated(cache_root: Path, digest: str, kept: Path, input_path: Path) -> None:
    """Removes the entries of the same input bytes made from this very file that no longer
    match it, damaged ones, and one of the older cache's layout (the digest alone)."""
    source = str(input_path.resolve())
    for entry in [cache_root / digest, *cache_root.glob(f"{digest}-*")]:
        if entry != kept and os.path.lexists(entry):
            manifest = _manifest(entry)
            if manifest is None or manifest.get("source") == source:
                _discard(entry)
