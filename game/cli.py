"""Command line of `python -m game`: options over cfg.toml, clear one-line errors.

Every failure a user can cause ends with one line on stderr naming the file or setting and a
non-zero exit status; `--debug` shows the traceback instead.

The engine is imported inside the functions, not at the top: `--help` and a bad option answer
at once without loading numpy, Vulkan and VMA, and `import vulkan` itself fails on a machine
without a Vulkan loader, which `main` turns into one line.
"""

import argparse
import json
import logging
import os
import platform
import re
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO, TYPE_CHECKING, NoReturn

if TYPE_CHECKING:  # for annotations only: the engine is imported where it is used
    from eng.com.common import Constants

log = logging.getLogger("game")

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


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="python -m game",
        description="The zvk book's chapter-10 renderer in Python: a textured scene and a "
        "free-flying camera (W/S/A/D, Up/Down, right mouse button to look).",
    )
    p.add_argument(
        "--config", type=Path, metavar="PATH", help="cfg.toml to read (default: eng/res/cfg.toml)"
    )
    p.add_argument(
        "--scene",
        type=Path,
        metavar="PATH",
        help="a scene .json, a model in the book's format (X.json + X-mat.json), "
        "a .gltf/.glb/.obj file, or the book's 'sponza' or 'cube' (see `make book-data`) "
        "(default: the project's own scene)",
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
    p.add_argument(
        "--screenshot", type=Path, metavar="PNG", help="write the last frame to this PNG file"
    )
    p.add_argument(
        "--vma-report",
        type=Path,
        metavar="JSON",
        help="write VMA's detailed statistics (vmaBuildStatsString, with every allocation's "
        "name) once the scene is loaded",
    )
    p.add_argument(
        "--vma-map",
        type=Path,
        metavar="PNG",
        help="draw VMA's memory once the scene is loaded: every VkDeviceMemory block and "
        "dedicated allocation, each allocation coloured by kind",
    )
    p.add_argument(
        "--shaders",
        type=Path,
        metavar="DIR",
        help="load scn_vtx / scn_frg (.glsl, compiled with glslc, or .spv) from DIR",
    )
    p.add_argument(
        "--watch-shaders",
        action="store_true",
        help="recompile the shaders when they change and rebuild the pipelines between frames",
    )
    p.add_argument(
        "--culling",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="leave out meshes outside the view (default on; not in the book)",
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
        help="draw opaque meshes depth-only first, then shade each pixel once with an EQUAL "
        "depth test (not in the book; see docs/performance.md)",
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
    p.add_argument(
        "--bench",
        type=Path,
        metavar="JSON",
        help="profile the run and write its figures (times, memory) to this JSON file",
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


def _check_output(path: Path, option: str = "--screenshot", suffix: str = ".png") -> None:
    """Fails early, before rendering, on an output file that could not be written."""
    if path.suffix.lower() != suffix:
        raise UsageError(f"{option} {path}: the file name must end in {suffix}")
    _check_writable(option, path)


def _check_writable(option: str, path: Path) -> None:
    """Before rendering: `path` can be written (through a temporary file in its folder)."""
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise UsageError(f"{option} {path}: folder '{folder}' does not exist")
    if path.is_dir():
        raise UsageError(f"{option} {path}: is a folder")
    if path.exists() and not path.is_file():
        raise UsageError(f"{option} {path}: is not a regular file")
    if not os.access(folder, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise UsageError(f"{option} {path}: cannot write there (permission denied)")
    # os.access says yes to root everywhere, even under /proc or /sys: try it for real, the
    # way the file will be written (a temporary name in the folder), touching nothing there
    try:
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        raise UsageError(f"{option} {path}: cannot write there ({exc.strerror or exc})") from None


def _write_output(option: str, path: Path, write: Callable[[IO[bytes]], object]) -> None:
    """`write(file)` into `path` through a temporary name: Ctrl-C or a failure leaves a file
    that was there as it was."""
    from eng.com.utils import atomic_write

    try:
        with atomic_write(path) as f:
            write(f)
    except OSError as exc:
        raise UsageError(f"{option} {path}: cannot write it ({exc.strerror or exc})") from None


def print_info(constants: "Constants") -> None:
    import vulkan as vk

    from eng.vk.inst import VkInstance
    from eng.vk.phys import list_devices, version_str
    from eng.vk.vma import vma_version
    from eng.wnd import WindowError, sdl_version

    print(f"Python        {platform.python_version()} ({sys.executable})")
    print(f"vulkan (PyPI) {vk.__version__}")
    print(f"Vulkan loader {version_str(vk.vkEnumerateInstanceVersion())}")
    print(f"VMA           {vma_version()}")
    try:
        print(f"SDL           {sdl_version()}")
    except WindowError as exc:
        print(f"SDL           not available ({exc})")
    from importlib.metadata import PackageNotFoundError, version

    def package(name: str) -> str:
        try:
            return f"{name} {version(name)}"
        except PackageNotFoundError:
            return f"{name} (not installed)"

    packages = ("pysdl3", "numpy", "pyglm", "Pillow", "trimesh", "cffi")
    print("packages      " + ", ".join(package(p) for p in packages))
    instance = VkInstance.create(False, [])
    try:
        for line in list_devices(instance, details=True):
            print(f"GPU           {line}")
    finally:
        instance.cleanup()


def run(args: argparse.Namespace) -> int:
    from eng.com import common

    constants = common.load(args.config or common.DEFAULT_CFG).with_overrides(
        gpu=args.gpu, validation=args.validation, vsync=args.vsync
    )
    if args.info:
        print_info(constants)
        return 0
    if args.list_gpus:
        from eng.vk.inst import VkInstance
        from eng.vk.phys import list_devices

        instance = VkInstance.create(False, [])
        try:
            print("\n".join(list_devices(instance)))
        finally:
            instance.cleanup()
        return 0
    features = tuple(f for f in args.validation_features.split(",") if f)
    from eng.vk.inst import VALIDATION_FEATURES

    unknown = [f for f in features if f not in VALIDATION_FEATURES]
    if unknown:
        raise UsageError(f"--validation-features: unknown feature(s) {', '.join(unknown)}")
    for option, path, suffix in (
        ("--screenshot", args.screenshot, ".png"),
        ("--vma-report", args.vma_report, ".json"),
        ("--vma-map", args.vma_map, ".png"),
    ):
        if path is not None:
            _check_output(path, option, suffix)
    if args.bench is not None:
        _check_writable("--bench", args.bench)

    from eng.wnd import window_unavailable

    headless = args.headless
    screenshot = args.screenshot
    if not headless and (reason := window_unavailable()):
        headless = True
        from eng.snapshots import stamped_name

        screenshot = screenshot or stamped_name("zvk-screenshot", ".png")
        _check_output(screenshot)
        print(f"no window ({reason}): rendering headless into {screenshot}", file=sys.stderr)
    frames = args.frames or (HEADLESS_FRAMES if headless else None)

    from eng.engine import Engine
    from eng.shader_watch import ShaderSet
    from eng.snapshots import Snapshots
    from game.main import TITLE, Game
    from game.scenes import load_spec

    stress = args.stress or args.stress_static
    if stress and args.scene is not None:
        raise UsageError("--stress and --stress-static use the default scene: leave out --scene")
    spec = load_spec(args.scene, args.view)
    if stress:
        from game.stress import StressGame

        game: Game = StressGame(spec, stress, static=args.stress_static is not None)
    else:
        game = Game(spec, args.instanced)
    size = args.size or DEFAULT_SIZE
    with Engine.create(
        game,
        constants,
        TITLE,
        size,
        headless,
        features,
        profile=args.bench is not None,
        dedicated_images=args.dedicated_images,
        culling=args.culling,
        anisotropy=args.anisotropy,
        depth_prepass=args.depth_prepass,
        shaders=ShaderSet.create(args.shaders, args.watch_shaders),
        snapshots=Snapshots(args.vma_report, args.vma_map),
    ) as engine:
        assert engine.ctx is not None, "made by Engine.create"
        device = engine.ctx.phys.name
        stats, image = engine.run(frames, capture=screenshot is not None)
    outputs = []  # (option, path, write): each is tried, whether or not another fails
    if screenshot is not None and image is not None:
        from PIL import Image

        picture = Image.fromarray(image[..., :3])
        outputs.append(("--screenshot", screenshot, lambda f: picture.save(f, format="PNG")))
    if args.bench is not None:
        from game.bench import report

        scene = str(args.scene or "default scene")
        if stress:
            scene = f"{'stress-static' if args.stress_static else 'stress'} {stress}"
        text = json.dumps(report(stats, scene, size, device, constants.validation), indent=2)
        outputs.append(("--bench", args.bench, lambda f: f.write(f"{text}\n".encode())))
    failed = []
    for option, path, write in outputs:
        try:
            _write_output(option, path, write)
            print(f"{'benchmark' if option == '--bench' else 'screenshot'}: {path}")
        except UsageError as exc:
            failed.append(exc)
    print(f"{stats.frames} frames in {stats.seconds:.2f} s ({stats.fps:.1f} fps)")
    if failed:
        raise failed[0]
    return 0


def _known_errors() -> tuple[type[BaseException], ...]:
    from eng.com.common import ConfigError
    from eng.model_data import ModelError
    from eng.shader_watch import ShaderError
    from eng.snapshots import SnapshotError
    from eng.texture_cache import TextureError
    from eng.vk.util import VulkanError
    from eng.vk.vma import VmaError
    from eng.wnd import WindowError
    from game.book_data import BookDataError

    return (
        ConfigError,
        ModelError,
        TextureError,
        VulkanError,
        VmaError,
        WindowError,
        UsageError,
        BookDataError,
        ShaderError,
        SnapshotError,
    )


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    fmt = "%(levelname)s %(name)s: %(message)s"
    if args.log_level == "debug":  # milliseconds since start: where start-up time goes
        fmt = "%(relativeCreated)6.0f ms " + fmt
    logging.basicConfig(level=args.log_level.upper(), format=fmt)
    logging.getLogger("PIL").setLevel(max(logging.INFO, logging.root.level))
    try:
        import vulkan  # noqa: F401  (its import fails without a Vulkan loader)
    except OSError:
        print(
            "error: no Vulkan loader (libvulkan.so.1) found; install one (Debian: apt-get "
            "install libvulkan1 mesa-vulkan-drivers)",
            file=sys.stderr,
        )
        return 1
    try:
        return run(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if args.debug or not isinstance(exc, _known_errors()):
            raise
        print(f"error: {exc}", file=sys.stderr)
        return 2 if isinstance(exc, UsageError) else 1
