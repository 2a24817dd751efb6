"""Files a reader asks for while the engine runs (not in the book): VMA's report and map
(`--vma-report`, `--vma-map`, key M) and screenshots (`--screenshot`, key F12; the keys are
the game's, game/keys.py).

Each file is written under a temporary name in its folder and then renamed into place, so an
interrupted write never leaves half a file behind nor destroys the one that was there.
"""

import io
import json
import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image, PngImagePlugin

from eng.com.safe_io import write_bytes_atomic
from eng.extras.vma_map import draw_map, draw_svg
from eng.hooks import Extra
from eng.render import Render

if TYPE_CHECKING:  # for annotations only: a real import loads the VMA extension
    from eng.vk.vma import VkVmaAlloc

log = logging.getLogger("eng.extras.snapshots")
MAP_METADATA = "zvk-vma-map"
"""The PNG text chunk holding the map's summary (sizes, fill, rectangles) as JSON."""


class SnapshotError(RuntimeError):
    """A report, map or screenshot could not be written."""


def write_atomic(path: Path, data: bytes) -> None:
    """`data` into `path` through a temporary name (eng/com/safe_io.py), as a SnapshotError."""
    try:
        write_bytes_atomic(path, data)
    except OSError as exc:
        raise SnapshotError(f"{path}: cannot write it ({exc.strerror or exc})") from None


def png_bytes(image: Image.Image, text: dict[str, str] | None = None) -> bytes:
    info = PngImagePlugin.PngInfo()
    for key, value in (text or {}).items():
        info.add_text(key, value)
    out = io.BytesIO()
    image.save(out, format="PNG", pnginfo=info, optimize=True)
    return out.getvalue()


def save_screenshot(pixels: np.ndarray, path: Path) -> None:
    """An (height, width, 4) RGBA frame as an RGB PNG."""
    write_atomic(path, png_bytes(Image.fromarray(pixels[..., :3])))


def save_vma_files(
    vma: "VkVmaAlloc", report: Path | None = None, vma_map: Path | None = None
) -> None:
    """VMA's JSON dump (with every allocation's name) and/or its map, as they are now (the
    map as SVG when its name ends in .svg, else PNG)."""
    text = vma.stats_json()
    if report is not None:
        write_atomic(report, text.encode())
    if vma_map is not None and vma_map.suffix.lower() == ".svg":
        svg, _ = draw_svg(json.loads(text))
        write_atomic(vma_map, svg.encode())
    elif vma_map is not None:
        image, summary = draw_map(json.loads(text))
        write_atomic(vma_map, png_bytes(image, {MAP_METADATA: json.dumps(summary)}))


def stamped_name(prefix: str, suffix: str, folder: Path = Path(".")) -> Path:
    """`prefix-YYYYmmdd-HHMMSS[-n]suffix` in `folder`, a name that overwrites nothing."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    path = folder / f"{prefix}-{stamp}{suffix}"
    n = 1
    while path.exists():
        n += 1
        path = folder / f"{prefix}-{stamp}-{n}{suffix}"
    return path


class Snapshots(Extra):
    """`--vma-report` / `--vma-map`: written once the scene is loaded."""

    def __init__(self, report: Path | None = None, vma_map: Path | None = None) -> None:
        self.report = report
        self.vma_map = vma_map

    def loaded(self, render: Render) -> None:
        save_vma_files(render.ctx.vma, self.report, self.vma_map)
        for option, path in (("VMA report", self.report), ("VMA map", self.vma_map)):
            if path is not None:
                print(f"{option}: {path.absolute()}")


def key_vma(vma: "VkVmaAlloc", folder: Path) -> None:
    """Key M: the report and the map, time-stamped; an error is logged, not raised."""
    report = stamped_name("zvk-vma", ".json", folder)
    vma_map = report.with_suffix(".png")
    try:
        save_vma_files(vma, report, vma_map)
    except SnapshotError as exc:
        log.error("%s", exc)
        return
    print(f"VMA report: {report.absolute()}\nVMA map: {vma_map.absolute()}", flush=True)


def key_screenshot(pixels: np.ndarray, folder: Path) -> None:
    """Key F12: the frame as a time-stamped PNG; an error is logged, not raised."""
    path = stamped_name("zvk-screenshot", ".png", folder)
    try:
        save_screenshot(pixels, path)
    except SnapshotError as exc:
        log.error("%s", exc)
        return
    print(f"screenshot: {path.absolute()}", flush=True)
