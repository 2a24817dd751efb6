"""Hand-offs to lavapipe's rasterizer threads (eng/extras/handoff.py): written, executed in order,
and the same picture."""

import numpy as np
import pytest
import vulkan as vk

from eng.extras.depth_prepass import DepthPrepass
from eng.extras.handoff import PER_FRAME, TRIANGLES, HandOffs

from .helpers import default_scene_engine, run_engine


def render_with_batches(constants, monkeypatch, triangles: int, depth_prepass: bool):
    """A default-scene frame with a hand-off after every `triangles` triangles; returns the
    frame, the hand-offs its recording wrote and their timestamps, read back before the
    query pool is destroyed, and the triangles of the frame's draws in recording order."""
    handoffs = HandOffs(triangles)
    extras = [DepthPrepass(), handoffs] if depth_prepass else [handoffs]
    engine = default_scene_engine(constants, (320, 240), extras, capture=True)
    assert handoffs.pool is not None, "lavapipe is a CPU device: the scene pass hands off"
    scn = engine.render.scn
    read: list[tuple[int, list[int], list[int]]] = []  # written, their timestamps, draws
    cleanup = HandOffs.cleanup

    def read_then_cleanup(self, ctx):  # the device is idle by then
        results = vk.ffi.new("uint64_t[]", PER_FRAME)
        if self.written:
            result = vk.lib.vkGetQueryPoolResults(
                ctx.device.device, self.pool, self._first, self.written,
                8 * self.written, results, 8, vk.VK_QUERY_RESULT_64_BIT,
            )  # fmt: skip
            assert result == vk.VK_SUCCESS, "a hand-off's timestamp was never written"
        draw_list = scn.draw_list
        draws = [i.index_count // 3 for i in draw_list.opaque] * (1 + depth_prepass)
        draws += [i.index_count // 3 for i in draw_list.blended]
        read.append((self.written, list(results)[: self.written], draws))
        cleanup(self, ctx)

    monkeypatch.setattr(HandOffs, "cleanup", read_then_cleanup)
    stats, image = run_engine(engine, 3)
    assert stats.validation_messages == 0
    ((written, stamps, draws),) = read
    return image, written, stamps, draws


@pytest.mark.parametrize("depth_prepass", [False, True], ids=["book", "prepass"])
def test_handoffs_keep_the_picture(lavapipe, monkeypatch, depth_prepass):
    many, written, stamps, _ = render_with_batches(lavapipe, monkeypatch, 1, depth_prepass)
    none, written_none, _, _ = render_with_batches(lavapipe, monkeypatch, 10**9, depth_prepass)
    assert written_none == 0
    assert written == PER_FRAME  # one after every draw, up to the frame's queries
    assert stamps == sorted(stamps) and stamps[0] > 0  # executed, in the order recorded
    assert np.array_equal(many, none)


@pytest.mark.parametrize("depth_prepass", [False, True], ids=["book", "prepass"])
def test_a_handoff_follows_each_batch_of_triangles(lavapipe, monkeypatch, depth_prepass):
    batch = 500
    _, written, _, draws = render_with_batches(lavapipe, monkeypatch, batch, depth_prepass)
    expected = since = 0
    for triangles in draws:  # a hand-off once a batch's draws reach `batch` triangles
        since += triangles
        if since >= batch:
            expected, since = expected + 1, 0
    assert 1 < written == expected < PER_FRAME


def test_the_batch_size_hands_off_every_50000_triangles():
    """The default batch: measured best on two cores (docs/performance.md); a size of 5 or
    'never' is a bug that the tests above, which set their own sizes, would not see."""
    assert TRIANGLES == 50_000 and HandOffs().triangles == TRIANGLES
