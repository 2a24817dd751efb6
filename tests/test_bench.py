"""The benchmark runs and writes valid JSON (figures are measured, never asserted here)."""

import json

import pytest
from PIL import Image

from eng.extras.profile import Profiler
from eng.hooks import Extra, Extras
from game.options import BENCH_WARMUP

from .helpers import default_scene_engine
from .test_cli import run_game

SMALL = ["--headless", "--validation", "--size", "64x48"]

FIELDS = {
    "scene": str,
    "frames": int,
    "warmup_frames": int,
    "seconds": float,
    "width": int,
    "height": int,
    "device": str,
    "python": str,
    "startup_s": float,
    "load_s": float,
    "cpu_frame_ms": dict,
    "cpu_breakdown_ms": dict,
    "gpu_frame_ms": dict,
    "fps": float,
    "cpu_s_per_frame": float,
    "main_thread_ms_per_frame": float,
    "draws_per_frame": int,
    "vma": dict,
    "device_memory_allocations": int,
    "peak_rss_mb": float,
    "validation_messages": int,
    "vma_live_allocations_at_exit": int,
    "validation": bool,
    "thread_frame_ms": dict,
    "thread_breakdown_ms": dict,
    "before_present_ms": dict,
    "fragments_per_pixel": float,
}


def test_bench_writes_the_documented_json(tmp_path):
    out = tmp_path / "bench.json"
    result = run_game(
        "--headless", "--validation", "--frames", "12", "--size", "160x120", "--bench", str(out)
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(out.read_text())
    for name, kind in FIELDS.items():
        assert isinstance(data[name], kind), (name, data[name])
    assert data["frames"] == 12 and (data["width"], data["height"]) == (160, 120)
    assert set(data["cpu_frame_ms"]) == {"median", "p95"}
    assert set(data["gpu_frame_ms"]) == {"median", "p95"}
    assert {"input_update", "uniforms", "record", "submit", "present"} <= set(
        data["cpu_breakdown_ms"]
    )
    assert set(data["vma"]) == {"allocations", "blocks", "allocation_bytes", "block_bytes"}
    assert data["vma"]["allocations"] > 0 and data["draws_per_frame"] > 0
    assert data["gpu_frame_ms"]["median"] > 0
    assert data["validation"] is True
    # the main thread's own CPU time cannot exceed the wall-clock time of the same stages
    assert set(data["thread_breakdown_ms"]) == set(data["cpu_breakdown_ms"])
    assert 0 < data["thread_frame_ms"]["median"] <= data["cpu_frame_ms"]["median"] * 1.05
    assert 0 < data["before_present_ms"]["thread"] <= data["thread_frame_ms"]["median"]
    # the main thread's whole CPU time a frame: about no less than its stages' (a median,
    # hence the margin), no more than the process's (every thread's)
    main_thread = data["main_thread_ms_per_frame"]
    assert data["thread_frame_ms"]["median"] * 0.5 < main_thread <= data["cpu_s_per_frame"] * 1e3
    assert 0 < data["fragments_per_pixel"] < 10
    assert data["validation_messages"] == 0
    assert data["vma_live_allocations_at_exit"] == 0


def test_the_warm_up_frames_are_rendered_but_not_measured(tmp_path):
    out = tmp_path / "bench.json"
    result = run_game(*SMALL, "--frames", "5", "--warmup", "3", "--bench", str(out))
    assert result.returncode == 0, result.stderr
    data = json.loads(out.read_text())
    assert (data["frames"], data["warmup_frames"]) == (5, 3)
    assert "8 frames in" in result.stdout  # all that were rendered
    assert data["seconds"] > 0 and data["fps"] == pytest.approx(5 / data["seconds"], rel=0.01)


def test_seconds_measures_that_long_after_the_default_warm_up(tmp_path):
    out, shot = tmp_path / "bench.json", tmp_path / "last.png"
    result = run_game(*SMALL, "--seconds", "0.5", "--bench", str(out), "--screenshot", str(shot))
    assert result.returncode == 0, result.stderr
    data = json.loads(out.read_text())
    assert data["warmup_frames"] == BENCH_WARMUP and data["frames"] > 0
    assert 0.5 <= data["seconds"] < 5
    assert f"{data['frames'] + BENCH_WARMUP} frames in" in result.stdout
    assert Image.open(shot).size == (64, 48)  # the run's last frame is known when it is drawn


def test_the_profiler_drops_what_it_timed_in_the_warm_up(constants):
    profiler = Profiler(warmup=4)
    engine = default_scene_engine(constants, (64, 48), [profiler])
    stats = engine.run(10)
    assert stats.frames == 10 and profiler.measured.frames == 6
    stages = profiler.timings.stages
    assert {len(stages[s]) for s in ("uniforms", "record", "submit", "present")} == {6}
    assert profiler.gpu_timer is not None and 0 < len(profiler.gpu_timer.frame_ms) <= 6


def test_an_extra_can_make_a_frame_the_last():
    """Extras.before_frame hands every extra the `last` that any extra's ends_run made."""

    class Ends(Extra):
        def ends_run(self) -> bool:
            return True

    class Sees(Extra):
        last = None

        def before_frame(self, eng_ctx, render, last) -> None:
            self.last = last

    sees = Sees()
    assert Extras([sees]).before_frame(None, None, False) is False and sees.last is False
    assert Extras([sees, Ends()]).before_frame(None, None, False) is True and sees.last is True
