"""Options of `python -m game` (not in the book, whose main.zig reads cfg.toml alone; the
README's option table): the argument parser and the checks of the output paths, made before
anything is rendered.

It imports no engine module beyond the file readers of eng/com (to show cfg.toml's values),
so that `--help` and a bad option answer at once.
"""

import argparse
import math
import os
import re
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

DEFAULT_SIZE = (1280, 720)
HEADLESS_FRAMES = 10
BENCH_WARMUP = 10  # frames a benchmark renders before it measures
PACKAGE = "zvk-py"
KEYS = """\
keys (in the window):
  W / S          move forward / back (10 units per second)
  A / D          move left / right
  Up / Down      move up / down
  right-drag     look around: drag with the right mouse button (0.1 degree per pixel)
  M              write VMA's report and memory map into --out-dir, and print where
  T              with --trace: write the trace of the last frames into --out-dir, and print where
  F12            write a screenshot into --out-dir, and print where
  Escape         quit (as does closing the window)
"""


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


def _whole(minimum: int) -> Callable[[str], int]:
    """An argparse type: a whole number of at least `minimum`."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, not {value}")
        return value

    return parse


_positive, _count = _whole(1), _whole(0)


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number of seconds") from None
    if not 0 < value <= 86400:  # False for NaN too
        raise argparse.ArgumentTypeError(f"must be more than 0 and at most 86400, not {text}")
    return value


def _gpu(text: str) -> str | int:
    """An index of --list-gpus (digits), else a part of a device's name."""
    if text.strip().isdigit():
        return int(text)
    if re.fullmatch(r"\s*-\d+\s*", text):
        raise argparse.ArgumentTypeError(f"'{text}' is not an index of --list-gpus (0, 1, ...)")
    return text


def _camera(text: str) -> tuple[float, ...]:
    """x,y,z or x,y,z,yaw,pitch (the angles in degrees), held to a scene file's limits."""
    from eng.json_fields import COORD_LIMIT

    parts = text.split(",")
    usage = f"'{text}' is not x,y,z or x,y,z,yaw,pitch (numbers; angles in degrees)"
    if len(parts) not in (3, 5):
        raise argparse.ArgumentTypeError(usage)
    try:
        values = tuple(float(p) for p in parts)
    except ValueError:
        raise argparse.ArgumentTypeError(usage) from None
    if not all(math.isfinite(v) and abs(v) <= COORD_LIMIT for v in values):
        raise argparse.ArgumentTypeError(f"'{text}': each number must be within +-{COORD_LIMIT:g}")
    return values


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        """One line instead of argparse's usage block."""
        self.exit(2, f"error: {message} (see --help)\n")


class _Switch(argparse.BooleanOptionalAction):
    """--X / --no-X with its help as written (Python 3.11 would append '(default: True)')."""

    def __init__(self, *args: Any, help: str | None = None, **kwargs: Any) -> None:
        super().__init__(*args, help=help, **kwargs)
        self.help = help


class _Version(argparse.Action):
    """--version: looked up only when asked (importlib.metadata takes tens of milliseconds)."""

    def __init__(self, option_strings: list[str], dest: str, help: str | None = None) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, help=help)

    def __call__(self, parser: argparse.ArgumentParser, *args: Any) -> NoReturn:
        print(f"{PACKAGE} {package_version()}")
        parser.exit()


NAME_MAX = 255  # bytes in one file name (Linux, macOS)
PATH_MAX = 4095  # bytes in a whole path (Linux)


def _cut(text: str, keep: int = 40) -> str:
    """`text` for a message: at most `keep` characters, and how long it was."""
    return text if len(text) <= keep else f"{text[:keep]}... ({len(text)} characters)"


def _path(text: str) -> Path:
    """A path option's value: no NUL byte, no name longer than the system takes (the OS
    would refuse them later, as a ValueError or ENAMETOOLONG deep in a reader or writer)."""
    if "\0" in text:
        raise argparse.ArgumentTypeError(f"{_cut(ascii(text))} contains a NUL byte")
    size = len(os.fsencode(text))
    long = next((part for part in Path(text).parts if len(os.fsencode(part)) > NAME_MAX), None)
    if long is not None or size > PATH_MAX:
        what = f"the name '{_cut(long)}'" if long else f"the path ({size} bytes)"
        limit = f"{NAME_MAX} bytes a name" if long else f"{PATH_MAX} bytes"
        raise argparse.ArgumentTypeError(f"{what} is longer than files can have ({limit})")
    return Path(text)


def _add_path(p: argparse.ArgumentParser, flag: str, metavar: str, help: str) -> None:
    """An option that names a file or folder (METAVAR says which kind)."""
    p.add_argument(flag, type=_path, metavar=metavar, help=help)


def cfg_settings() -> dict[str, Any]:
    """The project's cfg.toml as it stands (for --help's defaults); {} if it cannot be read."""
    from eng.com.paths import DEFAULT_CFG
    from eng.com.safe_io import CONFIG_LIMIT, FileProblemError, parse_toml, read_file

    try:
        return parse_toml(read_file(DEFAULT_CFG, CONFIG_LIMIT, "a cfg.toml"))
    except FileProblemError:
        return {}


def _cfg_default(cfg: dict[str, Any], key: str) -> str:
    """'default: cfg.toml's value, X' for --help."""
    value = cfg.get(key)
    if isinstance(value, bool):
        return f"default: cfg.toml's value, {'on' if value else 'off'}"
    if isinstance(value, str):
        return f"default: cfg.toml's value, '{value}'" if value else "default: the best device"
    return "default: cfg.toml's value"


def package_version() -> str:
    """The installed package's version, else the checkout's pyproject.toml's."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(PACKAGE)
    except PackageNotFoundError:
        import tomllib

        try:
            with open(Path(__file__).parents[1] / "pyproject.toml", "rb") as f:
                found = tomllib.load(f)["project"]["version"]
        except (OSError, KeyError, tomllib.TOMLDecodeError):
            return "unknown (not installed)"
        return f"{found} (not installed: a source tree)"


def build_parser(prog: str = "python -m game", cfg: dict[str, Any] | None = None) -> _Parser:
    """The parser; `prog` is the command as it was run (zvk, or python -m game), `cfg` the
    settings whose values --help shows as defaults (default: the project's cfg.toml)."""
    cfg = cfg_settings() if cfg is None else cfg
    p = _Parser(
        prog=prog,
        description="The zvk book's chapter-10 renderer in Python: a textured scene and a\n"
        "free-flying camera. Options override cfg.toml's settings.",
        epilog=KEYS,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--version", action=_Version, help="print the package's version and exit")
    _add_path(p, "--config", "PATH", "cfg.toml to read (default: the project's resources/cfg.toml)")
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
        "'fit' frames its bounds (default: book for Sponza, fit for other models)",
    )
    p.add_argument(
        "--camera",
        type=_camera,
        metavar="X,Y,Z[,YAW,PITCH]",
        help="start the camera there, turned by YAW and PITCH degrees (yaw -90 looks down -z; "
        "-v info logs where the camera is in this form) (default: the scene's camera)",
    )
    p.add_argument(
        "--size",
        type=_size,
        metavar="WxH",
        help=f"window or image size in pixels (default: {DEFAULT_SIZE[0]}x{DEFAULT_SIZE[1]})",
    )
    p.add_argument(
        "--fullscreen",
        action="store_true",
        help="open the window fullscreen, at the display's size (default: off)",
    )
    p.add_argument(
        "--gpu",
        type=_gpu,
        metavar="NAME|INDEX",
        help="use the device of that index in --list-gpus, or the one whose name contains NAME "
        f"(case-insensitive; overrides cfg.toml's 'gpu'; {_cfg_default(cfg, 'gpu')})",
    )
    p.add_argument(
        "--list-gpus",
        action="store_true",
        help="list the Vulkan devices (index, type, memory, driver, Vulkan version) and exit",
    )
    p.add_argument(
        "--validation",
        action=_Switch,
        help="Khronos validation layers (overrides cfg.toml's 'validation'; "
        f"{_cfg_default(cfg, 'validation')})",
    )
    p.add_argument(
        "--validation-features",
        metavar="LIST",
        default="",
        help="extra validation, comma-separated: sync, best-practices, gpu-assisted "
        "(default: none)",
    )
    p.add_argument(
        "--vsync",
        action=_Switch,
        help="wait for the display's refresh (overrides cfg.toml's 'vsync'; "
        f"{_cfg_default(cfg, 'vsync')})",
    )
    p.add_argument(
        "--headless",
        action="store_true",
        help="render offscreen, without a window or display (default: off; on by itself "
        "when no window can open)",
    )
    run_length = p.add_mutually_exclusive_group()
    run_length.add_argument(
        "--frames",
        type=_positive,
        metavar="N",
        help=f"stop after N frames (default: until the window closes; headless: "
        f"{HEADLESS_FRAMES}; with --bench, N frames are measured after the warm-up)",
    )
    run_length.add_argument(
        "--seconds",
        type=_seconds,
        metavar="S",
        help="with --bench: measure for S seconds after the warm-up, instead of a number of "
        "frames (default: --frames)",
    )
    p.add_argument(
        "--warmup",
        type=_count,
        metavar="N",
        help=f"with --bench: frames rendered first and not measured (default: {BENCH_WARMUP})",
    )
    _add_path(p, "--screenshot", "PNG", "write the last frame to this PNG file (default: none)")
    _add_path(
        p,
        "--out-dir",
        "DIR",
        "the folder where the keys F12 and M, and the headless run when no window can open, "
        "write their time-stamped files (default: the current folder)",
    )
    _add_path(
        p,
        "--vma-report",
        "JSON",
        "write VMA's detailed statistics (vmaBuildStatsString, with every allocation's "
        "name) once the scene is loaded (default: none)",
    )
    _add_path(
        p,
        "--vma-map",
        "PNG|SVG",
        "draw VMA's memory once the scene is loaded: every VkDeviceMemory block and "
        "dedicated allocation, each allocation coloured by kind; an .svg names each one when "
        "hovered (default: none)",
    )
    _add_path(
        p,
        "--trace",
        "JSON",
        "write a Chrome trace-event file (Perfetto, Chrome DevTools) of the last frames at "
        "exit: each frame's stages, its GPU work, VMA's bytes and the draws (default: none)",
    )
    p.add_argument(
        "--trace-frames",
        type=_positive,
        default=300,
        metavar="N",
        help="with --trace (and key T): keep the last N frames (default: 300)",
    )
    _add_path(
        p,
        "--shaders",
        "DIR",
        "load scn_vtx / scn_frg (.glsl, compiled with glslc, or .spv) from DIR; the instanced "
        "path's vertex shader is scn_vtx.glsl compiled with -DINSTANCED (or scn_inst_vtx.spv) "
        "(default: the project's shaders)",
    )
    p.add_argument(
        "--watch-shaders",
        action="store_true",
        help="recompile the shaders when they change and rebuild the pipelines between frames "
        "(default: off)",
    )
    p.add_argument(
        "--culling",
        action=_Switch,
        default=False,
        help="leave out meshes and instances outside the view; the same picture (not in the "
        "book, which draws every entity) (default: off)",
    )
    p.add_argument(
        "--handoffs",
        action="store_true",
        help="on a CPU device (lavapipe), hand the binned triangles to the rasterizer threads "
        "every 50,000 triangles, so both cores work; the same picture (not in the book) "
        "(default: off)",
    )
    p.add_argument(
        "--anisotropy",
        action=_Switch,
        default=True,
        help="anisotropic texture filtering at the device's maximum (default: on, as the book)",
    )
    p.add_argument(
        "--depth-prepass",
        action="store_true",
        help="draw the opaque meshes' front faces depth-only first, so that hidden fragments "
        "are not shaded; the same picture (not in the book; see docs/performance.md) "
        "(default: off)",
    )
    p.add_argument(
        "--instanced",
        action="store_true",
        help="draw the scene's entities instanced, one batch per model, model matrices in a "
        "storage buffer (not in the book: the scale scenes' path) (default: off)",
    )
    stress = p.add_mutually_exclusive_group()
    stress.add_argument(
        "--stress",
        type=_positive,
        metavar="N",
        help="N entities of the default scene's models over a large floor, all moving and "
        "turning every frame (instanced) (default: off)",
    )
    stress.add_argument(
        "--stress-static",
        type=_positive,
        metavar="N",
        help="the default scene's models tiled to N meshes, with a camera flying through "
        "them (instanced) (default: off)",
    )
    p.add_argument(
        "--dedicated-images",
        action="store_true",
        help="give every image its own VkDeviceMemory, as the book does (default: off, "
        "VMA's pools)",
    )
    _add_path(
        p,
        "--bench",
        "JSON",
        "profile the run and write its figures (times, memory) to this JSON file; see "
        "--warmup, --frames and --seconds (default: off)",
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
        help="logging level; info also logs where the camera is (default: warning)",
    )
    p.add_argument("--debug", action="store_true", help="show tracebacks of errors (default: off)")
    return p


OUTPUTS = (  # every option that names a file to write: (option, its dest, the suffixes it takes)
    ("--screenshot", "screenshot", (".png",)),
    ("--vma-report", "vma_report", (".json",)),
    ("--vma-map", "vma_map", (".png", ".svg")),  # the format follows the suffix
    ("--trace", "trace", (".json",)),
    ("--bench", "bench", ()),
)


def check_outputs(args: argparse.Namespace) -> None:
    """Before rendering, every output option (OUTPUTS) through `output_path`; two options
    naming the same file are refused (one would be lost). Each option's value becomes the
    file that will be written (a symbolic link's target)."""
    seen: dict[str, str] = {}
    for option, dest, suffixes in OUTPUTS:
        if getattr(args, dest) is None:
            continue
        path = output_path(option, getattr(args, dest), suffixes)
        same = seen.setdefault(os.path.normcase(os.path.realpath(path)), option)
        if same != option:
            raise UsageError(f"{same} and {option} both name {path}: give each its own file")
        setattr(args, dest, path)


def output_path(option: str, path: Path, suffixes: tuple[str, ...] = ()) -> Path:
    """The one check of a file to write, made before anything renders: the suffix, the
    folder, permissions, a name the system takes. A symbolic link is written through: the
    file it points to is replaced, the link stays (returned: the file to write). What a
    killed run left of an earlier write of it (eng/com/safe_io.py) is removed."""
    from eng.com.safe_io import remove_stale_writes

    if suffixes and path.suffix.lower() not in suffixes:
        raise UsageError(f"{option} {path}: the file name must end in {' or '.join(suffixes)}")
    try:
        if path.is_symlink():
            target = Path(os.path.realpath(path))
            if target.is_symlink():  # realpath stops in a loop of links
                raise UsageError(f"{option} {path}: a symbolic link in a loop")
            path = target
        check_writable(option, path)
    except (OSError, ValueError) as exc:
        if isinstance(exc, UsageError):
            raise
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        raise UsageError(f"{option} {_cut(str(path), 80)}: cannot write there ({why})") from None
    remove_stale_writes(path.parent, re.escape(path.name))
    return path


def check_folder(option: str, folder: Path) -> None:
    """Before rendering: `folder` is a folder that files can be written into (the keys'
    time-stamped files; what a killed run left of them is removed)."""
    from eng.com.safe_io import remove_stale_writes

    if not folder.is_dir():
        what = "is not a folder" if folder.exists() else "no such folder"
        raise UsageError(f"{option} {folder}: {what}")
    _try_writing(option, folder, folder)
    remove_stale_writes(folder, r"zvk-.*")


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
