"""Chapter 10 made visible: VMA's report and map agree with VMA's statistics, and the window's
M and F12 keys and its title (issue 13)."""

import json
from pathlib import Path

import numpy as np
import pytest
import vulkan as vk
from PIL import Image

import game.keys
from eng.extras.snapshots import MAP_METADATA, Snapshots, key_screenshot, key_vma
from eng.extras.vma_map import COLOURS, draw_map, kind_of
from eng.run import window_title
from eng.vk.buf import VkBuffer
from eng.vk.vma import VmaStats
from game import cli
from game.keys import Keys
from game.main import Game
from game.scenes import load_spec

from .helpers import create_engine, default_scene_engine, run_engine
from .test_cli import assert_one_line_error, run_game

QUICK = ["--headless", "--frames", "1", "--size", "32x24"]

KINDS_OF_THE_DEFAULT_SCENE = {
    "vertex buffer",
    "index buffer",
    "material buffer",
    "camera uniform",
    "texture",
    "depth attachment",
    "colour attachment",
}


def allocations_of(report: dict) -> list[dict]:
    """Every allocation in VMA's dump: the blocks' sub-allocations and the dedicated ones."""
    found = []
    for pool in report["DefaultPools"].values():
        for block in pool["Blocks"].values():
            found += [s for s in block["Suballocations"] if s["Type"] != "FREE"]
        found += pool["DedicatedAllocations"]
    return found


def memories_of(report: dict) -> list[tuple[int, int, int]]:
    """(size, bytes used, allocations) of each VkDeviceMemory object in VMA's dump."""
    found = []
    for pool in report["DefaultPools"].values():
        for block in pool["Blocks"].values():
            size = block["TotalBytes"]
            found.append((size, size - block["UnusedBytes"], block["Allocations"]))
        found += [(d["Size"], d["Size"], 1) for d in pool["DedicatedAllocations"]]
    return sorted(found)


def coloured_spans(row: np.ndarray) -> int:
    """How many runs of allocation colours a row of pixels holds (edges and free space
    separate them)."""
    colours = {tuple(c) for c in COLOURS.values()}
    inside = np.array([tuple(p) in colours for p in row.tolist()])
    return int(inside[0]) + int(np.count_nonzero(inside[1:] & ~inside[:-1]))


@pytest.mark.parametrize("dedicated", [False, True], ids=["pooled", "dedicated-images"])
def test_report_and_map_match_the_vma_statistics(constants, tmp_path, dedicated):
    report_path, map_path = tmp_path / "vma.json", tmp_path / "vma.png"
    engine = default_scene_engine(
        constants, (320, 240), [Snapshots(report_path, map_path)], dedicated_images=dedicated
    )
    validation_log = engine.ctx.instance.validation_log
    stats = engine.run(2)
    assert validation_log.messages == []
    assert stats.vma_live_at_exit == 0

    report = json.loads(report_path.read_text())
    total = report["Total"]
    vma = stats.vma  # VkVmaAlloc.statistics() once the scene was loaded
    assert total["BlockCount"] == vma.blocks
    assert total["AllocationCount"] == vma.allocations
    assert total["BlockBytes"] == vma.block_bytes
    assert total["AllocationBytes"] == vma.allocation_bytes
    allocations = allocations_of(report)
    assert len(allocations) == vma.allocations
    assert all(a.get("Name") for a in allocations), "an allocation without our debug name"
    assert {kind_of(a) for a in allocations} == KINDS_OF_THE_DEFAULT_SCENE
    dedicated_count = sum(len(p["DedicatedAllocations"]) for p in report["DefaultPools"].values())
    images = sum(a["Type"].startswith("IMAGE") for a in allocations)
    assert dedicated_count == (images if dedicated else 0)

    image = Image.open(map_path)
    summary = json.loads(image.text[MAP_METADATA])
    pixels = np.asarray(image.convert("RGB"))
    assert pixels.shape[1] == 1920
    assert summary["allocations"] == vma.allocations
    assert summary["blocks"] + summary["dedicated"] == vma.blocks
    assert summary["memory_bytes"] == vma.block_bytes
    assert summary["used_bytes"] == vma.allocation_bytes
    assert summary["fill"] == f"{vma.allocation_bytes / vma.block_bytes:.0%}"
    shown = summary["memories"]
    assert sorted((m["size"], m["used"], m["allocations"]) for m in shown) == memories_of(report)
    spans = 0
    for memory in shown:
        assert memory["fill"] == f"{memory['used'] / memory['size']:.0%}"
        x0, y0, x1, y1 = memory["box"]
        count = coloured_spans(pixels[y1 - 3, x0:x1])  # below the names written in spans
        assert count == memory["allocations"], memory
        spans += count
    assert spans == vma.allocations


def test_vma_options_check_their_files_first(tmp_path):
    assert_one_line_error(run_game(*QUICK, "--vma-report", "r.txt"), "--vma-report", ".json")
    missing = tmp_path / "no-such-folder" / "m.png"
    assert_one_line_error(run_game(*QUICK, "--vma-map", str(missing)), "no-such-folder")
    folder = tmp_path / "map.png"
    folder.mkdir()
    assert_one_line_error(run_game(*QUICK, "--vma-map", str(folder)), "--vma-map", "folder")


def test_vma_options_write_their_files_atomically(tmp_path):
    report, vma_map = tmp_path / "r.json", tmp_path / "m.png"
    report.write_text("old")
    result = run_game(*QUICK, "--vma-report", str(report), "--vma-map", str(vma_map))
    assert result.returncode == 0, result.stderr
    assert f"VMA report: {report}" in result.stdout and f"VMA map: {vma_map}" in result.stdout
    assert json.loads(report.read_text())["Total"]["AllocationCount"] > 0
    assert Image.open(vma_map).width == 1920
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.png", "r.json"]  # no temporaries


def test_window_title_figures():
    stats = VmaStats(allocations=22, blocks=2, allocation_bytes=0, block_bytes=0)
    assert window_title("Vulkan Book", 50.0, 7, stats) == (
        "Vulkan Book - 50.0 fps, 20.0 ms, 7 draws, VMA 2 blocks / 22 allocations"
    )


class KeyGame(Game):
    """Presses M and F12 at frame 5, then Escape once the title shows its figures."""

    def __init__(self, spec) -> None:
        super().__init__(spec)
        self.frame = 0
        self.seen_title = ""

    def press(self, sdl, scancode) -> None:
        event = sdl.SDL_Event()
        event.type = sdl.SDL_EVENT_KEY_DOWN
        event.key.scancode = scancode
        sdl.SDL_PushEvent(event)

    def input(self, eng_ctx, delta_sec):
        super().input(eng_ctx, delta_sec)
        wnd = eng_ctx.wnd
        sdl = wnd.sdl
        self.frame += 1
        if self.frame == 5:
            self.press(sdl, sdl.SDL_SCANCODE_M)
            self.press(sdl, sdl.SDL_SCANCODE_F12)
        title = sdl.SDL_GetWindowTitle(wnd.window).decode()
        if "fps" in title and self.frame > 5:
            self.seen_title = title
            self.press(sdl, sdl.SDL_SCANCODE_ESCAPE)


def test_keys_m_and_f12_write_their_files_and_the_title_shows_the_figures(
    xvfb_display, constants, tmp_path, capsys
):
    game = KeyGame(load_spec(None, None))
    engine = create_engine(game, constants, (160, 120), False, [Keys(tmp_path)])
    validation_log = engine.ctx.instance.validation_log
    stats, _ = run_engine(engine, 2000)
    assert validation_log.messages == []
    assert stats.frames < 2000, "the title never showed its figures"
    reports = list(tmp_path.glob("zvk-vma-*.json"))
    maps = list(tmp_path.glob("zvk-vma-*.png"))
    shots = list(tmp_path.glob("zvk-screenshot-*.png"))
    assert (len(reports), len(maps), len(shots)) == (1, 1, 1), list(tmp_path.iterdir())
    assert json.loads(reports[0].read_text())["Total"]["AllocationCount"] == stats.vma.allocations
    assert MAP_METADATA in Image.open(maps[0]).text
    shot = np.asarray(Image.open(shots[0]))
    assert shot.shape == (120, 160, 3) and shot.max() > 0
    out = capsys.readouterr().out
    assert f"VMA report: {reports[0]}" in out and f"screenshot: {shots[0]}" in out
    vma = stats.vma
    assert f"VMA {vma.blocks} blocks / {vma.allocations} allocations" in game.seen_title
    assert " fps, " in game.seen_title and " ms, " in game.seen_title
    assert f"{stats.draws_per_frame} draws" in game.seen_title


def test_a_block_of_many_allocations_widens_the_map_and_loses_none(ctx):
    """700 small buffers in one block need more than 1920 pixels at 3 pixels each."""
    buffers = [
        VkBuffer.create(ctx, 256, vk.VK_BUFFER_USAGE_VERTEX_BUFFER_BIT, name=f"b{i}")
        for i in range(700)
    ]
    try:
        report = json.loads(ctx.vma.stats_json())
    finally:
        for buffer in buffers:
            buffer.cleanup(ctx)
    image, summary = draw_map(report)
    assert image.width > 1920
    pixels = np.asarray(image)
    counts = [
        coloured_spans(pixels[y1 - 3, x0:x1])
        for x0, _, x1, y1 in (m["box"] for m in summary["memories"])
    ]
    assert sum(counts) == summary["allocations"] == 700


def test_the_keys_print_absolute_paths(ctx, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    Path("keys").mkdir()
    key_screenshot(np.zeros((4, 4, 4), np.uint8), Path("keys"))
    key_vma(ctx.vma, Path("keys"))
    out = capsys.readouterr().out
    written = sorted((tmp_path / "keys").iterdir())
    assert len(written) == 3
    for path in written:
        assert f": {path}\n" in out, out


def test_the_keys_write_into_out_dir(xvfb_display, tmp_path, monkeypatch):
    folders = []

    class Recording(Keys):
        def __init__(self, folder: Path, tracer: object = None) -> None:
            super().__init__(folder)
            folders.append(folder)

    monkeypatch.setattr(game.keys, "Keys", Recording)
    monkeypatch.chdir(tmp_path)
    Path("out").mkdir()
    assert cli.main(["--frames", "2", "--size", "64x48", "--out-dir", "out"]) == 0
    assert folders == [tmp_path / "out"]
