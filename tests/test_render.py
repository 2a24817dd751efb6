"""The renderer: golden images on lavapipe, with the validation layers on."""

import pytest

from .helpers import CRATE, book_file, compare_golden, render_headless

SPONZA = book_file("sponza", "Sponza.json")
CUBE = book_file("cube", "cube.json")


@pytest.mark.parametrize(
    ("name", "scene", "view", "size"),
    [
        ("default_scene", None, None, (320, 240)),
        ("crate_fit", CRATE, None, (256, 256)),
        pytest.param("cube_fit", CUBE, None, (256, 256), marks=pytest.mark.book_data),
        pytest.param("sponza_book", SPONZA, None, (480, 270), marks=pytest.mark.book_data),
    ],
)
def test_headless_render_matches_golden_image(lavapipe, regenerate, name, scene, view, size):
    image, messages = render_headless(lavapipe, scene, view, size)
    assert messages == []
    assert image.shape == (size[1], size[0], 4)
    compare_golden(image, name, regenerate)


@pytest.mark.parametrize(
    "model", [CRATE, pytest.param(CUBE, marks=pytest.mark.book_data)], ids=["crate", "cube"]
)
def test_render_is_not_blank_and_shows_texture_detail(lavapipe, model):
    """The model's texture must reach the screen: many distinct colours, not a flat fill."""
    image, messages = render_headless(lavapipe, model, None, (128, 128))
    assert messages == []
    rgb = image[..., :3].reshape(-1, 3)
    assert len({tuple(p) for p in rgb[::7]}) > 200
    assert (image[..., :3].max(axis=2) == 0).mean() < 0.9  # not all background


@pytest.mark.book_data
def test_camera_moves_the_picture(lavapipe):
    """The same scene from the book's camera and from the fitted one differs."""
    book, _ = render_headless(lavapipe, SPONZA, "book", (96, 64))
    fit, _ = render_headless(lavapipe, SPONZA, "fit", (96, 64))
    assert abs(book.astype(int) - fit.astype(int)).mean() > 10
