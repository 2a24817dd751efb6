"""Command line of `python -m game`: options over cfg.toml (parsed and checked by
game/options.py), clear one-line errors.

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
import sys
from collections.abc import Callable
from pathlib import Path
from typing import IO, TYPE_CHECKING

from game.options import (
    DEFAULT_SIZE,
    HEADLESS_FRAMES,
    UsageError,
    build_parser,
    check_folder,
    check_outputs,
    output_path,
)

if TYPE_CHECKING:  # for annotations only: the engine is imported where it is used
    from eng.com.common import Constants

log = logging.getLogger("game")


def _write_output(option: str, path: Path, write: Callable[[IO[bytes]], object]) -> None:
    """`write(file)` into `path` through a temporary name: Ctrl-C or a failure leaves a file
    that was there as it was."""
    from eng.com.safe_io import atomic_write

    try:
        with atomic_write(path) as f:
            write(f)
    except OSError as exc:
        raise UsageError(f"{option} {path}: cannot write it ({exc.strerror or exc})") from None


def print_info(constants: "Constants") -> None:
    import vulkan as vk

    from eng.sdl_loader import WindowError, sdl_version
    from eng.vk.phys import version_str
    from eng.vk.vma import vma_version

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
    for line in devices():
        print(f"GPU           {line}")


def devices() -> list[str]:
    """The Vulkan devices, one line each, by the index --gpu takes (eng/vk/phys.py)."""
    from eng.vk.inst import VkInstance
    from eng.vk.phys import list_devices

    instance = VkInstance.create(False, [])
    try:
        return list_devices(instance)
    finally:
        instance.cleanup()


def _check_run_options(args: argparse.Namespace) -> None:
    """The options that go together only in some ways, before anything is made."""
    if args.bench is None:
        for option, value in (("--seconds", args.seconds), ("--warmup", args.warmup)):
            if value is not None:
                raise UsageError(f"{option}: only with --bench (it sets how a benchmark runs)")
    if args.fullscreen and args.headless:
        raise UsageError("--fullscreen needs a window: leave out --headless")
    stress = "--stress" if args.stress else "--stress-static" if args.stress_static else None
    if stress and args.scene is not None:
        raise UsageError("--stress and --stress-static use the default scene: leave out --scene")
    if stress and args.camera is not None:
        raise UsageError(f"--camera: {stress} places its own camera; leave out one of them")
    if isinstance(args.gpu, int) and args.gpu >= (count := len(devices())):
        raise UsageError(
            f"--gpu {args.gpu}: no device of that index ({count} found; see --list-gpus)"
        )


def run(args: argparse.Namespace) -> int:
    from eng.com import common
    from eng.com.paths import DEFAULT_CFG

    constants = common.load(args.config or DEFAULT_CFG).with_overrides(
        gpu=args.gpu, validation=args.validation, vsync=args.vsync
    )
    if args.info:
        print_info(constants)
        return 0
    if args.list_gpus:
        print("\n".join(devices()))
        return 0
    _check_run_options(args)
    features = tuple(f for f in args.validation_features.split(",") if f)
    from eng.vk.validation import VALIDATION_FEATURES

    unknown = [f for f in features if f not in VALIDATION_FEATURES]
    if unknown:
        raise UsageError(f"--validation-features: unknown feature(s) {', '.join(unknown)}")
    check_outputs(args)
    if args.out_dir is not None:
        check_folder("--out-dir", args.out_dir)
    out_dir = (args.out_dir or Path(".")).absolute()

    from eng.com.interrupts import interrupts_deferred

    # a Ctrl-C is held while the engine's modules load: raised inside a C extension's
    # initialisation (pyglm's), it crashed the interpreter instead of ending with one line
    with interrupts_deferred():
        from eng.engine import Engine
        from eng.run import EngineOptions
        from eng.sdl_loader import window_unavailable
        from game.compose import compose
        from game.main import Game
        from game.scenes import load_spec

    headless = args.headless
    screenshot = args.screenshot
    if not headless and (reason := window_unavailable()):
        from eng.extras.snapshots import stamped_name

        headless = True
        screenshot = screenshot or stamped_name("zvk-screenshot", ".png", out_dir)
        screenshot = output_path("--screenshot", screenshot, (".png",))
        print(f"no window ({reason}): rendering headless into {screenshot}", file=sys.stderr)
    stress = args.stress or args.stress_static
    spec = load_spec(args.scene, args.view)
    size = args.size or DEFAULT_SIZE
    made = compose(args, size, headless, screenshot, out_dir)
    if stress:
        from game.stress import StressGame

        assert made.instancing is not None, "the stress scenes are instanced"
        game: Game = StressGame(spec, stress, args.stress_static is not None, made.instancing)
    else:
        game = Game(spec, made.instancing, args.camera)
    frames = args.frames or (None if args.seconds or not headless else HEADLESS_FRAMES)
    if frames is not None and made.profiler is not None:  # its warm-up's are not measured
        frames += made.profiler.warmup
    options = EngineOptions(
        size, features, args.dedicated_images, args.anisotropy, args.fullscreen and not headless
    )
    with Engine.create(game, constants, options, made.extras, made.offscreen) as engine:
        assert engine.ctx is not None, "made by Engine.create"
        device = engine.ctx.phys.name
        stats = engine.run(frames)
    outputs = []  # (option, path, write): each is tried, whether or not another fails
    image = made.capture.image if made.capture is not None else None
    if screenshot is not None and image is not None:
        from PIL import Image

        picture = Image.fromarray(image[..., :3])
        outputs.append(("--screenshot", screenshot, lambda f: picture.save(f, format="PNG")))
    if made.profiler is not None:
        from game.bench import report

        scene = str(args.scene or "default scene")
        if stress:
            scene = f"{'stress-static' if args.stress_static else 'stress'} {stress}"
        figures = report(stats, made.profiler, scene, size, device, constants.validation)
        text = json.dumps(figures, indent=2)
        outputs.append(("--bench", args.bench, lambda f: f.write(f"{text}\n".encode())))
    failed = []
    for option, path, write in outputs:
        try:
            _write_output(option, path, write)
            print(f"{'benchmark' if option == '--bench' else 'screenshot'}: {path.absolute()}")
        except UsageError as exc:
            failed.append(exc)
    print(f"{stats.frames} frames in {stats.seconds:.2f} s ({stats.fps:.1f} fps)")
    if failed:
        raise failed[0]
    return 0


def _known_errors() -> tuple[type[BaseException], ...]:
    from eng.com.common import ConfigError
    from eng.extras.shader_watch import ShaderError
    from eng.extras.snapshots import SnapshotError
    from eng.model_data import ModelError
    from eng.sdl_loader import WindowError
    from eng.spirv import SpirvError
    from eng.texture_cache import TextureError
    from eng.vk.errors import VulkanError
    from eng.vk.vma import VmaError
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
        SpirvError,
        SnapshotError,
    )


class StreamError(Exception):
    """Standard output or error could not be written (closed pipe, full disk, ...)."""


class _Guarded:
    """A standard stream whose write failures become one StreamError naming it."""

    def __init__(self, stream: IO[str], name: str) -> None:
        self._stream, self._name = stream, name

    def _failed(self, exc: OSError) -> StreamError:
        return StreamError(f"cannot write to standard {self._name} ({exc.strerror or exc})")

    def write(self, text: str) -> int:
        try:
            return self._stream.write(text)
        except OSError as exc:
            raise self._failed(exc) from None

    def flush(self) -> None:
        try:
            self._stream.flush()
        except OSError as exc:
            raise self._failed(exc) from None

    def __getattr__(self, name: str) -> object:
        return getattr(self._stream, name)


def open_standard_streams() -> None:
    """A closed descriptor 0, 1 or 2 (`2>&-`) becomes /dev/null, so the first file opened
    does not take its number (a layer writing to stderr would write into it) and sys.stderr
    is not None (its isatty() failed silently); text the stream's encoding cannot hold
    (PYTHONIOENCODING=ascii) is escaped instead of failing after the work is done."""
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
        except OSError:
            os.open(os.devnull, os.O_RDONLY if fd == 0 else os.O_WRONLY)  # the lowest free: fd
    for name in ("stdout", "stderr"):
        if getattr(sys, name) is None:
            setattr(sys, name, open(os.devnull, "w"))  # noqa: SIM115 (for the process' life)
        stream = getattr(sys, name)
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")


def main(argv: list[str] | None = None, prog: str = "zvk") -> int:
    """The command line; `prog` names the command in messages: `zvk` is the installed
    script, game/__main__.py passes `python -m game`.

    The one place where the standard streams' failures and the stop signals end: a closed
    pipe or a full disk on stdout/stderr is one line (on stderr if it still works) and
    status 1; SIGINT, SIGTERM, SIGHUP and SIGQUIT clean up and exit 128 + the signal."""
    from eng.com.interrupts import exit_status, stop_on_signals

    open_standard_streams()
    stop_on_signals()
    stdout, stderr = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = _Guarded(stdout, "output"), _Guarded(stderr, "error")
    try:
        try:
            status = _main(argv, prog)
        except SystemExit as exc:  # argparse: --help, --version and its errors
            status = exc.code if isinstance(exc.code, int) else 0 if exc.code is None else 2
        sys.stdout.flush()
        return status
    except KeyboardInterrupt as exc:  # from a stream's failure's handling too
        print("interrupted" if type(exc) is KeyboardInterrupt else f"stopped by {exc}", file=stderr)
        return exit_status(exc)
    except StreamError as exc:
        _silence(stdout)
        try:
            print(f"error: {exc}", file=stderr, flush=True)
        except OSError:
            _silence(stderr)
        return 1
    finally:
        sys.stdout, sys.stderr = stdout, stderr


def _silence(stream: IO[str]) -> None:
    """A stream that failed: what it still buffers goes nowhere (else Python reports it at
    exit with a traceback)."""
    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), stream.fileno())
    except (OSError, ValueError) as exc:  # not a real file (a test's capture)
        log.debug("%s", exc)


def _main(argv: list[str] | None, prog: str) -> int:
    args = build_parser(prog).parse_args(argv)
    fmt = "%(levelname)s %(name)s: %(message)s"
    if args.log_level == "debug":  # milliseconds since start: where start-up time goes
        fmt = "%(relativeCreated)6.0f ms " + fmt
    logging.basicConfig(level=args.log_level.upper(), format=fmt)
    logging.getLogger("PIL").setLevel(max(logging.INFO, logging.root.level))
    from eng.com.interrupts import interrupts_deferred

    try:
        with interrupts_deferred():  # a Ctrl-C then is raised once the import is over
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
    except MemoryError:  # wherever it struck (a texture's decode says which file itself)
        if args.debug:
            raise
        print("error: out of memory", file=sys.stderr)
        return 1
    except Exception as exc:
        if args.debug or not isinstance(exc, _known_errors()):
            raise
        print(f"error: {exc}", file=sys.stderr)
        return 2 if isinstance(exc, UsageError) else 1
