"""The scale scenes (not in the book): the default scene's models by the thousand.

- `--stress N`: N entities of the default scene's models spread over a large floor, every one
  moving and turning every frame; `animate` writes all N transforms with numpy in one go.
- `--stress-static N`: the default scene's models tiled until they make N meshes, standing
  still, with a camera that flies through them, so culling changes the visible set every frame.

Both keep their entities in instance batches (eng/extras/instances.py), one per model, drawn through
the instanced path.
"""

import math

import numpy as np
from pyglm import glm

from eng.engine import EngCtx, InitData
from eng.entity import Entity
from eng.extras.instances import InstanceBatch, write_transforms
from eng.extras.render_inst import Instancing
from eng.scene import ViewData
from game.main import Game
from game.scenes import SceneSpec

SPACING = 2.0  # units between neighbours, on average
SPEED = (0.5, 3.0)  # units per second
SPIN = (0.3, 2.0)  # radians per second
FLY_SPEED = 6.0  # the static scene's camera, units per second
SEED = 14  # the same scene on every run


def _templates(spec: SceneSpec) -> tuple[Entity | None, list[Entity]]:
    """The default scene's floor and one entity of each other model, as placed there."""
    floor: Entity | None = None
    others: dict[str, Entity] = {}
    for data in spec.entities:
        entity = Entity(data.id, data.model_id)
        entity.set_pos(*data.pos)
        entity.set_rotation_deg(*data.rotation)
        entity.scale = data.scale
        entity.update()
        if data.model_id == "ground":
            floor = floor or entity
        else:
            others.setdefault(data.model_id, entity)
    return floor, list(others.values())


def _base_matrix(template: Entity) -> np.ndarray:
    """The template's rotation and scale (no translation), as columns."""
    m = np.frombuffer(template.model_matrix.to_bytes(), np.float32).reshape(4, 4).copy()
    m[3, :3] = 0.0
    return m


class StressGame(Game):
    """`count` moving entities (`static=False`) or a tiled scene of `count` meshes with a
    flying camera (`static=True`), made of the default scene's models."""

    def __init__(self, spec: SceneSpec, count: int, static: bool, instancing: Instancing) -> None:
        super().__init__(spec, instancing)
        self.instancing: Instancing = instancing
        self.count = count
        self.static = static
        self.batches: list[InstanceBatch] = []
        self._time = 0.0
        self.half_size = 0.0

    def init(self, eng_ctx: EngCtx) -> InitData:
        floor, templates = _templates(self.spec)
        rng = np.random.default_rng(SEED)
        meshes = {m.id: len(m.meshes) for m in self.spec.models}
        if self.static:  # enough copies of each model for `count` meshes in all
            per_round = sum(meshes[t.model_id] for t in templates)
            copies = [math.ceil(self.count / per_round)] * len(templates)
        else:
            copies = [len(c) for c in np.array_split(np.arange(self.count), len(templates))]
        total = sum(copies)
        self.half_size = SPACING * math.sqrt(total) / 2
        scene = eng_ctx.scene
        if floor is not None:
            low, high = _model_extent(self.spec, floor.model_id)
            floor.scale = 2 * self.half_size / max(high[0] - low[0], high[2] - low[2], 1e-6)
            floor.update()
            scene.add_entity(floor)
        # one array for every instance's matrix, motion and pose: the batches (one per model)
        # are views of it, so that a frame moves them all in one set of vector operations;
        # positions and velocities are (N, k) views of (k, N) arrays, so that each axis is
        # one contiguous vector
        rows = np.repeat(np.arange(len(templates)), copies)
        self._columns = np.zeros((total, 4, 4), np.float32)
        self._positions = np.empty((3, total), np.float32).T
        self._positions[:, ::2] = rng.uniform(-self.half_size, self.half_size, (total, 2))
        self._positions[:, 1] = [templates[r].pos.y for r in rows] if total else []
        angle = rng.uniform(0, 2 * math.pi, total)
        speed = rng.uniform(*SPEED, (total, 1))
        self._velocity = np.empty((2, total), np.float32).T
        self._velocity[:] = np.stack([np.cos(angle), np.sin(angle)], axis=1) * speed
        self._yaw = rng.uniform(0, 2 * math.pi, total).astype(np.float32)
        self._spin = (rng.uniform(*SPIN, total) * rng.choice((-1, 1), total)).astype(np.float32)
        poses = np.array([_base_matrix(t)[:3, :3].T for t in templates], np.float32)
        self._pose_rows = np.ascontiguousarray(poses[rows].transpose(1, 2, 0))  # (3, 3, N)
        write_transforms(self._columns, self._positions, self._yaw, 1.0, self._pose_rows)
        start = 0
        for template, n in zip(templates, copies, strict=True):
            batch_id = f"{template.model_id}-batch"
            batch = InstanceBatch(batch_id, template.model_id, self._columns[start : start + n])
            start += n
            self.batches.append(batch)
            self.instancing.add_batch(batch)
        view = scene.camera.view_data
        if self.static:
            self._fly(view)
        else:  # above one edge of the floor, looking across it
            view.pos = glm.vec3(0.0, 12.0, self.half_size * 0.5)
            view.yaw, view.pitch = -math.pi / 2, math.radians(-30)
            view.recalculate()
        return InitData(models=self.spec.models, materials=self.spec.materials)

    def animate(self, eng_ctx: EngCtx, delta_sec: float) -> None:
        """Every frame: all entities move and turn (`--stress`), or the camera flies on
        (`--stress-static`)."""
        self._time += delta_sec
        if self.static:
            self._fly(eng_ctx.scene.camera.view_data)
            return
        limit = self.half_size
        step = np.float32(delta_sec)
        for axis, velocity in ((0, self._velocity[:, 0]), (2, self._velocity[:, 1])):
            coordinate = self._positions[:, axis]  # x or z: a contiguous view
            coordinate += velocity * step
            outside = np.abs(coordinate) > limit  # bounce off the floor's edges
            np.negative(velocity, out=velocity, where=outside)
            np.clip(coordinate, -limit, limit, out=coordinate)
        self._yaw += self._spin * step
        write_transforms(self._columns, self._positions, self._yaw, 1.0, self._pose_rows)
        for batch in self.batches:
            batch.moved()

    def _fly(self, view: ViewData) -> None:
        """A loop over the tiled scene at head height, turning as it goes."""
        radius = self.half_size * 0.6
        angle = self._time * FLY_SPEED / max(radius, 1.0)
        view.pos = glm.vec3(radius * math.cos(angle), 2.5, radius * math.sin(angle))
        view.yaw = angle + math.pi / 2 + 0.3  # along the loop, a little inwards
        view.pitch = math.radians(-5)
        view.recalculate()


def _model_extent(spec: SceneSpec, model_id: str) -> tuple[np.ndarray, np.ndarray]:
    """The model's vertex positions' box (before upload, from its model data)."""
    from eng.geometry_files import load_geometry

    model = next(m for m in spec.models if m.id == model_id)
    positions = load_geometry(model)[0][:, :3]
    return positions.min(axis=0), positions.max(axis=0)
