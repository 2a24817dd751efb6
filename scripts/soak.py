"""Soak test: render many headless frames and check that memory stays flat.

    python scripts/soak.py                       # 10,000 frames of the book's Sponza, 320x240
    python scripts/soak.py --frames 500 --scene resources/scene/scene.json

After a warm-up (100 frames by default) it records the process's resident memory (RSS, from
/proc/self/statm) and the VMA statistics, and again after the last frame. It prints both, then
one line of JSON, and exits with status 1 if RSS grew by more than --rss-limit bytes (1 MB by
default) or if the VMA statistics changed at all; 0 otherwise.
"""

import argparse
import ctypes
import gc
import json
import logging
import os
import resource
import statistics
import sys
import time
from dataclasses import asdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

DEFAULT_SCENE = Path("sponza")  # the book's (make book-data)
DEFAULT_FRAMES = 10_000
DEFAULT_WARMUP = 100
DEFAULT_SIZE = (320, 240)
RSS_LIMIT = 1_000_000  # bytes


def _malloc_trim():
    """glibc's malloc_trim, to hand freed heap memory back before RSS is read (else what the
    rasterizer threads of a software GPU freed still counts); None elsewhere."""
    try:
        return ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return None


_TRIM = _malloc_trim()


def rss_bytes() -> int:
    """Resident set size of this process now (not the peak), from /proc/self/statm."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:  # no /proc: the peak is the best there is
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def rss_anon_bytes() -> int | None:
    """The anonymous part of RSS (heap and mmap'd memory, where leaks live), without the
    pages of shared libraries that are read in as new code paths run; None without /proc."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("RssAnon:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def sample(engine) -> dict:
    gc.collect()
    if _TRIM is not None:
        _TRIM(0)
    return {
        "rss": rss_bytes(),
        "rss_anon": rss_anon_bytes(),
        "python_blocks": sys.getallocatedblocks(),
        "vma": asdict(engine.ctx.vma.statistics()),
        "time": time.perf_counter(),
    }


def soak(
    scene: Path | None = DEFAULT_SCENE,
    frames: int = DEFAULT_FRAMES,
    warmup: int = DEFAULT_WARMUP,
    size: tuple[int, int] = DEFAULT_SIZE,
    validation: bool = False,
    rss_limit: int = RSS_LIMIT,
    progress=None,
    interval: int | None = None,
) -> dict:
    """Renders `frames` headless frames of `scene` (None: the project's default scene) and
    returns the samples after `warmup` frames and at the end, their differences and `ok`."""
    if not 0 < warmup < frames:
        raise ValueError(f"the warm-up ({warmup}) must be shorter than the run ({frames})")
    from eng.com import common
    from eng.engine import Engine
    from eng.extras.offscreen import OffscreenTarget
    from eng.hooks import Extra
    from eng.run import EngineOptions
    from game.main import Game
    from game.scenes import load_spec

    interval = interval or max(10, (frames - warmup) // 100)
    samples: list[tuple[int, dict]] = []

    class Sampler(Extra):
        """After each frame rendered: the samples, and the progress every 1000 frames."""

        def after_frame(self, render, rendered: int) -> None:
            if rendered == warmup // 2:
                sample(engine)  # the first trim hands back memory the load phase freed
            if rendered >= warmup and ((rendered - warmup) % interval == 0 or rendered == frames):
                samples.append((rendered, sample(engine)))
            if progress is not None and rendered % 1000 == 0:
                progress(rendered)

    constants = common.load().with_overrides(validation=validation)
    game = Game(load_spec(scene, None))
    engine = Engine.create(
        game, constants, EngineOptions(size), [Sampler()], OffscreenTarget(*size)
    )
    validation_log = engine.ctx.instance.validation_log
    stats = engine.run(frames)  # cleans up; raises VmaError on a leak at exit
    start, end = samples[0][1], samples[-1][1]
    # RSS on a software GPU swings by a megabyte or two between samples (its rasterizer
    # threads allocate and free every frame), up and down; a leak moves the whole series.
    # Compare the median RSS of the first quarter of the samples with that of the last.
    quarter = max(1, len(samples) // 4)
    median_start = statistics.median(s["rss"] for _, s in samples[:quarter])
    median_end = statistics.median(s["rss"] for _, s in samples[-quarter:])
    rss_growth = int(median_end - median_start)
    vma_changed = any(s["vma"] != start["vma"] for _, s in samples)
    messages = len(validation_log.messages) if validation_log is not None else 0
    return {
        "scene": str(scene) if scene is not None else "default",
        "size": f"{size[0]}x{size[1]}",
        "frames": stats.frames,
        "warmup_frames": warmup,
        "measured_frames": stats.frames - warmup,
        "seconds": round(end["time"] - start["time"], 3),
        "fps": round((stats.frames - warmup) / max(end["time"] - start["time"], 1e-9), 1),
        "samples": len(samples),
        "sample_every": interval,
        "rss_warmup": start["rss"],
        "rss_end": end["rss"],
        "rss_point_growth": end["rss"] - start["rss"],
        "rss_median_first_quarter": int(median_start),
        "rss_median_last_quarter": int(median_end),
        "rss_growth": rss_growth,
        "rss_limit": rss_limit,
        "rss_series_kib": [[n, s["rss"] // 1024, s["rss_anon"] // 1024] for n, s in samples],
        "python_blocks_growth": end["python_blocks"] - start["python_blocks"],
        "vma_warmup": start["vma"],
        "vma_end": end["vma"],
        "vma_changed": vma_changed,
        "vma_live_at_exit": stats.vma_live_at_exit,
        "validation": validation,
        "validation_messages": messages,
        "ok": rss_growth <= rss_limit and not vma_changed and messages == 0,
    }


def _size(text: str) -> tuple[int, int]:
    width, _, height = text.lower().partition("x")
    try:
        size = int(width), int(height)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a size like 320x240") from None
    if min(size) < 1:
        raise argparse.ArgumentTypeError(f"'{text}' is not a size like 320x240")
    return size


def report(result: dict) -> str:
    mib = 2**20
    vma_w, vma_e = result["vma_warmup"], result["vma_end"]
    return "\n".join(
        [
            f"soak: {result['frames']} frames of {result['scene']} at {result['size']} "
            f"({result['measured_frames']} measured after {result['warmup_frames']} warm-up, "
            f"{result['fps']} fps)",
            f"RSS after warm-up {result['rss_warmup'] / mib:.2f} MiB, at the end "
            f"{result['rss_end'] / mib:.2f} MiB ({result['rss_point_growth'] / 1024:+.0f} KiB); "
            f"median of the first and last quarter of {result['samples']} samples "
            f"{result['rss_median_first_quarter'] / mib:.2f} and "
            f"{result['rss_median_last_quarter'] / mib:.2f} MiB: growth "
            f"{result['rss_growth'] / 1024:+.0f} KiB (limit {result['rss_limit'] / 1024:.0f} KiB)",
            f"VMA after warm-up {vma_w['allocations']} allocations / {vma_w['blocks']} blocks / "
            f"{vma_w['allocation_bytes']} bytes, at the end {vma_e['allocations']} / "
            f"{vma_e['blocks']} / {vma_e['allocation_bytes']}: "
            + ("CHANGED" if result["vma_changed"] else "unchanged"),
            f"Python heap: {result['python_blocks_growth']:+d} allocated blocks",
            "result: " + ("ok" if result["ok"] else "FAILED"),
        ]
    )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--scene", type=Path, default=DEFAULT_SCENE, help="scene or model .json")
    p.add_argument("--frames", type=int, default=DEFAULT_FRAMES)
    p.add_argument("--warmup", type=int, default=DEFAULT_WARMUP)
    p.add_argument("--size", type=_size, default=DEFAULT_SIZE, metavar="WxH")
    p.add_argument("--rss-limit", type=int, default=RSS_LIMIT, metavar="BYTES")
    p.add_argument("--validation", action="store_true", help="with the validation layers")
    p.add_argument("--json", type=Path, metavar="PATH", help="also write the JSON to PATH")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if not 0 < args.warmup < args.frames:
        p.error(f"--warmup ({args.warmup}) must be between 1 and --frames - 1")

    def progress(n: int) -> None:
        print(f"  {n} frames", file=sys.stderr, flush=True)

    result = soak(
        args.scene, args.frames, args.warmup, args.size, args.validation, args.rss_limit, progress
    )
    print(report(result))
    text = json.dumps(result)
    print(text)
    if args.json is not None:
        args.json.write_text(text + "\n")
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
