"""Helpers of the tests: where the data is, engines made and run offscreen or in a window,
golden images compared (conftest.py holds the fixtures)."""

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from eng.com import common
from eng.com.live import live_counts
from eng.engine import Engine, GameLogic
from eng.extras.capture import FrameCapture
from eng.extras.offscreen import OffscreenTarget
from eng.hooks import Extra
from eng.run import EngineOptions, RunStats
from eng.vk.ctx import VkCtx
from game import book_data
from game.main import Game
from game.scenes import load_spec

ROOT = Path(__file__).resolve().parents[1]
SCENE = ROOT / "resources" / "scene"
CRATE = SCENE / "crate" / "crate.json"  # a textured box of the project's own, in the book's format
_BOOK_ENTRIES = book_data.load_manifest()
BOOK_RES = book_data.find_res(_BOOK_ENTRIES) or book_data.data_dir()
HAS_BOOK_DATA = book_data.is_complete(BOOK_RES, _BOOK_ENTRIES)
_BOOK_PATHS = {entry.path for entry in _BOOK_ENTRIES}


def book_file(*parts: str) -> Path:
    """A file of the book's models that a test uses (`book_file("cube", "cube.json")`): one
    that `make book-data` downloads (game/book_data.json), or the suite fails after it."""
    rel = "/".join(("models", *parts))
    assert rel in _BOOK_PATHS, f"{rel} is not in game/book_data.json: make book-data lacks it"
    return BOOK_RES / rel


NO_BOOK_DATA = "needs the book's models: run `make book-data` or set ZVK_BOOK_RES"

GOLDEN = Path(__file__).parent / "golden"
OUT = Path(__file__).parent / "out"

# Per-pixel tolerance, chosen to hold across the lavapipe of Debian 12 (Mesa 25 from
# bookworm-backports) and Debian 13: a pixel "differs" when a channel is off by more than
# PIXEL_TOLERANCE/255, and at most MAX_DIFFERING of the pixels may differ.
PIXEL_TOLERANCE = 24
MAX_DIFFERING = 0.005


def create_engine(
    game: GameLogic,
    constants: common.Constants,
    size: tuple[int, int],
    headless: bool = True,
    extras: Sequence[Extra] = (),
    capture: bool = False,
    **options: Any,
) -> Engine:
    """Engine.create, offscreen at `size` when `headless`, else in a window; with `capture`,
    the last frame is kept (see `run_engine`); `options` are EngineOptions' fields."""
    extras = list(extras)
    if capture:
        extras.append(FrameCapture(last=headless, every=not headless))
    offscreen = OffscreenTarget(*size) if headless else None
    return Engine.create(game, constants, EngineOptions(size, **options), extras, offscreen)


def run_engine(engine: Engine, frames: int | None) -> tuple[RunStats, np.ndarray | None]:
    """Runs `engine`; returns its stats and the last frame (when made with `capture`)."""
    captures = [e for e in engine.extras if isinstance(e, FrameCapture)]
    stats = engine.run(frames)
    return stats, captures[0].image if captures else None


def default_scene_engine(
    constants: common.Constants,
    size: tuple[int, int],
    extras: Sequence[Extra] = (),
    capture: bool = False,
    **options: Any,
) -> Engine:
    """An offscreen Engine showing the project's default scene."""
    return create_engine(
        Game(load_spec(None, None)), constants, size, True, extras, capture, **options
    )


def render_headless(
    constants, scene=None, view=None, size=(320, 240), frames=2, features=(), extras=()
):
    """Renders a scene offscreen with validation; returns (RGBA image, validation messages)."""
    engine = create_engine(
        Game(load_spec(scene, view)), constants, size, True, extras, True,
        validation_features=features,
    )  # fmt: skip
    validation_log = engine.ctx.instance.validation_log
    assert validation_log is not None, "validation layers are not active"
    _, image = run_engine(engine, frames)
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


def finish_ctx(ctx: VkCtx) -> None:
    """Destroys `ctx` and fails on any validation message or leaked VMA allocation."""
    validation_log = ctx.instance.validation_log
    assert validation_log is not None, "validation layers are not active"
    ctx.device.wait()
    ctx.cleanup()  # raises VmaError on live allocations
    messages = validation_log.messages  # includes what vkDestroyDevice reported
    assert messages == [], "validation messages:\n" + "\n".join(messages)


@dataclass
class Created:
    """What the `created_contexts` fixture saw: the live objects before the test, and each
    VkCtx made with its validation log."""

    alive_before: dict[str, int]
    contexts: list[tuple[VkCtx, Any]] = field(default_factory=list)


def assert_cleaned_up(created: Created) -> None:
    """One context was made, and everything made since the test began was cleaned up, with
    no validation message."""
    assert len(created.contexts) == 1
    assert live_counts() == created.alive_before, "cleanup did not run for all"
    _, validation_log = created.contexts[0]
    assert validation_log.messages == []


def files_under(folder: Path) -> list[str]:
    """The files under `folder`, by their paths relative to it (to see what a command wrote)."""
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())
