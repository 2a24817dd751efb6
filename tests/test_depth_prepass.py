"""The depth pre-pass (`--depth-prepass`): the same pictures, each pixel shaded about once."""

import numpy as np
import pytest

from game import scenes

from .conftest import BOOK_MODELS, CRATE, default_scene_engine
from .render_utils import assert_shows_texture, compare_golden, render_headless
from .test_model_gen import textured_box

SPONZA = BOOK_MODELS / "sponza" / "Sponza.json"


@pytest.mark.parametrize(
    ("name", "scene", "size"),
    [
        ("default_scene", None, (320, 240)),
        ("crate_fit", CRATE, (256, 256)),
        pytest.param("sponza_book", SPONZA, (480, 270), marks=pytest.mark.book_data),
    ],
)
def test_prepass_matches_the_golden_images(lavapipe, name, scene, size):
    image, messages = render_headless(lavapipe, scene, None, size, depth_prepass=True)
    assert messages == []
    compare_golden(image, name, regenerate=False)


def fragments_and_picture(constants, instanced: bool, depth_prepass: bool):
    """Fragment shader invocations of a default-scene frame (pipeline-statistics query),
    and the frame."""
    engine = default_scene_engine(
        constants, (320, 240), instanced, profile=True, depth_prepass=depth_prepass
    )
    stats, image = engine.run(12, capture=True)
    assert stats.validation_messages == 0 and stats.fragments
    assert len(set(stats.fragments)) == 1  # a still scene: the same count every frame
    return stats.fragments[0], image


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
    prepass, prepass_messages = render_headless(lavapipe, glb, None, (96, 96), depth_prepass=True)
    assert messages == prepass_messages == []
    assert_shows_texture(book, np.asarray(texture))
    assert np.array_equal(prepass, book)
