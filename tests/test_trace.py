"""See the frame: `--trace FILE.json` (a Chrome trace-event file) and `--vma-map FILE.svg`."""

import json
import os
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from eng.com.common import FRAMES_IN_FLIGHT
from eng.engine import EngCtx, InitData
from eng.entity import Entity
from eng.extras.trace import Tracer, Unwrapped
from game import cli
from game.keys import Keys
from game.main import Game
from game.scenes import load_spec

from .helpers import create_engine, run_engine
from .test_cli import run_game
from .test_vma_visible import KeyGame, allocations_of

ROOT = Path(__file__).resolve().parent.parent
STAGES = ["input_update", "wait", "acquire", "uniforms", "record", "submit", "present"]
STARTUP = [
    "python start-up, imports, options",
    "window, Vulkan instance and device",
    "scene pass made, models read (game.init)",
    "textures decoded and staged",
    "models staged",
    "staging copied on the GPU, mipmaps made",
    "staging freed, scene descriptors written",
    "first frame recorded and submitted",
]
SVG = "{http://www.w3.org/2000/svg}"


def traced(tmp_path: Path, *args: str) -> dict:
    path = tmp_path / "trace.json"
    assert cli.main(["--headless", "--validation", "--trace", str(path), *args]) == 0
    return json.loads(path.read_text())


def spans(trace: dict, tid: int) -> list[dict]:
    return [e for e in trace["traceEvents"] if e["ph"] == "X" and e["tid"] == tid]


@pytest.mark.parametrize("calibrated", [True, False], ids=["calibrated", "aligned-at-submit"])
def test_the_trace_has_ordered_stages_gpu_spans_inside_their_window_and_counters(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, calibrated: bool
) -> None:
    """lavapipe has VK_EXT_calibrated_timestamps; without it (a device that lacks it) the
    GPU's clock is aligned at submit. Either way each GPU span lies in its frame's window."""
    if not calibrated:
        monkeypatch.setattr(Tracer, "device_extensions", lambda self: ())
    trace = traced(
        tmp_path, "--frames", "12", "--size", "64x48", "--vma-report", str(tmp_path / "r.json")
    )
    events = trace["traceEvents"]
    for event in events:
        if event["ph"] == "X":
            assert {"ph", "ts", "dur", "pid", "tid"} <= event.keys(), event
            assert event["dur"] >= 0
    cpu, gpu, load = spans(trace, 1), spans(trace, 2), spans(trace, 3)
    assert len(cpu) == 12 * len(STAGES) and len(gpu) == 12
    assert [s["name"] for s in load] == STARTUP
    by_frame: dict[int, list[dict]] = {}
    for span in cpu:
        by_frame.setdefault(span["args"]["frame"], []).append(span)
    for frame, stages in by_frame.items():
        names = [s["name"].replace("reuse", "record") for s in stages]
        assert names == STAGES, frame
        assert {s["args"]["slot"] for s in stages} == {frame % 2}
        assert {s["args"]["image"] for s in stages} == {frame % 2}  # headless: the slot's
    for track in (cpu, gpu, load):  # one after the other on each track, exactly
        for a, b in zip(track, track[1:], strict=False):
            assert a["ts"] + a["dur"] <= b["ts"], (a, b)
    # each GPU span lies between its submit and the return of the wait for its fence
    for span in gpu:
        frame = span["args"]["frame"]
        submit = next(s for s in by_frame[frame] if s["name"] == "submit")
        assert span["ts"] >= submit["ts"] - 0.01
        later = [s for f, st in by_frame.items() for s in st if f > frame and f % 2 == frame % 2]
        waited = next((s for s in later if s["name"] == "wait"), None)
        if waited is not None:
            assert span["ts"] + span["dur"] <= waited["ts"] + waited["dur"] + 0.01
    alignment = trace["metadata"]["gpu_clock_alignment"]
    assert alignment.startswith("calibrated: VK_" if calibrated else "submit:"), alignment
    # the counters: VMA's bytes as --vma-report's totals, the draws of the default scene
    report = json.loads((tmp_path / "r.json").read_text())["Total"]
    counters = [e for e in events if e["ph"] == "C"]
    vma = [e["args"] for e in counters if e["name"] == "VMA bytes"]
    assert len(vma) == 12
    assert vma[-1] == {"allocated": report["AllocationBytes"], "blocks": report["BlockBytes"]}
    draws = [e["args"]["draws"] for e in counters if e["name"] == "draws"]
    assert len(draws) == 12 and min(draws) > 0


def test_timestamps_are_counted_on_past_the_wrap_of_an_8_bit_counter() -> None:
    unwrapped = Unwrapped(8)  # a device whose timestamps have 8 valid bits: 255, then 0
    assert [unwrapped(t) for t in (200, 250, 5, 3, 60)] == [200, 250, 261, 259, 316]


def test_only_the_last_frames_are_kept(tmp_path: Path) -> None:
    trace = traced(tmp_path, "--frames", "9", "--size", "32x24", "--trace-frames", "4")
    frames = sorted({s["args"]["frame"] for s in spans(trace, 1)})
    assert frames == [5, 6, 7, 8]


class Spinning(Game):
    """The default scene's entities copied COPIES times over a grid, each turning every frame:
    every frame is recorded afresh, with 2,500 draws or more (the GPU-bound scene)."""

    COPIES = 150

    def init(self, eng_ctx: EngCtx) -> InitData:
        data = super().init(eng_ctx)
        originals = list(eng_ctx.scene.entities.values())
        for n in range(self.COPIES):
            for original in originals:
                entity = Entity(f"{original.id} {n}", original.model_id)
                entity.set_pos(n % 20 - 10.0, 0.0, -2.0 - n // 20)
                entity.update()
                eng_ctx.scene.add_entity(entity)
        return data

    def animate(self, eng_ctx: EngCtx, delta_sec: float) -> None:
        for n, entity in enumerate(eng_ctx.scene.entities.values()):
            entity.set_rotation_deg(0.0, (n + time.perf_counter() * 90.0) % 360.0, 0.0)
            entity.update()


def test_with_two_frames_in_flight_the_gpu_works_while_the_cpu_records_the_next(
    tmp_path: Path, constants
) -> None:
    """The GPU span of some frame overlaps the next frame's recording, on clocks calibrated
    against each other (lavapipe has VK_EXT_calibrated_timestamps)."""
    tracer = Tracer(tmp_path / "t.json")
    engine = create_engine(Spinning(load_spec(None, None)), constants, (640, 480), True, [tracer])
    stats, _ = run_engine(engine, 12)
    assert stats.validation_messages == 0
    trace = json.loads((tmp_path / "t.json").read_text())
    assert trace["metadata"]["gpu_clock_alignment"].startswith("calibrated")
    gpu = {s["args"]["frame"]: s for s in spans(trace, 2)}
    records = [s for s in spans(trace, 1) if s["name"] == "record"]
    assert len(records) == 12, "every frame is recorded afresh"
    overlapping = [
        r
        for r in records
        if (g := gpu.get(r["args"]["frame"] - 1)) is not None
        and g["ts"] < r["ts"] + r["dur"]
        and r["ts"] < g["ts"] + g["dur"]
    ]
    assert len(overlapping) >= 6, (len(overlapping), records, gpu)


def test_the_trace_option_checks_its_file_first(tmp_path: Path) -> None:
    result = run_game("--headless", "--frames", "1", "--trace", str(tmp_path / "t.txt"))
    assert result.returncode == 2 and "--trace" in result.stderr and ".json" in result.stderr
    assert not (tmp_path / "t.txt").exists()


def test_the_svg_map_titles_every_allocation_of_the_report(tmp_path: Path) -> None:
    map_path, report_path = tmp_path / "map.svg", tmp_path / "report.json"
    assert cli.main(
        ["--headless", "--frames", "1", "--size", "32x24", "--vma-map", str(map_path),
         "--vma-report", str(report_path)]
    ) == 0  # fmt: skip
    root = ET.parse(map_path).getroot()
    assert root.tag == f"{SVG}svg"
    shapes = [r for r in root.iter(f"{SVG}rect") if r.get("data-kind") == "allocation"]
    assert all(r.find(f"{SVG}title") is not None for r in shapes)
    got = sorted((r.get("data-name", ""), int(r.get("data-size", 0))) for r in shapes)
    report = json.loads(report_path.read_text())
    want = sorted((a.get("Name", ""), int(a["Size"])) for a in allocations_of(report))
    assert got == want
    for shape in shapes:
        title = shape.find(f"{SVG}title")
        assert title is not None and title.text is not None
        assert shape.get("data-name", "") in title.text and "offset" in title.text
    blocks = [r for r in root.iter(f"{SVG}rect") if r.get("data-kind") == "memory"]
    assert blocks and all("memory type" in (r.findtext(f"{SVG}title") or "") for r in blocks)
    assert len(blocks) == report["Total"]["BlockCount"] + sum(
        len(p.get("DedicatedAllocations", [])) for p in report["DefaultPools"].values()
    )


_CHILD = """
import sys
sys.argv = ["game"] + sys.argv[1:]
print("started", flush=True)
from game.cli import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.parametrize("delay", [0.3, 1.0, 1.6, 2.5])
def test_ctrl_c_during_a_traced_run_leaves_a_whole_trace_or_none(
    tmp_path: Path, delay: float
) -> None:
    path = tmp_path / "t.json"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.pop("DISPLAY", None)
    proc = subprocess.Popen(
        [sys.executable, "-c", _CHILD, "--headless", "--size", "320x240", "--stress", "500",
         "--frames", "100000", "--trace", str(path)],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "started"
    time.sleep(delay)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert [p.name for p in tmp_path.iterdir() if p != path] == []  # no temporary file left
    if path.exists():
        trace = json.loads(path.read_text())
        assert all("dur" in e for e in trace["traceEvents"] if e["ph"] == "X")


def test_in_a_window_each_frame_names_the_swapchain_image_it_drew(tmp_path, xvfb_display):
    """The swapchain's images take turns (more of them than the 2 frames in flight), also
    after the resize that a new window's first frame makes."""
    out = tmp_path / "t.json"
    window = {"DISPLAY": xvfb_display}
    args = ("--frames", "12", "--size", "160x120", "--no-vsync", "--trace", str(out))
    result = run_game(*args, cwd=tmp_path, env_changes=window)
    assert result.returncode == 0, result.stderr
    events = json.loads(out.read_text())["traceEvents"]
    images = [e["args"]["image"] for e in events if e.get("name") == "wait"]
    assert len(images) == 12 and len(set(images)) > 2, images


class PressT(KeyGame):
    """Presses T at frame 5 and Escape at frame 9."""

    def input(self, eng_ctx: EngCtx, delta_sec: float) -> None:
        Game.input(self, eng_ctx, delta_sec)
        sdl = eng_ctx.wnd.sdl
        self.frame += 1
        if self.frame in (5, 9):
            self.press(sdl, sdl.SDL_SCANCODE_T if self.frame == 5 else sdl.SDL_SCANCODE_ESCAPE)


@pytest.mark.parametrize("traced", [True, False], ids=["with --trace", "without"])
def test_key_t_writes_the_trace_of_the_frames_so_far(
    xvfb_display, constants, tmp_path: Path, capsys: pytest.CaptureFixture, traced: bool
) -> None:
    tracer = Tracer(None) if traced else None
    extras = [tracer, Keys(tmp_path, tracer)] if tracer is not None else [Keys(tmp_path)]
    engine = create_engine(PressT(load_spec(None, None)), constants, (160, 120), False, extras)
    stats, _ = run_engine(engine, 100)
    assert stats.frames < 100, "Escape was not seen"
    written = list(tmp_path.glob("zvk-trace-*.json"))
    out = capsys.readouterr().out
    if tracer is None:
        assert written == [] and "key T: run with --trace FILE.json" in out
        return
    assert len(written) == 1 and f"trace: {written[0].absolute()}" in out
    trace = json.loads(written[0].read_text())
    frames = sorted({s["args"]["frame"] for s in spans(trace, 1)})
    assert frames == list(range(len(frames))) and 3 <= len(frames) < 9, frames
    # the GPU spans of the frames whose fences were waited for; the last ones are in flight
    assert [s["args"]["frame"] for s in spans(trace, 2)] == frames[:-FRAMES_IN_FLIGHT]
    assert trace["metadata"]["gpu_clock_alignment"].startswith("calibrated")
