"""The cache of converted models behind `--scene model.glb` (not in the book): each input is
converted once by eng/model_gen.py into the user's cache folder, under the hash of its bytes."""

from __future__ import annotations

import errno
import hashlib
import logging
import os
import shutil
import sys
from pathlib import Path

from eng.com.safe_io import make_temp_dir, remove_stale_temps
from eng.model_data import materials_path_for
from eng.model_gen import ConvertError, convert
from eng.model_sources import InputFiles

log = logging.getLogger("eng.model")


def _complete(model_path: Path) -> bool:
    return model_path.is_file() and materials_path_for(model_path).is_file()


def convert_cached(input_path: Path | str, cache_root: Path | str) -> Path:
    """Convert into `cache_root/<sha256[:16]>/` unless already there; returns the model json.

    Only the input file itself is hashed (not the .bin / textures / .mtl it may reference).
    A conversion is built in a folder of its own and renamed into place, so the folder is
    complete; when another process renames its copy first, that one is used. Temporary folders
    of runs that were killed are removed.
    """
    input_path, cache_root = Path(input_path), Path(cache_root)
    digest = hashlib.sha256(InputFiles(input_path).read_input()).hexdigest()[:16]
    target = cache_root / digest
    model_path = target / f"{input_path.stem}.json"
    if _complete(model_path):
        log.info("using cached conversion %s", model_path)
        return model_path
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
    notice = f"converting {input_path} once, into the cache {target}"
    if sys.stderr.isatty():
        print(notice, file=sys.stderr)
    else:
        log.info(notice)
    try:
        convert(input_path, tmp)
        for _ in range(2):
            try:
                os.rename(tmp, target)
                break
            except OSError as e:
                if e.errno not in (errno.ENOTEMPTY, errno.EEXIST):
                    raise ConvertError(target, f"cannot write it ({e.strerror})") from None
                if _complete(model_path):
                    break  # another process finished first: use its copy
                # an incomplete folder (files removed by hand): move it aside, then retry
                os.rename(target, make_temp_dir(cache_root, "convert") / "old")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        remove_stale_temps(cache_root, "convert")
    return model_path
