"""Soak: scripts/soak.py's code for 500 frames of the default scene - memory stays flat - and
two controls that show it does catch a leak (host memory, VMA allocations)."""

import importlib.util

import pytest
import vulkan as vk

from eng.render import Render
from eng.vk.buf import VkBuffer

from .helpers import ROOT


@pytest.fixture(scope="module")
def soak_module():
    spec = importlib.util.spec_from_file_location("soak", ROOT / "scripts" / "soak.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(autouse=True)
def one_rasterizer_thread(monkeypatch):
    """lavapipe's rasterizer threads make RSS swing by a megabyte or two between samples;
    with LP_NUM_THREADS=0 (read at each instance creation) llvmpipe draws on this thread and
    RSS measures what the engine holds. scripts/soak.py itself leaves the driver as it is."""
    monkeypatch.setenv("LP_NUM_THREADS", "0")


def test_500_frames_of_the_default_scene_keep_memory_flat(soak_module):
    result = soak_module.soak(scene=None, frames=500, validation=True)
    assert result["frames"] == 500 and result["measured_frames"] == 400
    assert result["validation_messages"] == 0
    assert not result["vma_changed"], (result["vma_warmup"], result["vma_end"])
    assert result["vma_live_at_exit"] == 0
    assert result["rss_growth"] <= soak_module.RSS_LIMIT, result["rss_series_kib"]
    assert result["ok"]
    text = soak_module.report(result)
    assert "RSS after warm-up" in text and "VMA after warm-up" in text and "result: ok" in text


def test_soak_catches_a_host_memory_leak(soak_module, monkeypatch):
    leaked = []
    real = Render.render

    def leaky_render(self, eng_ctx):
        leaked.append(bytearray(16384))  # 16 KiB a frame: 4.7 MiB over 300 frames
        return real(self, eng_ctx)

    monkeypatch.setattr(Render, "render", leaky_render)
    result = soak_module.soak(scene=None, frames=400, size=(64, 48))
    assert result["rss_growth"] > soak_module.RSS_LIMIT
    assert not result["ok"]


def test_soak_catches_a_vma_leak(soak_module, monkeypatch):
    leaked = []
    real_render, real_cleanup = Render.render, Render.cleanup
    rendered = {"n": 0}

    def leaky_render(self, eng_ctx):
        if rendered["n"] % 50 == 0:
            buffer = VkBuffer.create(self.ctx, 4096, vk.VK_BUFFER_USAGE_VERTEX_BUFFER_BIT)
            leaked.append(buffer)
        done = real_render(self, eng_ctx)
        rendered["n"] += done
        return done

    def cleanup(self):  # frees the leak at exit, else the allocator would refuse to go
        for buffer in leaked:
            buffer.cleanup(self.ctx)
        real_cleanup(self)

    monkeypatch.setattr(Render, "render", leaky_render)
    monkeypatch.setattr(Render, "cleanup", cleanup)
    result = soak_module.soak(scene=None, frames=250, size=(64, 48))
    assert result["vma_changed"]
    assert result["vma_end"]["allocations"] > result["vma_warmup"]["allocations"]
    assert not result["ok"]


def test_soak_command_line_prints_a_report_and_json(soak_module, capsys, tmp_path):
    out = tmp_path / "soak.json"
    status = soak_module.main(
        ["--scene", str(ROOT / "resources" / "scene" / "scene.json"), "--frames", "150"]
        + ["--warmup", "50", "--size", "64x48", "--json", str(out)]
    )
    printed = capsys.readouterr().out.strip().splitlines()
    import json

    data = json.loads(printed[-1])
    assert data == json.loads(out.read_text())
    assert status == (0 if data["ok"] else 1)
    assert data["frames"] == 150 and data["warmup_frames"] == 50
    assert any(line.startswith("RSS after warm-up") for line in printed)
