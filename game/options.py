"""Options of `python -m game` (not in the book, whose main.zig reads cfg.toml alone; the
README's option table): the argument parser and the checks of the output paths, made before
anything is rendered.

It imports no engine module, so that `--help` and a bad option answer at once.
"""

import argparse
import os
import re
import tempfile
from pathlib import Path
from typing import NoReturn

DEFAULT_SIZE = (1280, 720)
HEADLESS_FRAMES = 10


class UsageError(ValueError):
    """A bad command-line value (exit status 2, like argparse's own errors)."""


def _size(text: str) -> tuple[int, int]:
    match = re.fullmatch(r"(\d{1,5})[xX](\d{1,5})", text.strip())
    if not match or min(int(match[1]), int(match[2])) < 1:
        raise argparse.ArgumentTypeError(f"'{text}' is not a size like 1280x720")
    width, height = int(match[1]), int(match[2])
    if max(width, height) > 16384:
        raise argparse.ArgumentTypeError(f"'{text}' is larger than 16384 pixels")
    return width, height


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        """One line instead of argparse's usage block."""
        self.exit(2, f"error: {message} (see --help)\n")


def _add_path(p: argparse.ArgumentParser, flag: str, metavar: str, help: str) -> None:
    """An option that names a file or folder (METAVAR says which kind)."""
    p.add_argument(flag, type=Path, metavar=metavar, help=help)


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="python -m game",
        description="The zvk book's chapter-10 renderer in Python: a textured scene and a "
        "free-flying camera (W/S/A/D, Up/Down, right mouse button to look).",
    )
    _add_path(p, "--config", "PATH", "cfg.toml to read (default: resources/cfg.toml)")
    _add_path(
        p,
        "--scene",
        "PATH",
        "a scene .json, a model in the book's format (X.json + X-mat.json), a .gltf/.glb/.obj "
        "file (converted once and cached), or the book's 'sponza' or 'cube' (fetched by "
        "`python -m game.book_data`) (default: the project's own scene)",
    )
    p.add_argument(
        "--view",
        choices=("book", "fit"),
        help="camera for a single model: 'book' places it as main.zig places Sponza, "
        "'fit' frames its bounds (default: book for Sponza, fit otherwise)",
    )
    p.add_argument(
        "--size",
        type=_size,
        metavar="WxH",
        help=f"window or image size in pixels (default {DEFAULT_SIZE[0]}x{DEFAULT_SIZE[1]})",
    )
    p.add_argument(
        "--gpu",
        metavar="NAME",
        help="use the GPU whose name contains NAME (case-insensitive; overrides cfg 'gpu')",
    )
    p.add_argument("--list-gpus", action="store_true", help="list the Vulkan devices and exit")
    p.add_argument(
        "--validation",
        action=argparse.BooleanOptionalAction,
        help="Khronos validation layers (overrides cfg 'validation')",
    )
    p.add_argument(
        "--validation-features",
        metavar="LIST",
        default="",
        help="extra validation, comma-separated: sync, best-practices, gpu-assisted",
    )
    p.add_argument(
        "--vsync",
        action=argparse.BooleanOptionalAction,
        help="wait for the display's refresh (overrides cfg 'vsync')",
    )
    p.add_argument(
        "--headless", action="store_true", help="render offscreen, without a window or display"
    )
    p.add_argument(
        "--frames",
        type=_positive,
        metavar="N",
        help=f"stop after N frames (headless default: {HEADLESS_FRAMES})",
    )
    _add_path(p, "--screenshot", "PNG", "write the last frame to this PNG file")
    _add_path(
        p,
        "--vma-report",
        "JSON",
        "write VMA's detailed statistics (vmaBuildStatsString, with every allocation's "
        "name) once the scene is loaded",
    )
    _add_path(
        p,
        "--vma-map",
        "PNG",
        "draw VMA's memory once the scene is loaded: every VkDeviceMemory block and "
        "dedicated allocation, each allocation coloured by kind",
    )
    _add_path(
        p,
        "--shaders",
        "DIR",
        "load scn_vtx / scn_frg (.glsl, compiled with glslc, or .spv) from DIR; the instanced "
        "path's vertex shader is scn_vtx.glsl compiled with -DINSTANCED (or scn_inst_vtx.spv)",
    )
    p.add_argument(
        "--watch-shaders",
        action="store_true",
        help="recompile the shaders when they change and rebuild the pipelines between frames",
    )
    p.add_argument(
        "--culling",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="leave out meshes and instances outside the view; the same picture (not in the "
        "book, which draws every entity)",
    )
    p.add_argument(
        "--handoffs",
        action="store_true",
        help="on a CPU device (lavapipe), hand the binned triangles to the rasterizer threads "
        "every 50,000 triangles, so both cores work; the same picture (not in the book)",
    )
    p.add_argument(
        "--anisotropy",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="anisotropic texture filtering at the device's maximum, as the book does",
    )
    p.add_argument(
        "--depth-prepass",
        action="store_true",
        help="draw the opaque meshes' front faces depth-only first, so that hidden fragments "
        "are not shaded; the same picture (not in the book; see docs/performance.md)",
    )
    p.add_argument(
        "--instanced",
        action="store_true",
        help="draw the scene's entities instanced, one batch per model, model matrices in a "
        "storage buffer (not in the book: the scale scenes' path)",
    )
    stress = p.add_mutually_exclusive_group()
    stress.add_argument(
        "--stress",
        type=_positive,
        metavar="N",
        help="N entities of the default scene's models over a large floor, all moving and "
        "turning every frame (instanced)",
    )
    stress.add_argument(
        "--stress-static",
        type=_positive,
        metavar="N",
        help="the default scene's models tiled to N meshes, with a camera flying through "
        "them (instanced)",
    )
    p.add_argument(
        "--dedicated-images",
        action="store_true",
        help="give every image its own VkDeviceMemory, as the book does (default: VMA pools)",
    )
    _add_path(
        p,
        "--bench",
        "JSON",
        "profile the run and write its figures (times, memory) to this JSON file",
    )
    p.add_argument(
        "--info",
        action="store_true",
        help="print Vulkan, driver, SDL, VMA and package versions and exit",
    )
    p.add_argument(
        "-v",
        "--log-level",
        default="warning",
        choices=("debug", "info", "warning", "error"),
        help="logging level",
    )
    p.add_argument("--debug", action="store_true", help="show tracebacks of errors")
    return p


def check_output(path: Path, option: str = "--screenshot", suffix: str = ".png") -> None:
    """Fails early, before rendering, on an output file that could not be written."""
    if path.suffix.lower() != suffix:
        raise UsageError(f"{option} {path}: the file name must end in {suffix}")
    check_writable(option, path)


def check_folder(option: str, folder: Path) -> None:
    """Before rendering: `folder` is a folder that files can be written into."""
    if not folder.is_dir():
        what = "is not a folder" if folder.exists() else "no such folder"
        raise UsageError(f"{option} {folder}: {what}")
    _try_writing(option, folder, folder)


def check_writable(option: str, path: Path) -> None:
    """Before rendering: `path` can be written (through a temporary file in its folder)."""
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise UsageError(f"{option} {path}: folder '{folder}' does not exist")
    if path.is_dir():
        raise UsageError(f"{option} {path}: is a folder")
    if path.exists() and not path.is_file():
        raise UsageError(f"{option} {path}: is not a regular file")
    if path.exists() and not os.access(path, os.W_OK):
        raise UsageError(f"{option} {path}: cannot write there (permission denied)")
    _try_writing(option, path, folder)


def _try_writing(option: str, path: Path, folder: Path) -> None:
    if not os.access(folder, os.W_OK):
        raise UsageError(f"{option} {path}: cannot write there (permission denied)")
    # os.access says yes to root everywhere, even under /proc or /sys: try it for real, the
    # way the file will be written (a temporary name in the folder), touching nothing there
    try:
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        raise UsageError(f"{option} {path}: cannot write there ({exc.strerror or exc})") from None
