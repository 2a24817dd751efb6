"""Validation stricter than the book: plain, synchronization and best-practices validation on
the headless and the windowed path, and debug names that show up in the messages.

Zero messages is the bar. The only exceptions are the best-practices messages listed one by
one in ACCEPTED_BEST_PRACTICES, each with its reason; an accepted id that no longer appears is
fine, any other message fails.
"""

import inspect

import pytest
import vulkan as vk

from eng.extras.culling import Culling
from eng.extras.handoff import HandOffs
from eng.extras.render_inst import Instancing
from eng.vk.buf import VkBuffer
from eng.vk.cmd import VkCmdBuff, VkCmdPool
from eng.vk.dev import VkDevice
from eng.vk.queue import VkQueue
from eng.vk.util import vk_int
from eng.vk.vma import VmaFlags, VmaMemoryFlags
from game.main import Game
from game.scenes import load_spec

from .helpers import book_file, create_engine, default_scene_engine, finish_ctx, run_engine

SPONZA = book_file("sponza", "Sponza.json")

ACCEPTED_BEST_PRACTICES = {
    # With dedicated images (the book's way, --dedicated-images) every texture and attachment
    # gets its own VkDeviceMemory, small ones included (the 1x1 default texture is 4 bytes).
    # Each such allocation gives one of each of these two messages. The engine's default (VMA
    # pools, dedicated memory only for staging buffers of 1 MiB and more) gives neither.
    "UNASSIGNED-BestPractices-vkAllocateMemory-small-allocation",
    "UNASSIGNED-BestPractices-vkBindMemory-small-dedicated-allocation",
    # ... and the same two as layers 1.4 (Debian 13) name them
    "BestPractices-vkAllocateMemory-small-allocation",
    "BestPractices-vkBindImageMemory-small-dedicated-allocation",
}


def unaccepted(validation_log, features) -> list[str]:
    """The messages that fail a run: all of them, less the accepted best-practices ids."""
    accepted = ACCEPTED_BEST_PRACTICES if "best-practices" in features else set()
    return [
        m
        for i, m in zip(validation_log.message_ids, validation_log.messages, strict=True)
        if i not in accepted
    ]


class ResizeOnce(Game):
    """Resizes the window once, so the windowed runs cover swapchain recreation too."""

    def __init__(self, spec, at: int, size: tuple[int, int]) -> None:
        super().__init__(spec)
        self.at, self.size, self.calls = at, size, 0

    def input(self, eng_ctx, delta_sec):
        self.calls += 1
        if self.calls == self.at:
            eng_ctx.wnd.set_size(*self.size)


def engine_extras() -> list:
    """Extras whose Vulkan work runs beside the book's in every validated run: culling, the
    instanced path's pipelines (no batches: the scene's entities stay the book's draws) and
    the hand-offs' timestamps inside the pass (on a CPU device)."""
    culling = Culling()
    return [culling, Instancing(culling), HandOffs()]


def run_validated(constants, features, headless, scene=None, size=(96, 64), frames=12, **kw):
    """Runs the game with validation `features`; returns (stats, image, validation log)."""
    spec = load_spec(scene, None)
    game = Game(spec) if headless else ResizeOnce(spec, frames // 2, (size[0] + 20, size[1] + 12))
    engine = create_engine(
        game, constants, size, headless, engine_extras(), True, validation_features=features, **kw
    )
    validation_log = engine.ctx.instance.validation_log
    assert validation_log is not None, "validation layers are not active"
    stats, image = run_engine(engine, frames)  # cleanup raises on a VMA leak
    assert stats.frames == frames
    assert image[..., :3].max() > 0
    return stats, image, validation_log


# best-practices runs may end with the accepted messages: `unaccepted` checks them instead
FEATURES = [
    pytest.param((), id="plain"),
    pytest.param(("sync",), id="sync"),
    pytest.param(("best-practices",), id="best-practices", marks=pytest.mark.validation_messages),
]


@pytest.mark.parametrize("features", FEATURES)
def test_headless_path_is_clean_under_every_validator(constants, features):
    _, _, validation_log = run_validated(constants, features, headless=True)
    assert unaccepted(validation_log, features) == []


@pytest.mark.parametrize("features", FEATURES)
def test_windowed_path_is_clean_under_every_validator(xvfb_display, constants, features):
    constants = constants.with_overrides(vsync=False)
    _, image, validation_log = run_validated(constants, features, headless=False)
    assert image.shape == (76, 116, 4)  # the size after the resize
    assert unaccepted(validation_log, features) == []


@pytest.mark.book_data
@pytest.mark.validation_messages
def test_sponza_with_sync_and_best_practices_together(constants):
    """The book's scene: 25 textures with mipmaps, 103 meshes, blending, both validators."""
    features = ("sync", "best-practices")
    _, _, validation_log = run_validated(constants, features, True, SPONZA, (80, 48), frames=3)
    assert unaccepted(validation_log, features) == []


@pytest.mark.validation_messages
def test_dedicated_images_the_books_way_with_best_practices(constants):
    features = ("sync", "best-practices")
    _, _, validation_log = run_validated(constants, features, True, dedicated_images=True, frames=3)
    assert unaccepted(validation_log, features) == []


def test_the_validation_features_are_really_on(constants):
    """Controls: best-practices speaks at instance creation and sync validation reports a
    hazard that plain validation does not see - so a clean run above means something."""
    engine = default_scene_engine(
        constants, (32, 32), validation_features=("sync", "best-practices")
    )
    ctx = engine.ctx
    validation_log = ctx.instance.validation_log
    # filtered by the callback (eng/vk/validation.py), still seen: best-practices is on
    assert any("specialuse-extension" in i for i in validation_log.filtered_ids)
    validation_log.messages.clear()
    validation_log.message_ids.clear()
    # two copies into one buffer without a barrier between them: a write-after-write hazard
    queue = VkQueue.create(ctx, ctx.phys.queues_info.graphics_family)
    pool = VkCmdPool.create(ctx, queue.family, name="hazard pool")
    cmd = VkCmdBuff.create(ctx, pool, True, "hazard cmd")
    src = VkBuffer.create(
        ctx,
        256,
        vk.VK_BUFFER_USAGE_TRANSFER_SRC_BIT,
        VmaFlags.HOST_ACCESS_SEQUENTIAL_WRITE,
        required_flags=VmaMemoryFlags.HOST_VISIBLE_AND_COHERENT,
        name="hazard src",
    )
    dst = VkBuffer.create(ctx, 256, vk.VK_BUFFER_USAGE_TRANSFER_DST_BIT, name="hazard dst")
    cmd.begin()
    region = [vk.VkBufferCopy(srcOffset=0, dstOffset=0, size=256)]
    vk.vkCmdCopyBuffer(cmd.cmd, src.buffer, dst.buffer, 1, region)
    vk.vkCmdCopyBuffer(cmd.cmd, src.buffer, dst.buffer, 1, region)
    cmd.end()
    cmd.submit_and_wait(ctx, queue)
    ids = list(validation_log.message_ids)
    validation_log.messages.clear()
    validation_log.message_ids.clear()
    for b in (src, dst):
        b.cleanup(ctx)
    pool.cleanup(ctx)
    engine.cleanup()
    assert "SYNC-HAZARD-WRITE-AFTER-WRITE" in ids, ids


# --- debug names ----------------------------------------------------------------------------


def test_validation_messages_name_the_objects(constants):
    """A named command buffer, a named VMA buffer and an engine image (offscreen 0) appear by
    name in the validation messages about them."""
    engine = default_scene_engine(constants, (32, 32))
    ctx = engine.ctx
    validation_log = ctx.instance.validation_log
    pool = VkCmdPool.create(ctx, ctx.phys.queues_info.graphics_family, True, "probe pool")
    cmd = VkCmdBuff.create(ctx, pool, True, "probe command buffer")
    buffer = VkBuffer.create(ctx, 64, vk.VK_BUFFER_USAGE_TRANSFER_SRC_BIT, name="probe buffer")
    try:
        vk.lib.vkEndCommandBuffer(cmd.cmd)  # not recording: VUID-vkEndCommandBuffer-...-00059
        cmd.begin()
        too_far = [vk.VkBufferCopy(srcOffset=0, dstOffset=0, size=128)]
        vk.vkCmdCopyBuffer(cmd.cmd, buffer.buffer, buffer.buffer, 1, too_far)
        clear = vk.VkClearColorValue(float32=[0.0, 0.0, 0.0, 1.0])
        whole = vk.VkImageSubresourceRange(
            aspectMask=vk.VK_IMAGE_ASPECT_COLOR_BIT, levelCount=1, layerCount=1
        )
        offscreen = engine.render.offscreen.images[0]  # no TRANSFER_DST usage: invalid
        vk.vkCmdClearColorImage(cmd.cmd, offscreen, vk.VK_IMAGE_LAYOUT_GENERAL, clear, 1, [whole])
        cmd.end()
        messages = list(zip(validation_log.message_ids, validation_log.messages, strict=True))
    finally:
        validation_log.messages.clear()
        validation_log.message_ids.clear()
        buffer.cleanup(ctx)
        pool.cleanup(ctx)
        engine.cleanup()

    def about(name):
        """(id, text) of the messages naming `name`: layers 1.3 write "name = X,", 1.4 "[X]"."""
        return [(i, m) for i, m in messages if f"name = {name}," in m or f"[{name}]" in m]

    assert any(i.startswith("VUID-vkEndCommandBuffer") for i, _ in about("probe command buffer"))
    assert any("vkCmdCopyBuffer" in m for _, m in about("probe buffer")), messages
    assert any("vkCmdClearColorImage" in m for _, m in about("offscreen 0")), messages


class CreationRecorder:
    """Records every Vulkan object the engine creates and every debug name it sets.

    Objects made through the `vulkan` package's create/allocate functions (and the extension
    functions got through vkGetDevice/InstanceProcAddr), buffers and images made by VMA and the
    window surface are seen; events are kept in order, so a name must follow its object's
    creation before that handle value is created again."""

    SKIP = {"vkCreateInstance", "vkCreateDevice"}  # named later (see test)

    def __init__(self, monkeypatch) -> None:
        self.events: list[tuple[str, int, str]] = []  # ("create", handle, what) / ("name", ...)
        self.mp = monkeypatch
        for name in dir(vk):
            if name.startswith(("vkCreate", "vkAllocate")) and name not in self.SKIP:
                if name in ("vkAllocateMemory",):
                    continue
                self._wrap_module(name)
        for getter in ("vkGetDeviceProcAddr", "vkGetInstanceProcAddr"):
            self._wrap_getter(getter)
        from eng.vk import vma

        real_to_vk = vma.to_vk

        def to_vk(ctype, handle):
            result = real_to_vk(ctype, handle)
            if ctype in ("VkBuffer", "VkImage"):
                self._created(result, f"{ctype} by VMA")
            return result

        monkeypatch.setattr(vma, "to_vk", to_vk)
        real_set_name = VkDevice.set_name

        def set_name(dev, object_type, handle, name):
            real_set_name(dev, object_type, handle, name)
            if name and dev._set_name is not None:
                self.events.append(("name", vk_int(handle), name))

        monkeypatch.setattr(VkDevice, "set_name", set_name)
        from eng.vk.surf import VkSurface

        real_surface = VkSurface.create.__func__

        def surface_create(cls, window, instance):
            surface = real_surface(cls, window, instance)
            if surface.x_display is None:  # SDL made it: no vkCreate* call was seen
                self._created(surface.surface, "VkSurfaceKHR")
            return surface

        monkeypatch.setattr(VkSurface, "create", classmethod(surface_create))

    def _created(self, result, what: str) -> None:
        callers = " <- ".join(
            f"{f.function} ({f.filename.rsplit('/', 1)[-1]})" for f in inspect.stack()[2:6]
        )
        where = f"{what} in {callers}"
        if isinstance(result, vk.ffi.CData) and vk.ffi.typeof(result).kind == "array":
            handles = list(result)
        else:
            handles = result if isinstance(result, list) else [result]
        for h in handles:
            self.events.append(("create", vk_int(h), where))

    def _wrapper(self, name, fn):
        def wrapped(*args, **kwargs):
            result = fn(*args, **kwargs)
            if not name.startswith("vkCreateDebugUtilsMessenger"):
                self._created(result, name)
            return result

        return wrapped

    def _wrap_module(self, name) -> None:
        self.mp.setattr(vk, name, self._wrapper(name, getattr(vk, name)))

    def _wrap_getter(self, getter) -> None:
        real = getattr(vk, getter)

        def get(handle, fn_name):
            fn = real(handle, fn_name)
            if fn_name.startswith("vkCreate"):
                return self._wrapper(fn_name, fn)
            return fn

        self.mp.setattr(vk, getter, get)

    def unnamed(self) -> list[str]:
        pending: dict[int, str] = {}
        missing = []
        for kind, handle, what in self.events:
            if kind == "create":
                if handle in pending:
                    missing.append(pending[handle])
                pending[handle] = what
            else:
                pending.pop(handle, None)
        return missing + list(pending.values())


# Creations that stay unnamed for now, each with its reason. Entries that no longer occur are
# fine; anything else unnamed fails.
ACCEPTED_UNNAMED = {
    # VkCmdBuff.submit_and_wait (eng/vk/cmd.py, owned by the per-frame work) makes its fence
    # without a name; docs/reliability.md proposes the one-line fix.
    ("vkCreateFence", "submit_and_wait (cmd.py)"),
}


def _accepted(what: str) -> bool:
    function, callers = what.split(" in ", 1)
    first_outside = callers.split(" <- ")[1]  # callers[0] is VkFence.create and the like
    return (function, first_outside) in ACCEPTED_UNNAMED


def test_every_object_the_engine_creates_has_a_debug_name(xvfb_display, constants, monkeypatch):
    recorder = CreationRecorder(monkeypatch)
    # headless, then windowed with a resize (swapchain, its images and views made twice)
    run_validated(constants, (), headless=True, frames=3)
    run_validated(constants.with_overrides(vsync=False), (), headless=False, frames=6)
    created = [e for e in recorder.events if e[0] == "create"]
    assert len(created) > 50, "the recorder saw too few creations to mean anything"
    made = {w.split(" in ")[0] for _, _, w in created}
    assert {"vkCreateSwapchainKHR", "vkCreateSampler"} <= made
    assert made & {"VkSurfaceKHR", "vkCreateXlibSurfaceKHR"}, "the window's surface was seen"
    unnamed = [w for w in recorder.unnamed() if not _accepted(w)]
    assert unnamed == [], "created without a debug name:\n" + "\n".join(sorted(set(unnamed)))


def test_the_device_and_its_queues_are_named(constants, monkeypatch):
    names = {}
    real = VkDevice.set_name

    def set_name(dev, object_type, handle, name):
        real(dev, object_type, handle, name)
        names[object_type] = name

    monkeypatch.setattr(VkDevice, "set_name", set_name)
    from eng.vk.ctx import VkCtx

    ctx = VkCtx.create(constants)
    finish_ctx(ctx)
    assert names[vk.VK_OBJECT_TYPE_DEVICE] == "zvk-py device"
    assert "graphics queue" in names[vk.VK_OBJECT_TYPE_QUEUE]
    assert names[vk.VK_OBJECT_TYPE_PHYSICAL_DEVICE]
    assert names[vk.VK_OBJECT_TYPE_PIPELINE_CACHE] == "pipeline cache"
