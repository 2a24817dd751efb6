"""Camera and entity maths against matrices computed by hand."""

import math

import numpy as np
from pyglm import glm

from eng.entity import Entity
from eng.scene import ProjData, ViewData


def as_np(m: glm.mat4) -> np.ndarray:
    """Row-major numpy copy of a glm matrix (glm indexes [column][row])."""
    return np.array([[m[c][r] for c in range(4)] for r in range(4)])


def test_entity_matrix_is_translation_rotation_scale():
    e = Entity("e", "m")
    e.set_pos(1.0, 2.0, 3.0)
    e.set_rotation_deg(0.0, 90.0, 0.0)  # +90 degrees about y: x -> -z
    e.scale = 2.0
    e.update()
    expected = np.array([[0, 0, 2, 1], [0, 2, 0, 2], [-2, 0, 0, 3], [0, 0, 0, 1]], dtype=float)
    np.testing.assert_allclose(as_np(e.model_matrix), expected, atol=1e-6)
    # a point on +x lands at pos + 2 * (-z)
    p = e.model_matrix * glm.vec4(1, 0, 0, 1)
    np.testing.assert_allclose(list(p), [1, 2, 1, 1], atol=1e-6)


def test_projection_is_the_books_right_handed_zero_to_one_matrix():
    proj = ProjData()
    fov, near, far = math.radians(60), 1.0, 50.0
    proj.update(fov, near, far, 1920, 1080)
    t = math.tan(fov / 2)
    expected = np.array(
        [
            [1 / (1920 / 1080 * t), 0, 0, 0],
            [0, 1 / t, 0, 0],
            [0, 0, far / (near - far), near * far / (near - far)],
            [0, 0, -1, 0],
        ]
    )
    np.testing.assert_allclose(as_np(proj.proj_matrix), expected, rtol=1e-6)
    # near plane maps to depth 0, far plane to depth 1
    for z, depth in ((-near, 0.0), (-far, 1.0)):
        clip = proj.proj_matrix * glm.vec4(0, 0, z, 1)
        assert math.isclose(clip.z / clip.w, depth, abs_tol=1e-6)


def test_default_view_looks_down_minus_z():
    view = ViewData()
    np.testing.assert_allclose(list(view.forward_dir()), [0, 0, -1], atol=1e-6)
    np.testing.assert_allclose(list(view.right_dir()), [1, 0, 0], atol=1e-6)
    np.testing.assert_allclose(as_np(view.view_matrix), np.eye(4), atol=1e-6)


def test_view_moves_and_turns_like_the_book():
    view = ViewData()
    view.pos = glm.vec3(0, 3, -4)
    view.add_rotation(0.0, math.radians(90))  # main.zig turns the camera 90 degrees: +x
    np.testing.assert_allclose(list(view.forward_dir()), [1, 0, 0], atol=1e-6)
    view.move_forward(2.0)
    view.move_right(1.0)  # right of +x is +z
    view.move_up(0.5)
    np.testing.assert_allclose(list(view.pos), [2, 3.5, -3], atol=1e-6)
    # the view matrix brings the camera position to the origin and forward to -z
    eye = view.view_matrix * glm.vec4(view.pos, 1)
    np.testing.assert_allclose(list(eye), [0, 0, 0, 1], atol=1e-5)
    ahead = view.view_matrix * glm.vec4(view.pos + view.forward_dir(), 1)
    np.testing.assert_allclose(list(ahead), [0, 0, -1, 1], atol=1e-5)


def test_pitch_is_clamped_short_of_straight_up():
    view = ViewData()
    view.add_rotation(math.radians(120), 0.0)
    assert view.pitch < math.pi / 2
    assert view.forward_dir().y < 1.0
