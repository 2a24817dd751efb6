"""Scenes as users give them to --scene: converted glTF/GLB/OBJ, missing textures, and more
textures than the device can bind - rendered headless with validation on."""

import logging
import shutil
from pathlib import Path

import numpy as np
import pytest

import eng.render
from eng.texture_cache import TextureCache, TextureError
from game import scenes

from .helpers import (
    CRATE,
    assert_shows_texture,
    compare_golden,
    create_engine,
    render_headless,
    run_engine,
)
from .test_cli import run_game
from .test_model_gen import textured_box


@pytest.fixture
def model_cache(tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    monkeypatch.setattr(scenes, "MODEL_CACHE", cache)
    return cache


def test_glb_renders_and_its_conversion_is_cached(constants, tmp_path, model_cache):
    mesh, texture = textured_box()
    glb = tmp_path / "box.glb"
    mesh.export(glb)
    image, messages = render_headless(constants, glb, None, (96, 96))
    assert messages == []
    assert_shows_texture(image, np.asarray(texture))
    converted = list(model_cache.iterdir())
    assert len(converted) == 1
    stamp = (converted[0] / "box.vtx").stat().st_mtime_ns
    again, _ = render_headless(constants, glb, None, (96, 96))
    assert (converted[0] / "box.vtx").stat().st_mtime_ns == stamp  # reused, not converted
    assert np.array_equal(image, again)


def test_obj_with_texture_renders(constants, tmp_path, model_cache):
    mesh, texture = textured_box(uv_seed=3)
    obj = tmp_path / "box.obj"
    mesh.export(obj)
    image, messages = render_headless(constants, obj, None, (96, 96))
    assert messages == []
    assert_shows_texture(image, np.asarray(texture))


def test_the_texture_check_fails_without_the_texture(constants, tmp_path, model_cache, monkeypatch):
    """Control: with textures switched off (the material colour only) the check fails."""
    monkeypatch.setattr(TextureCache, "add_textures_from_paths", lambda self, ctx, paths: set())
    mesh, texture = textured_box()
    glb = tmp_path / "box.glb"
    mesh.export(glb)
    image, _ = render_headless(constants, glb, None, (96, 96))
    with pytest.raises(AssertionError):
        assert_shows_texture(image, np.asarray(texture))


def test_missing_texture_falls_back_to_the_material_colour(constants, tmp_path, caplog):
    for name in ("crate.json", "crate-mat.json", "crate.vtx", "crate.idx"):
        shutil.copy(CRATE.parent / name, tmp_path / name)
    caplog.set_level(logging.WARNING, logger="eng.texture")
    image, messages = render_headless(constants, tmp_path / "crate.json", None, (64, 64))
    assert messages == []
    warnings = [r.getMessage() for r in caplog.records if r.name == "eng.texture"]
    assert len(warnings) == 1 and "crate.png" in warnings[0]
    # the crate's material colour is white: the middle of the picture is white
    assert (image[28:36, 28:36, :3] == 255).all()


def test_a_scene_with_more_textures_than_the_device_binds_fails_clearly(constants, monkeypatch):
    monkeypatch.setattr(eng.render, "device_texture_limit", lambda phys: 3)
    with pytest.raises(TextureError, match="more than 3 textures"):
        render_headless(constants, None, None, (64, 48))


def test_a_lower_device_limit_sizes_the_sampler_array(lavapipe, monkeypatch):
    """Bookworm's own lavapipe binds 32 samplers: the array shrinks, the picture does not."""
    monkeypatch.setattr(eng.render, "device_texture_limit", lambda phys: 8)
    image, messages = render_headless(lavapipe, None, None, (320, 240))
    assert messages == []
    compare_golden(image, "default_scene", regenerate=False)


def test_an_entity_without_its_model_is_skipped_with_one_warning(constants, caplog):
    """As the book's renderScn.zig: the entity is not drawn and a warning names it."""
    from eng.entity import Entity
    from game.main import Game

    class WithAStray(Game):
        def init(self, eng_ctx):
            data = super().init(eng_ctx)
            eng_ctx.scene.add_entity(Entity("stray", "no-such-model"))
            return data

    reference, _ = render_headless(constants, CRATE, None, (64, 48))
    caplog.set_level(logging.WARNING, logger="eng.render")
    engine = create_engine(
        WithAStray(scenes.load_spec(CRATE, None)), constants, (64, 48), True, capture=True
    )
    _, image = run_engine(engine, 3)
    warnings = [r.getMessage() for r in caplog.records if r.name == "eng.render"]
    assert warnings == ["entity stray: model no-such-model is not loaded"]
    assert np.array_equal(image, reference)


def test_a_converted_scene_says_where_it_went(tmp_path):
    import trimesh

    glb = tmp_path / "box.glb"
    glb.write_bytes(trimesh.creation.box().export(file_type="glb"))
    env = {"XDG_CACHE_HOME": str(tmp_path / "cache")}
    for _ in ("converted", "from the cache"):
        result = run_game("--headless", "--frames", "1", "--size", "32x24", "--scene", str(glb),
                          env_changes=env)  # fmt: skip
        assert result.returncode == 0, result.stderr
        (line,) = [x for x in result.stdout.splitlines() if "converted into" in x]
        model = Path(line.split("converted into ")[1])
        assert line.startswith(f"{glb}: ") and model.is_absolute() and model.is_file()
        assert model.is_relative_to(tmp_path / "cache")
