"""The benchmark: `python -m game --bench out.json ...` writes one run's figures as JSON;
`python -m game.bench` (what `make bench` runs) runs the standard scenes in fresh processes and
prints a table. Figures are measured, never asserted: compare runs made on one machine."""

import json
import os
import platform
import statistics
import subprocess
import sys
import time

from eng.com.common import PROJECT_ROOT
from game import book_data

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


def report(stats, scene: str, size: tuple[int, int], device: str, validation: bool) -> dict:
    """The benchmark JSON for one run (see the performance issue for the fields)."""
    startup_s = process_age() - (time.perf_counter() - stats.first_frame_done)
    stages, threads = stats.stages, stats.thread_stages
    vma = stats.vma
    return {
        "scene": scene,
        "frames": stats.frames,
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
        "gpu_frame_ms": _median_p95(stats.gpu_frame_ms),
        # fragment shader invocations per frame (a pipeline-statistics query) per pixel
        "fragments_per_pixel": round(statistics.median(stats.fragments) / (size[0] * size[1]), 3)
        if stats.fragments
        else None,
        "fps": round(stats.fps, 3),
        "cpu_s_per_frame": round(stats.cpu_seconds / max(stats.frames, 1), 5),
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


RUNS = [  # (label, --scene or None for the default scene, size, frames)
    ("default scene", None, "1280x720", 300),
    ("Sponza (book)", "sponza", "1920x1080", 100),
]


def main() -> int:
    rows = []
    for label, scene, size, frames in RUNS:
        if scene in book_data.MODELS and book_data.find_res() is None:
            print(f"skipping {label}: run `make book-data` to download the book's models")
            continue
        out = PROJECT_ROOT / "build" / f"bench-{label.split()[0].lower()}.json"
        args = [
            "--headless",
            "--no-validation",
            "--frames",
            str(frames),
            "--size",
            size,
            "--bench",
            str(out),
        ]
        if scene is not None:
            args += ["--scene", str(scene)]
        result = subprocess.run(
            [sys.executable, "-m", "game", *args], capture_output=True, text=True
        )
        if result.returncode != 0:
            print(f"{label}: failed\n{result.stderr}", file=sys.stderr)
            return 1
        rows.append((label, json.loads(out.read_text())))
        print(f"{label}: {out}")
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
    return 0


if __name__ == "__main__":
    sys.exit(main())
