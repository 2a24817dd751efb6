"""The book's main.zig: load a scene, place entity and camera, fly around (`python -m game`
runs it through game/cli.py).

Controls: W/S forward/back, A/D left/right, Up/Down arrows up/down (10 units/s); drag with the
right mouse button to look around (0.1 degree per pixel); Escape or closing the window quits.
"""

import math
from collections.abc import Callable
from typing import TYPE_CHECKING

from pyglm import glm

from eng.engine import EngCtx, GameLogic, InitData
from eng.entity import Entity
from eng.models_cache import ModelsCache
from eng.scene import ViewData
from game.scenes import SceneSpec

if TYPE_CHECKING:  # for annotations only: an extra, imported where it is made
    from eng.extras.render_inst import Instancing

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


class Game(GameLogic):
    """The game logic of main.zig, for any scene (the book's is Sponza)."""

    title = TITLE

    def __init__(self, spec: SceneSpec, instancing: "Instancing | None" = None) -> None:
        """With `instancing`, the entities are drawn through the instanced path (not in the
        book: eng/extras/render_inst.py), one batch per model."""
        self.spec = spec
        self.instancing = instancing
        self._keys: list[list[tuple[int, Callable[[ViewData, float], None]]]] | None = None

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
        return InitData(models=self.spec.models, materials=self.spec.materials)

    def loaded(self, eng_ctx: EngCtx, models_cache: ModelsCache) -> None:
        """After the upload: `--view fit` frames the first entity's model."""
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
