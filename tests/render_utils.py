"""Helpers for tests that render: run the engine headless and compare against golden images."""

from pathlib import Path

import numpy as np
from PIL import Image

from eng.engine import Engine
from game.main import TITLE, Game
from game.scenes import load_spec

GOLDEN = Path(__file__).parent / "golden"
OUT = Path(__file__).parent / "out"

# Per-pixel tolerance, chosen to hold across the lavapipe of Debian 12 (Mesa 25 from
# bookworm-backports) and Debian 13: a pixel "differs" when a channel is off by more than
# PIXEL_TOLERANCE/255, and at most MAX_DIFFERING of the pixels may differ.
PIXEL_TOLERANCE = 24
MAX_DIFFERING = 0.005


def render_headless(
    constants, scene=None, view=None, size=(320, 240), frames=2, features=(), **options
):
    """Renders a scene offscreen with validation; returns (RGBA image, validation messages).
    `options` go to Engine.create (depth_prepass=True, ...)."""
    spec = load_spec(scene, view)
    engine = Engine.create(
        Game(spec), constants, TITLE, size, headless=True, validation_features=features, **options
    )
    validation_log = engine.ctx.instance.validation_log
    assert validation_log is not None, "validation layers are not active"
    _, image = engine.run(frames, capture=True)
    return image, list(validation_log.messages)


def compare_golden(image: np.ndarray, name: str, regenerate: bool) -> None:
    """Asserts `image` matches tests/golden/NAME.png; writes a diff image on failure."""
    path = GOLDEN / f"{name}.png"
    rgb = image[..., :3]
    if regenerate or not path.exists():
        assert regenerate, f"no golden image {path} (run pytest --regenerate-golden)"
        GOLDEN.mkdir(exist_ok=True)
        Image.fromarray(rgb).save(path)
        return
    expected = np.asarray(Image.open(path).convert("RGB"))
    assert expected.shape == rgb.shape, f"{name}: size {rgb.shape} != golden {expected.shape}"
    diff = np.abs(rgb.astype(np.int16) - expected.astype(np.int16)).max(axis=2)
    differing = float((diff > PIXEL_TOLERANCE).mean())
    if differing > MAX_DIFFERING:
        OUT.mkdir(exist_ok=True)
        Image.fromarray(rgb).save(OUT / f"{name}-actual.png")
        Image.fromarray((diff > PIXEL_TOLERANCE).astype(np.uint8) * 255).save(
            OUT / f"{name}-diff.png"
        )
        raise AssertionError(
            f"{name}: {differing:.2%} of pixels differ by more than {PIXEL_TOLERANCE}/255 "
            f"(allowed {MAX_DIFFERING:.2%}); see {OUT}/{name}-diff.png"
        )


def assert_shows_texture(image: np.ndarray, texture: np.ndarray) -> None:
    """The middle of `image` (a textured face filling it) has about the texture's mean colour
    and varies as a texture does: a picture drawn with the material colour alone fails (the
    shader draws a textured material from its texture only)."""
    h, w = image.shape[:2]
    middle = image[h // 3 : 2 * h // 3, w // 3 : 2 * w // 3, :3].reshape(-1, 3).astype(float)
    expected = texture[..., :3].reshape(-1, 3).mean(axis=0)
    assert np.abs(middle.mean(axis=0) - expected).max() < 40, (middle.mean(axis=0), expected)
    assert middle.std(axis=0).min() > 10, "one flat colour: no texture"
