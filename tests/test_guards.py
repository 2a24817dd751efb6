"""Tests that stand guard over details a bug could change without another test noticing: the
kinds and totals the VMA map draws, pipelines kept when new ones fail, culling that keeps the
picture of rotated and scaled meshes, and the hand-offs' batch size."""

import json
import re
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from eng.extras.culling import Culling
from eng.extras.handoff import HandOffs
from eng.vk.errors import VulkanError
from eng.vk.pipe import VkPipeline
from game.main import Game
from game.scenes import load_spec

from .helpers import (
    CRATE,
    ROOT,
    book_file,
    compare_golden,
    create_engine,
    render_headless,
    run_engine,
)
from .test_cli import run_game

RES = ROOT / "resources" / "scene"
KINDS = (  # the names the engine gives its allocations, and the kind each one is
    (r" vertices$", "vertex buffer"),
    (r" indices$", "index buffer"),
    (r"^materials$", "material buffer"),
    (r"^SCN_DESC_ID_CAM\d$", "camera uniform"),
    (r"^depth \d$", "depth attachment"),
    (r"^offscreen \d$", "colour attachment"),
    (r"\.png$|^<default>$", "texture"),
)


def test_the_memory_map_draws_each_allocation_as_its_kind_and_the_true_totals(tmp_path):
    svg, report = tmp_path / "map.svg", tmp_path / "report.json"
    result = run_game("--headless", "--frames", "1", "--size", "64x48", "--vma-map", svg)
    assert result.returncode == 0, result.stderr
    run_game("--headless", "--frames", "1", "--size", "64x48", "--vma-report", report)
    titles = [t.text or "" for t in ET.parse(svg).iter("{http://www.w3.org/2000/svg}title")]
    kinds = dict(re.match(r"(.*?): ([a-z ]+), ", t).groups() for t in titles if " at offset " in t)
    assert len(kinds) == 22
    for name, kind in kinds.items():
        expected = next(k for pattern, k in KINDS if re.search(pattern, name))
        assert kind == expected, name
    text = " ".join(t.text or "" for t in ET.parse(svg).iter("{http://www.w3.org/2000/svg}text"))
    assert "VMA memory: 22 allocations in 1 VkDeviceMemory object" in text
    assert report.read_text().count('"Name"') == 22


def test_pipelines_that_fail_to_build_leave_the_old_ones_drawing(lavapipe, monkeypatch):
    """--watch-shaders: a pipeline that fails after a good compile keeps the last good ones,
    alive and drawing (a failure that destroyed them would leave the next frame without)."""
    engine = create_engine(Game(load_spec(None, None)), lavapipe, (64, 48), capture=True)
    render = engine.render
    assert render is not None and render.scn is not None
    scn = render.scn
    old = dict(scn.pipelines)
    real, made = VkPipeline.create.__func__, []

    def create(cls, ctx, info, name=""):
        if len(made) == 1:
            raise VulkanError("vkCreateGraphicsPipelines failed (injected)")
        made.append(name)
        return real(cls, ctx, info, name)

    monkeypatch.setattr(VkPipeline, "create", classmethod(create))
    with pytest.raises(VulkanError):
        render.reload_shaders({})
    monkeypatch.undo()
    assert scn.pipelines == old and all(p.pipeline is not None for p in old.values())
    stats, image = run_engine(engine, 2)
    assert stats.validation_messages == 0 and image is not None and image[..., :3].any()


@pytest.mark.parametrize(("name", "scene"), [("default_scene", None), ("crate_fit", CRATE)])
def test_culling_keeps_the_golden_pictures(lavapipe, name, scene):
    size = (320, 240) if scene is None else (256, 256)
    image, messages = render_headless(lavapipe, scene, None, size, extras=[Culling()])
    assert messages == []
    compare_golden(image, name, regenerate=False)


def test_culling_keeps_meshes_that_only_their_rotation_or_scale_brings_into_view(
    lavapipe, tmp_path
):
    """A crate scaled 8 times, and a column turned on its side, each placed so that it would be
    outside the view unscaled or upright: boxes that ignored rotation or scale would drop them."""
    scene = tmp_path / "scene.json"
    models = [str(RES / "crate" / "crate.json"), str(RES / "column" / "column.json")]
    entities = [
        {"id": "big", "model": "crate", "pos": [9.5, 0, -10], "scale": 8},
        {"id": "lying", "model": "column", "pos": [-11, -2, -10], "rotation": [0, 0, -90]},
    ]
    camera = {"pos": [0, 0, 0], "pitch": 0, "yaw": -90}
    scene.write_text(json.dumps({"models": models, "entities": entities, "camera": camera}))
    book, messages = render_headless(lavapipe, scene, None, (160, 120))
    culled, culled_messages = render_headless(lavapipe, scene, None, (160, 120), extras=[Culling()])
    assert messages == culled_messages == []
    left, right = book[:, :40, :3], book[:, 120:, :3]
    assert left.any() and right.any(), "both meshes show at the edges of the view"
    assert np.array_equal(culled, book)


@pytest.mark.book_data
def test_the_default_hand_off_batch_is_50000_triangles(lavapipe):
    """A Sponza frame hands its triangles over once per 50,000 drawn: a batch of 5 writes a
    hand-off after almost every draw, and one that never hands off writes none."""
    handoffs = HandOffs()
    game = Game(load_spec(book_file("sponza", "Sponza.json"), None))
    engine = create_engine(game, lavapipe, (64, 48), extras=[handoffs])
    scn = engine.render.scn
    run_engine(engine, 1)
    triangles = [i.index_count // 3 for i in scn.draw_list.opaque + scn.draw_list.blended]
    expected = since = 0
    for count in triangles:
        since += count
        if since >= 50_000:
            expected, since = expected + 1, 0
    assert 1 < expected < 32 and handoffs.written == expected
    assert np.sum(triangles) > 50_000
