"""The book's main.zig: load a scene, place entity and camera, fly around (`python -m game`
runs it through game/cli.py).

Controls: W/S forward/back, A/D left/right, Up/Down arrows up/down (10 units/s); drag with the
right mouse button to look around (0.1 degree per pixel); Escape or closing the window quits.
With `-v info` the camera's place is logged, in the form `--camera` takes, at most once a
second while it moves and at the end.
"""

import logging
import math
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from pyglm import glm

from eng.engine import EngCtx, GameLogic, InitData
from eng.entity import Entity
from eng.models_cache import ModelsCache
from eng.scene import ViewData
from game.scenes import SceneSpec

if TYPE_CHECKING:  # for annotations only: an extra, imported where it is made
    from eng.extras.render_inst import Instancing

log = logging.getLogger("game")
TITLE = "Vulkan Book"
MOVE_SPEED = 10.0  # units per second
MOVE_KEYS = (
    (("W", ViewData.move_forward), ("S", ViewData.move_back)),
    (("A", ViewData.move_left), ("D", ViewData.move_right)),
    (("UP", ViewData.move_up), ("DOWN", ViewData.move_down)),
)
"""Book main.zig: per axis, the first of its two keys that is held moves the camera."""
MOUSE_SENSITIVITY = 0.1  # degrees per pixel
FIT_RADIUS = 5.0  # `--view fit` scales the model to this bounding radius
CAMERA_LOG_S = 1.0  # -v info: the camera's place, at most this often while it moves


def camera_option(view: ViewData) -> str:
    """Where the camera is and how it is turned, as `--camera` takes it."""
    pos, yaw, pitch = view.pos, math.degrees(view.yaw) % 360, math.degrees(view.pitch)
    return f"--camera {pos.x:.2f},{pos.y:.2f},{pos.z:.2f},{yaw:.1f},{pitch:.1f}"


def place_camera(view: ViewData, camera: Sequence[float]) -> None:
    """`--camera x,y,z[,yaw,pitch]` (degrees): the angles stay where only x,y,z are given."""
    view.pos = glm.vec3(*camera[:3])
    if len(camera) == 5:
        view.yaw, view.pitch = math.radians(camera[3]), math.radians(camera[4])
    view.recalculate()


class Game(GameLogic):
    """The game logic of main.zig, for any scene (the book's is Sponza)."""

    title = TITLE

    def __init__(
        self,
        spec: SceneSpec,
        instancing: "Instancing | None" = None,
        camera: Sequence[float] | None = None,
    ) -> None:
        """With `instancing`, the entities are drawn through the instanced path (not in the
        book: eng/extras/render_inst.py), one batch per model; `camera` (`--camera`) places
        the camera instead of the scene."""
        self.spec = spec
        self.instancing = instancing
        self.camera = camera
        self._keys: list[list[tuple[int, Callable[[ViewData, float], None]]]] | None = None
        self._view: ViewData | None = None
        self._logged = ("", 0.0)  # the place last logged, and when

    def init(self, eng_ctx: EngCtx) -> InitData:
        scene = eng_ctx.scene
        entities = []
        for data in self.spec.entities:
            entity = Entity(data.id, data.model_id)
            entity.set_pos(*data.pos)
            entity.set_rotation_deg(*data.rotation)
            entity.scale = data.scale
            entity.update()
            entities.append(entity)
        if self.instancing is not None:
            from eng.extras.instances import batches_from_entities

            for batch in batches_from_entities(entities):
                self.instancing.add_batch(batch)
        else:
            for entity in entities:
                scene.add_entity(entity)
        view = scene.camera.view_data
        view.pos = glm.vec3(*self.spec.camera.pos)
        view.pitch = math.radians(self.spec.camera.pitch)
        view.yaw = math.radians(self.spec.camera.yaw)
        view.recalculate()
        if self.camera is not None:
            place_camera(view, self.camera)
        self._view = view
        return InitData(models=self.spec.models, materials=self.spec.materials)

    def loaded(self, eng_ctx: EngCtx, models_cache: ModelsCache) -> None:
        """After the upload: `--view fit` frames the first entity's model (the camera
        stays where `--camera` put it)."""
        if self.spec.view != "fit" or not eng_ctx.scene.entities:
            return
        entity = next(iter(eng_ctx.scene.entities.values()))
        low, high = models_cache.models[entity.model_id].bounds
        radius = max(glm.length(high - low) / 2, 1e-6)
        entity.scale = FIT_RADIUS / radius
        entity.pos = -(low + high) / 2 * entity.scale
        entity.update()
        view = eng_ctx.scene.camera.view_data
        distance = FIT_RADIUS / math.tan(eng_ctx.constants.fov / 2) * 1.2
        view.pos = glm.vec3(0.0, distance * 0.35, distance)
        view.yaw = -math.pi / 2
        view.pitch = -math.atan(0.35)
        view.recalculate()
        if self.camera is not None:
            place_camera(view, self.camera)

    def input(self, eng_ctx: EngCtx, delta_sec: float) -> None:
        wnd = eng_ctx.wnd
        assert wnd is not None, "input comes from a window"
        if self._keys is None:
            self._keys = [[(wnd.scancode(k), move) for k, move in axis] for axis in MOVE_KEYS]
        view = eng_ctx.scene.camera.view_data
        inc = MOVE_SPEED * delta_sec
        for axis in self._keys:
            for scancode, move in axis:
                if wnd.is_key_pressed(scancode):
                    move(view, inc)
                    break
        mouse = wnd.mouse
        if mouse.right:
            view.add_rotation(
                math.radians(-mouse.delta_y * MOUSE_SENSITIVITY),
                math.radians(-mouse.delta_x * MOUSE_SENSITIVITY),
            )
        now = time.monotonic()
        if now - self._logged[1] >= CAMERA_LOG_S and log.isEnabledFor(logging.INFO):
            self._log_camera(now)

    def _log_camera(self, now: float) -> None:
        """-v info: where the camera is, if it moved since it was last logged."""
        assert self._view is not None, "set by init"
        place = camera_option(self._view)
        if place != self._logged[0]:
            log.info("camera at %s", place)
        self._logged = (place, now)

    def cleanup(self) -> None:
        """-v info: where the camera was at the end (once: the engine may clean up twice)."""
        view, self._view = self._view, None
        if view is not None:
            log.info("camera at the end: %s", camera_option(view))
