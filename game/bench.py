"""The benchmark: `python -m game --bench out.json ...` writes one run's figures as JSON;
`python -m game.bench` (what `make bench` runs) runs the standard scenes in fresh processes and
prints a table. Figures are measured, never asserted: compare runs made on one machine."""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from eng.com.safe_io import write_bytes_atomic
from game import book_data
from game.options import UsageError, check_folder

if TYPE_CHECKING:  # for annotations only: the engine is imported where it is used
    from eng.extras.profile import Profiler
    from eng.run import RunStats

# --stress N and the frames each run renders (lavapipe draws 100,000 entities slowly)
STRESS_FRAMES = ((100, 200), (1_000, 200), (10_000, 100), (100_000, 30))
# Stages of a frame that are the engine's own CPU work (waits for the GPU are left out)
CPU_STAGES = ("input_update", "uniforms", "record", "submit", "present")
# ... of which these come before present (on lavapipe, present is the driver copying the image
# into the window)
BEFORE_PRESENT = CPU_STAGES[:-1]


def process_age() -> float:
    """Seconds since this process started (Linux: from /proc; elsewhere: since import)."""
    try:
        with open("/proc/self/stat") as f:
            start_ticks = int(f.read().rsplit(")", 1)[1].split()[19])
        with open("/proc/uptime") as f:
            uptime = float(f.read().split()[0])
        return uptime - start_ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return time.perf_counter() - _IMPORTED


_IMPORTED = time.perf_counter()


def peak_rss_mb() -> float | None:
    """The process's peak resident memory in MB (None where the resource module is missing)."""
    try:
        import resource  # POSIX only
    except ImportError:
        return None
    kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(kib / (1024 * 1024 if sys.platform == "darwin" else 1024), 1)  # macOS: bytes


def _median_p95(values: list[float], scale: float = 1.0) -> dict[str, float]:
    if not values:
        return {"median": 0.0, "p95": 0.0}
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {"median": statistics.median(ordered) * scale, "p95": p95 * scale}


def _per_frame(stages: dict[str, list[float]], names: tuple[str, ...]) -> list[float]:
    """The sum of the named stages for each frame (the last frames where the counts differ:
    the loop's first iterations may time the input stage before a frame was rendered)."""
    present = [stages[s] for s in names if s in stages]
    n = min((len(v) for v in present), default=0)
    return [sum(v[len(v) - n + i] for v in present) for i in range(n)]


def report(
    stats: "RunStats",
    profiler: "Profiler",
    scene: str,
    size: tuple[int, int],
    device: str,
    validation: bool,
) -> dict:
    """The benchmark JSON for one run (docs/performance.md says what each field is): the
    frames after the profiler's warm-up."""
    startup_s = process_age() - (time.perf_counter() - profiler.first_frame_done)
    stages, threads = profiler.timings.stages, profiler.timings.thread_stages
    gpu = profiler.gpu_timer
    frame_ms, fragments = (gpu.frame_ms, gpu.fragments) if gpu is not None else ([], [])
    vma = stats.vma
    assert vma is not None, "Engine.run measures it once the scene is loaded"
    measured = profiler.measured
    return {
        "scene": scene,
        "frames": measured.frames,
        "warmup_frames": stats.frames - measured.frames,
        "seconds": round(measured.seconds, 4),
        "width": size[0],
        "height": size[1],
        "device": device,
        "python": platform.python_version(),
        "validation": validation,
        "startup_s": round(startup_s, 4),
        "load_s": round(stats.load_s, 4),
        "cpu_frame_ms": _median_p95(_per_frame(stages, CPU_STAGES), 1e3),
        "cpu_breakdown_ms": {s: _median_p95(v, 1e3)["median"] for s, v in stages.items()},
        # the main thread's own CPU time (time.thread_time), beside the wall-clock figures
        "thread_frame_ms": _median_p95(_per_frame(threads, CPU_STAGES), 1e3),
        "thread_breakdown_ms": {s: _median_p95(v, 1e3)["median"] for s, v in threads.items()},
        "before_present_ms": {
            "wall": _median_p95(_per_frame(stages, BEFORE_PRESENT), 1e3)["median"],
            "thread": _median_p95(_per_frame(threads, BEFORE_PRESENT), 1e3)["median"],
        },
        "gpu_frame_ms": _median_p95(frame_ms),
        # fragment shader invocations per frame (a pipeline-statistics query) per pixel
        "fragments_per_pixel": round(statistics.median(fragments) / (size[0] * size[1]), 3)
        if fragments
        else None,
        "fps": round(measured.fps, 3),
        "cpu_s_per_frame": round(measured.cpu_seconds / max(measured.frames, 1), 5),
        # the main thread's CPU time per frame, everything included (extras, hooks, waits' own)
        "main_thread_ms_per_frame": round(
            1e3 * measured.thread_seconds / max(measured.frames, 1), 4
        ),
        "draws_per_frame": stats.draws_per_frame,
        "vma": {
            "allocations": vma.allocations,
            "blocks": vma.blocks,
            "allocation_bytes": vma.allocation_bytes,
            "block_bytes": vma.block_bytes,
        },
        "device_memory_allocations": vma.blocks,
        "peak_rss_mb": peak_rss_mb(),
        "validation_messages": stats.validation_messages,
        "vma_live_allocations_at_exit": stats.vma_live_at_exit,
    }


ALL_EXTRAS = ["--depth-prepass", "--culling", "--handoffs"]  # the same picture, faster
RUNS = [  # (label, options, size, frames)
    ("default scene", [], "1280x720", 300),
    ("Sponza (book)", ["--scene", "sponza"], "1920x1080", 100),
    ("Sponza, --handoffs", ["--scene", "sponza", "--handoffs"], "1920x1080", 100),
    ("Sponza, all extras", ["--scene", "sponza", *ALL_EXTRAS], "1920x1080", 100),
]
SCALE_SIZE = "320x240"
SCALE_RUNS = [  # (label, options, frames): the scale scenes, headless at SCALE_SIZE
    *(
        (f"--stress {n:,}", ["--stress", str(n), "--culling"], frames)
        for n, frames in STRESS_FRAMES
    ),
    ("--stress-static 10,000 (flying)", ["--stress-static", "10000", "--culling"], 100),
]
TRACE_ROUNDS = 5  # the default scene without and with --trace, in turns (1,000 frames each)


def run_bench(label: str, options: list[str], size: str, frames: int, out_dir: Path) -> dict | None:
    """One benchmark run in a fresh process, its JSON written into `out_dir`; that JSON, or
    None (reported) if it failed."""
    out = out_dir / f"bench-{''.join(c if c.isalnum() else '-' for c in label)}.json"
    args = ["--headless", "--no-validation", "--frames", str(frames), "--size", size]
    args += ["--bench", str(out), *options]
    result = subprocess.run([sys.executable, "-m", "game", *args], capture_output=True, text=True)
    if result.returncode != 0:
        print(f"{label}: failed\n{result.stderr}", file=sys.stderr)
        return None
    print(f"{label}: {out}")
    return json.loads(out.read_text())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m game.bench",
        description="Run the standard benchmark scenes headless, each in a fresh process "
        "(`python -m game --bench`), and print their tables; Sponza is left out without the "
        "book's models (`python -m game.book_data`). It takes minutes.",
    )
    parser.add_argument(
        "--out-dir",
        type=Path,
        default=Path("."),
        metavar="DIR",
        help="where each run's --bench JSON goes (default: the current folder)",
    )
    args = parser.parse_args(argv)
    try:
        check_folder("--out-dir", args.out_dir)
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    out_dir = args.out_dir.absolute()
    rows = []
    for label, options, size, frames in RUNS:
        if "sponza" in options and book_data.find_res() is None:
            print(f"skipping {label}: run `python -m game.book_data` to download the book's models")
            continue
        if (data := run_bench(label, options, size, frames, out_dir)) is None:
            return 1
        rows.append((label, data))
    header = (
        "scene",
        "size",
        "fps",
        "CPU s/frame",
        "engine CPU ms",
        "GPU ms",
        "startup s",
        "load s",
        "RSS MB",
        "VkDeviceMemory",
    )
    print(" | ".join(header))
    for label, r in rows:
        print(
            " | ".join(
                [
                    label,
                    f"{r['width']}x{r['height']}",
                    f"{r['fps']:.1f}",
                    f"{r['cpu_s_per_frame']:.3f}",
                    f"{r['cpu_frame_ms']['median']:.3f}",
                    f"{r['gpu_frame_ms']['median']:.1f}",
                    f"{r['startup_s']:.2f}",
                    f"{r['load_s']:.2f}",
                    f"{r['peak_rss_mb']:.0f}",
                    str(r["device_memory_allocations"]),
                ]
            )
        )
    return scaling_table(out_dir) or trace_cost(out_dir)


def scaling_table(out_dir: Path) -> int:
    """The scale scenes: the engine's CPU time per frame as the entity count grows."""
    rows = []
    for label, options, frames in SCALE_RUNS:
        if (data := run_bench(label, options, SCALE_SIZE, frames, out_dir)) is None:
            return 1
        rows.append((label, data))
    print(f"scaling, headless {SCALE_SIZE}")
    print(
        "scene | engine CPU ms (median / p95) | main-thread CPU ms | before present ms | "
        "draws | fps"
    )
    for label, r in rows:
        cpu = r["cpu_frame_ms"]
        print(
            f"{label} | {cpu['median']:.2f} / {cpu['p95']:.2f} | "
            f"{r['thread_frame_ms']['median']:.2f} | {r['before_present_ms']['wall']:.2f} | "
            f"{r['draws_per_frame']} | {r['fps']:.1f}"
        )
    return 0


def trace_cost(out_dir: Path) -> int:
    """What `--trace` costs: the main thread's CPU time per frame of the default scene,
    without and with it, in alternating runs; the figures also go to trace-cost.json."""
    runs: dict[str, list[float]] = {"without": [], "with": []}
    for round_ in range(1, TRACE_ROUNDS + 1):
        for key in runs:
            options = ["--trace", str(out_dir / "bench-trace.json")] if key == "with" else []
            label = f"default scene, {key} --trace, round {round_}"
            if (data := run_bench(label, options, SCALE_SIZE, 1000, out_dir)) is None:
                return 1
            runs[key].append(data["main_thread_ms_per_frame"])
    without, with_ = statistics.median(runs["without"]), statistics.median(runs["with"])
    figures = {
        "main_thread_ms_per_frame": runs,
        "trace_cost_ms_per_frame": round(with_ - without, 4),
    }
    write_bytes_atomic(out_dir / "trace-cost.json", json.dumps(figures, indent=1).encode())
    print(
        f"--trace, headless {SCALE_SIZE}: the main thread's CPU ms a frame, median of "
        f"{TRACE_ROUNDS} rounds: {without:.3f} without, {with_:.3f} with, so it costs "
        f"{with_ - without:.3f} ms a frame"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
