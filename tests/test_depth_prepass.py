"""The depth pre-pass (`--depth-prepass`): the same pictures, each pixel shaded about once."""

import numpy as np
import pytest

from eng.extras.depth_prepass import DepthPrepass
from eng.extras.profile import Profiler
from eng.extras.render_inst import Instancing
from game import scenes
from game.main import Game
from game.scenes import load_spec

from .helpers import (
    CRATE,
    assert_shows_texture,
    book_file,
    compare_golden,
    create_engine,
    render_headless,
    run_engine,
)
from .test_model_gen import textured_box

SPONZA = book_file("sponza", "Sponza.json")


@pytest.mark.parametrize(
    ("name", "scene", "size"),
    [
        ("default_scene", None, (320, 240)),
        ("crate_fit", CRATE, (256, 256)),
        pytest.param("sponza_book", SPONZA, (480, 270), marks=pytest.mark.book_data),
    ],
)
def test_prepass_matches_the_golden_images(lavapipe, name, scene, size):
    image, messages = render_headless(lavapipe, scene, None, size, extras=[DepthPrepass()])
    assert messages == []
    compare_golden(image, name, regenerate=False)


def fragments_and_picture(constants, instanced: bool, depth_prepass: bool):
    """Fragment shader invocations of a default-scene frame (pipeline-statistics query),
    and the frame."""
    profiler = Profiler()
    instancing = Instancing(depth_prepass=depth_prepass) if instanced else None
    extras = [DepthPrepass()] if depth_prepass else []
    extras += [e for e in (instancing, profiler) if e is not None]
    game = Game(load_spec(None, None), instancing)
    engine = create_engine(game, constants, (320, 240), extras=extras, capture=True)
    stats, image = run_engine(engine, 12)
    assert profiler.gpu_timer is not None
    fragments = profiler.gpu_timer.fragments
    assert stats.validation_messages == 0 and fragments
    assert len(set(fragments)) == 1  # a still scene: the same count every frame
    return fragments[0], image


@pytest.mark.parametrize("instanced", [False, True], ids=["per-draw", "instanced"])
def test_prepass_shades_fewer_fragments_for_the_same_picture(lavapipe, instanced):
    (without, book), (with_prepass, prepass) = (
        fragments_and_picture(lavapipe, instanced, p) for p in (False, True)
    )
    assert with_prepass < without
    assert with_prepass <= 320 * 240  # the scene is opaque: at most one per pixel
    assert np.array_equal(prepass, book)


@pytest.mark.parametrize("inside_out", [False, True])
def test_prepass_keeps_the_picture_where_back_faces_show(
    lavapipe, tmp_path, monkeypatch, inside_out
):
    """The pre-pass culls back faces. A box turned inside out shows only back faces from
    outside: the pre-pass writes the far side's depth, and the shaded pass must still draw the
    near side the book draws (an EQUAL test would show the far side instead)."""
    monkeypatch.setattr(scenes, "MODEL_CACHE", tmp_path / "cache")
    mesh, texture = textured_box(uv_seed=5)
    if inside_out:
        mesh.invert()
    glb = tmp_path / "box.glb"
    mesh.export(glb)
    book, messages = render_headless(lavapipe, glb, None, (96, 96))
    prepass, prepass_messages = render_headless(
        lavapipe, glb, None, (96, 96), extras=[DepthPrepass()]
    )
    assert messages == prepass_messages == []
    assert_shows_texture(book, np.asarray(texture))
    assert np.array_equal(prepass, book)
