"""The scale scenes and the instanced path: rendered with validation and without VMA leaks,
moving entities change the picture, the instanced path draws the per-draw path's golden
picture, and the culling of the tiled scene agrees with a brute-force test of every box."""

import math

import numpy as np
import pytest
from pyglm import glm

from eng.engine import EngCtx
from eng.entity import Entity
from eng.extras.culling import Culling, frustum_planes, instance_boxes, visible
from eng.extras.instances import InstanceBatch
from eng.extras.render_inst import Instancing
from eng.scene import Scene
from game.main import Game
from game.scenes import load_spec
from game.stress import StressGame, _model_extent

from .helpers import compare_golden, create_engine, run_engine
from .test_cli import run_game

SIZE = (320, 240)


class FixedStepStress(StressGame):
    """The stress scene advanced by a fixed time step per frame: runs are repeatable."""

    STEP = 0.5

    def animate(self, eng_ctx, delta_sec):
        super().animate(eng_ctx, self.STEP)


def culled_instancing() -> tuple[Culling, Instancing]:
    culling = Culling()
    return culling, Instancing(culling)


def run_scene(constants, game, extras, frames: int):
    engine = create_engine(game, constants, SIZE, extras=extras, capture=True)
    scn = engine.render.scn  # (it outlives cleanup)
    validation_log = engine.ctx.instance.validation_log
    stats, image = run_engine(engine, frames)
    assert validation_log.messages == [], "\n".join(validation_log.messages)
    assert stats.vma_live_at_exit == 0
    return stats, image, scn


def test_stress_renders_with_validation_and_moves_every_frame(lavapipe):
    images = []
    for frames in (1, 3):
        culling, instances = culled_instancing()
        game = FixedStepStress(load_spec(None, None), 2000, False, instances)
        stats, image, scn = run_scene(lavapipe, game, [culling, instances], frames)
        assert sum(b.count for b in game.batches) == 2000
        shown = len(scn.draw_list.opaque) + len(scn.draw_list.blended)
        assert stats.draws_per_frame == len(instances.draws) + shown
        assert 0 < sum(instances.visible_counts) < 2000  # culled, but something shows
        images.append(image[..., :3].astype(np.int16))
    moved = (np.abs(images[0] - images[1]).max(axis=2) > 24).mean()
    assert moved > 0.01, f"only {moved:.2%} of the pixels changed between frames 1 and 3"


def test_every_batch_gets_exactly_its_visible_instances(lavapipe, monkeypatch):
    """All batches are culled in one call: each batch's rows of the matrix buffer must hold
    its own visible instances, in order, as a brute-force test of every box finds them."""
    written = []

    def write_and_keep(self, frame, planes):
        real_write(self, frame, planes)
        rows = [
            self._matrices[frame][base : base + count].copy()
            for base, count in zip(self._bases, self.visible_counts, strict=False)
        ]
        written.append((planes.copy(), [b.columns.copy() for b in self._batches], rows))

    real_write = Instancing._write
    monkeypatch.setattr(Instancing, "_write", write_and_keep)
    spec = load_spec(None, None)
    culling, instances = culled_instancing()
    game = FixedStepStress(spec, 2000, False, instances)
    run_scene(lavapipe, game, [culling, instances], 2)
    assert written, "the instanced path wrote matrices"
    planes, columns, rows = written[-1]
    models = {m.id: m for m in spec.models}
    assert len(rows) == len(game.batches) >= 2
    for batch, batch_columns, batch_rows in zip(game.batches, columns, rows, strict=True):
        low, high = _model_extent(spec, models[batch.model_id].id)
        kept = InstanceBatch(batch.id, batch.model_id, batch_columns)
        shown = _brute_force_visible(planes, kept, low, high)
        assert 0 < len(shown) < batch.count, batch.id
        expected = batch_columns.reshape(-1, 16)[shown]
        assert batch_rows.shape == expected.shape, batch.id
        assert np.array_equal(batch_rows, expected), batch.id


def test_instanced_path_draws_the_per_draw_golden_picture(lavapipe):
    instances = Instancing()
    game = Game(load_spec(None, None), instances)
    _, image, scn = run_scene(lavapipe, game, [instances], 2)
    assert scn.draw_list.items == [] and len(instances.draws) >= 5  # all of it instanced
    compare_golden(image, "default_scene", regenerate=False)  # the per-draw path's picture


def _brute_force_visible(planes, batch: InstanceBatch, low, high) -> list[int]:
    """Every instance's eight box corners moved by its matrix one by one (glm), the box
    around them tested against each plane: the indices that are at least partly inside."""
    shown = []
    corners = [
        glm.vec4(float(x), float(y), float(z), 1.0)
        for x in (low[0], high[0])
        for y in (low[1], high[1])
        for z in (low[2], high[2])
    ]
    for n, columns in enumerate(batch.columns):
        matrix = glm.mat4(*(glm.vec4(*map(float, c)) for c in columns))
        world = [matrix * c for c in corners]
        box_low = [min(p[i] for p in world) for i in range(3)]
        box_high = [max(p[i] for p in world) for i in range(3)]
        inside = True
        for a, b, c, d in planes.tolist():
            # the box's corner farthest along the plane's normal
            far = [
                h if k >= 0 else lo for k, lo, h in zip((a, b, c), box_low, box_high, strict=True)
            ]
            if a * far[0] + b * far[1] + c * far[2] + d < 0:
                inside = False
                break
        if inside:
            shown.append(n)
    return shown


def test_culling_of_the_tiled_scene_agrees_with_brute_force(constants):
    spec = load_spec(None, None)
    game = StressGame(spec, 10_000, True, Instancing())
    eng_ctx = EngCtx(constants, Scene(), None)
    game.init(eng_ctx)
    camera = eng_ctx.scene.camera
    camera.proj_data.update(math.radians(60), 1.0, 50.0, *SIZE)
    assert sum(b.count * len(m.meshes) for b, m in _with_models(game, spec)) >= 10_000
    for step in (0.0, 7.0, 20.0):
        game.animate(eng_ctx, step)  # the camera flies on
        planes = frustum_planes(camera.proj_data.proj_matrix * camera.view_data.view_matrix)
        total = 0
        for batch, _ in _with_models(game, spec):
            low, high = _model_extent(spec, batch.model_id)
            fast = np.flatnonzero(visible(planes, instance_boxes(low, high, batch.columns)))
            assert fast.tolist() == _brute_force_visible(planes, batch, low, high), batch.id
            total += len(fast)
        assert 0 < total < sum(b.count for b in game.batches)


def _with_models(game, spec):
    models = {m.id: m for m in spec.models}
    return [(b, models[b.model_id]) for b in game.batches]


@pytest.mark.parametrize("base_rotation", [(0, 0, 0), (90, 0, 0)])
def test_batch_transforms_match_the_entity_matrices(base_rotation):
    positions = np.array([[1.0, 2.0, 3.0], [-4.0, 0.5, 7.0]], np.float32)
    yaw = np.array([0.3, -2.0], np.float32)
    base = Entity("base", "m")
    base.set_rotation_deg(*base_rotation)
    base.scale = 1.5
    base.update()
    columns = np.frombuffer(base.model_matrix.to_bytes(), np.float32).reshape(4, 4)
    batch = InstanceBatch("b", "m", np.zeros((2, 4, 4)))
    batch.set_transforms(positions, yaw, 2.0, columns)
    for n in range(2):
        entity = Entity("e", "m")
        entity.set_pos(*map(float, positions[n]))
        entity.set_rotation_deg(0, math.degrees(float(yaw[n])), 0)
        entity.scale = 2.0
        entity.update()
        expected = np.frombuffer((entity.model_matrix * base.model_matrix).to_bytes(), np.float32)
        np.testing.assert_allclose(batch.columns[n].ravel(), expected, atol=1e-5)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--stress", "0"], "--stress: must be at least 1"),
        (["--stress", "10", "--stress-static", "10"], "not allowed with argument"),
        (["--stress", "10", "--scene", "cube"], "leave out --scene"),
    ],
)
def test_bad_stress_options_get_one_line(args, message):
    result = run_game("--headless", *args)
    assert result.returncode == 2
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1
