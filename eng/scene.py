"""Book ch.7/8 (scene.zig): the camera (projection and view) and the entities."""

import math

from pyglm import glm

from eng.entity import Entity

_UP = glm.vec3(0.0, 1.0, 0.0)
_PITCH_LIMIT = math.pi / 2 - 0.001  # keeps the view away from gimbal lock


class ProjData:
    """Perspective projection, right-handed with depth 0..1 (the book's matrix)."""

    def __init__(self) -> None:
        self.proj_matrix = glm.mat4(1.0)
        self.fov = self.near = self.far = 0.0

    def update(self, fov: float, near: float, far: float, width: float, height: float) -> None:
        self.fov, self.near, self.far = fov, near, far
        self.proj_matrix = glm.perspectiveRH_ZO(fov, width / height, near, far)


class ViewData:
    """A free-flying camera: position plus yaw/pitch in radians -> `view_matrix`."""

    def __init__(self) -> None:
        self.pos = glm.vec3(0.0)
        self.yaw = -math.pi / 2  # looking down -z
        self.pitch = 0.0
        self.view_matrix = glm.mat4(1.0)
        self.recalculate()

    def forward_dir(self) -> glm.vec3:
        cp = math.cos(self.pitch)
        return glm.normalize(
            glm.vec3(cp * math.cos(self.yaw), math.sin(self.pitch), cp * math.sin(self.yaw))
        )

    def right_dir(self) -> glm.vec3:
        return glm.normalize(glm.cross(self.forward_dir(), _UP))

    def add_rotation(self, pitch: float, yaw: float) -> None:
        self.pitch += pitch
        self.yaw += yaw
        self.recalculate()

    def move_forward(self, inc: float) -> None:
        self._move(self.forward_dir() * inc)

    def move_back(self, inc: float) -> None:
        self._move(self.forward_dir() * -inc)

    def move_right(self, inc: float) -> None:
        self._move(self.right_dir() * inc)

    def move_left(self, inc: float) -> None:
        self._move(self.right_dir() * -inc)

    def move_up(self, inc: float) -> None:
        self._move(_UP * inc)

    def move_down(self, inc: float) -> None:
        self._move(_UP * -inc)

    def _move(self, delta: glm.vec3) -> None:
        self.pos = self.pos + delta
        self.recalculate()

    def recalculate(self) -> None:
        self.pitch = min(max(self.pitch, -_PITCH_LIMIT), _PITCH_LIMIT)
        self.view_matrix = glm.lookAtRH(self.pos, self.pos + self.forward_dir(), _UP)


class Camera:
    def __init__(self) -> None:
        self.proj_data = ProjData()
        self.view_data = ViewData()


class Scene:
    def __init__(self) -> None:
        self.camera = Camera()
        self.entities: dict[str, Entity] = {}

    def add_entity(self, entity: Entity) -> None:
        self.entities[entity.id] = entity
