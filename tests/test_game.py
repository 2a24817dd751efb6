"""The game's controls (book: main.zig input): keys move at 10 units/s, the right mouse button
turns the view by 0.1 degree per pixel."""

import logging
import math
from types import SimpleNamespace

import numpy as np
from pyglm import glm

from eng.com.common import Constants
from eng.engine import EngCtx
from eng.scene import Scene, ViewData
from eng.wnd import MouseState
from game import main as game_main
from game.main import Game, camera_option, place_camera
from game.options import _camera
from game.scenes import load_spec

from .helpers import CRATE


class FakeWnd:
    """Stands in for eng.wnd.Wnd: which keys are down and what the mouse did."""

    def __init__(self, keys=(), mouse=None) -> None:
        self.down = {f"KEY_{k}" for k in keys}
        self.mouse = mouse or MouseState()

    def scancode(self, name: str) -> str:
        return f"KEY_{name}"

    def is_key_pressed(self, scancode: str) -> bool:
        return scancode in self.down


def game_and_ctx(wnd) -> tuple[Game, EngCtx]:
    game = Game(load_spec(None, None))
    eng_ctx = EngCtx(Constants(), Scene(), wnd)
    game.init(eng_ctx)
    return game, eng_ctx


def test_w_moves_forward_ten_units_per_second():
    game, eng_ctx = game_and_ctx(FakeWnd(keys=("W",)))
    view = eng_ctx.scene.camera.view_data
    start, forward = glm.vec3(view.pos), view.forward_dir()
    game.input(eng_ctx, 0.5)
    np.testing.assert_allclose(list(view.pos - start), list(forward * 5.0), atol=1e-5)


def test_keys_for_each_direction():
    expected = {"S": "forward_dir", "A": "right_dir", "D": "right_dir", "UP": None, "DOWN": None}
    for key, direction in expected.items():
        game, eng_ctx = game_and_ctx(FakeWnd(keys=(key,)))
        view = eng_ctx.scene.camera.view_data
        start = glm.vec3(view.pos)
        axis = getattr(view, direction)() if direction else glm.vec3(0, 1, 0)
        game.input(eng_ctx, 0.1)
        sign = -1.0 if key in ("S", "A", "DOWN") else 1.0
        np.testing.assert_allclose(list(view.pos - start), list(axis * sign), atol=1e-5)


def test_of_two_opposite_keys_the_first_wins_and_the_axes_add_up():
    """main.zig's if/else per axis: W beats S, A beats D, Up beats Down; the axes combine."""
    game, eng_ctx = game_and_ctx(FakeWnd(keys=("W", "S", "A", "D", "UP", "DOWN")))
    view = eng_ctx.scene.camera.view_data
    start = glm.vec3(view.pos)
    expected = view.forward_dir() - view.right_dir() + glm.vec3(0, 1, 0)
    game.input(eng_ctx, 0.1)
    np.testing.assert_allclose(list(view.pos - start), list(expected), atol=1e-5)


def test_dragging_with_the_right_button_turns_the_view():
    mouse = MouseState(delta_x=30.0, delta_y=-20.0, right=True)
    game, eng_ctx = game_and_ctx(FakeWnd(mouse=mouse))
    view = eng_ctx.scene.camera.view_data
    yaw, pitch = view.yaw, view.pitch
    game.input(eng_ctx, 0.016)
    assert math.isclose(view.yaw - yaw, math.radians(-3.0), abs_tol=1e-6)
    assert math.isclose(view.pitch - pitch, math.radians(2.0), abs_tol=1e-6)


def test_moving_the_mouse_without_the_button_does_nothing():
    mouse = MouseState(delta_x=30.0, delta_y=-20.0, right=False)
    game, eng_ctx = game_and_ctx(FakeWnd(mouse=mouse))
    view = eng_ctx.scene.camera.view_data
    before = (view.yaw, view.pitch, glm.vec3(view.pos))
    game.input(eng_ctx, 0.016)
    assert (view.yaw, view.pitch, view.pos) == before


def test_fit_view_frames_the_model():
    """--view fit scales the model to a known radius around the origin, camera in front."""
    spec = load_spec(CRATE, "fit")
    game = Game(spec)
    eng_ctx = EngCtx(Constants(), Scene(), None)
    game.init(eng_ctx)
    low, high = glm.vec3(-1, -1, -1), glm.vec3(3, 1, 1)
    model = SimpleNamespace(bounds=(low, high))
    game.loaded(eng_ctx, SimpleNamespace(models={spec.models[0].id: model}))
    entity = next(iter(eng_ctx.scene.entities.values()))
    center = entity.model_matrix * glm.vec4((low + high) / 2, 1)
    np.testing.assert_allclose(list(center), [0, 0, 0, 1], atol=1e-5)
    view = eng_ctx.scene.camera.view_data
    ahead = view.view_matrix * glm.vec4(0, 0, 0, 1)
    assert ahead.z < 0  # the model is in front of the camera


def test_camera_option_places_the_camera():
    game = Game(load_spec(None, None), camera=(1.0, 2.0, 3.0, 45.0, -10.0))
    eng_ctx = EngCtx(Constants(), Scene(), None)
    game.init(eng_ctx)
    view = eng_ctx.scene.camera.view_data
    assert list(view.pos) == [1.0, 2.0, 3.0]
    assert math.isclose(view.yaw, math.radians(45)) and math.isclose(view.pitch, math.radians(-10))
    assert camera_option(view) == "--camera 1.00,2.00,3.00,45.0,-10.0"


def test_camera_option_with_a_place_only_keeps_the_scene_s_angles_and_beats_fit():
    spec = load_spec(CRATE, "fit")
    game = Game(spec, camera=(0.0, 1.0, 8.0))
    eng_ctx = EngCtx(Constants(), Scene(), None)
    game.init(eng_ctx)
    view = eng_ctx.scene.camera.view_data
    assert math.isclose(view.yaw, math.radians(spec.camera.yaw))
    model = SimpleNamespace(bounds=(glm.vec3(-1), glm.vec3(1)))
    game.loaded(eng_ctx, SimpleNamespace(models={spec.models[0].id: model}))
    assert list(view.pos) == [0.0, 1.0, 8.0]  # fit scaled the model, the camera stayed


def test_info_logs_where_the_camera_is_at_most_once_a_second_while_it_moves(caplog, monkeypatch):
    clock = [100.0]
    monkeypatch.setattr(game_main.time, "monotonic", lambda: clock[0])
    caplog.set_level(logging.INFO, logger="game")
    wnd = FakeWnd(keys=("W",))
    game, eng_ctx = game_and_ctx(wnd)
    view = eng_ctx.scene.camera.view_data

    def places():
        return [r.getMessage() for r in caplog.records if r.name == "game"]

    game.input(eng_ctx, 0.1)  # the first: where it starts
    assert places() == [f"camera at {camera_option(view)}"]
    for _ in range(5):  # moving, within the second
        clock[0] += 0.1
        game.input(eng_ctx, 0.1)
    assert len(places()) == 1
    clock[0] += 0.6
    game.input(eng_ctx, 0.1)
    assert places()[1:] == [f"camera at {camera_option(view)}"]
    wnd.down.clear()  # standing still: nothing more
    clock[0] += 5
    game.input(eng_ctx, 0.1)
    assert len(places()) == 2
    game.cleanup()
    game.cleanup()  # the engine may clean up twice: logged once
    assert places()[2:] == [f"camera at the end: {camera_option(view)}"]


def test_the_logged_place_brings_the_camera_back():
    view = ViewData()
    view.pos = glm.vec3(-3.25, 1.5, 7.0)
    view.yaw, view.pitch = math.radians(-123.4), math.radians(12.3)
    view.recalculate()
    again = ViewData()
    place_camera(again, _camera(camera_option(view).split()[1]))
    np.testing.assert_allclose(list(again.pos), list(view.pos), atol=1e-5)
    np.testing.assert_allclose(list(again.forward_dir()), list(view.forward_dir()), atol=1e-3)
