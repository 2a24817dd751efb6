"""The eng/vk boundary: the `vulkan` package's exceptions leave eng/vk as VulkanError naming
the call (and nothing made before the failure stays alive); VkCtx.cleanup finishes the
teardown after a VMA leak; nothing is ignored silently; CPU writes into mapped memory are
flushed; the book's modules stay about as long as the book's Zig files."""

import ast
import logging

import numpy as np
import pytest
import vulkan as vk
import vulkan._vulkan as vk_impl

from eng.vk import vma
from eng.vk.buf import VkBuffer
from eng.vk.cmd import VkCmdBuff, VkCmdPool
from eng.vk.ctx import VkCtx
from eng.vk.desc import VkDescSetLayout
from eng.vk.errors import DeviceLostError, VulkanError, vk_errors
from eng.vk.image import VkImage, VkImageData
from eng.vk.imv import VkImageView, VkImageViewData
from eng.vk.pipe import VkPipelineCache
from eng.vk.query import create_query_pool
from eng.vk.sync import VkFence, VkSemaphore
from eng.vk.texture import VkTextSampler, VkTextSamplerInfo, VkTexture
from eng.vk.vma import VmaError, VmaFlags, VmaMemoryFlags
from game import cli

from .helpers import ROOT

OOM = vk.VK_ERROR_OUT_OF_HOST_MEMORY


class FailingCalls:
    """Patches the `vulkan` package's `_callApi`, through which every wrapper (vkCreateFence,
    the extension functions from vkGet*ProcAddr ...) reaches the driver: the `n`th call of
    `name` returns `result` without running, so the package's own wrapper raises its own
    exception, from a frame named after the function, as a real failure would."""

    def __init__(self, monkeypatch, name: str, result: int = OOM, n: int = 1) -> None:
        self.name, self.result, self.n, self.calls = name, result, n, 0
        try:
            self.ctype = vk.ffi.typeof(f"PFN_{name}")
        except vk.ffi.error:
            self.ctype = vk.ffi.typeof(getattr(vk.lib, name))
        real = vk_impl._callApi

        def call_api(fn, *args):
            if vk.ffi.typeof(fn) is self.ctype:
                self.calls += 1
                if self.calls == self.n:
                    return self.result
            return real(fn, *args)

        monkeypatch.setattr(vk_impl, "_callApi", call_api)


# --- a failed wrapper call is a VulkanError, at every create --------------------------------


@pytest.fixture
def contexts(monkeypatch):
    """Every VkCtx begun during the test, its create finished or not."""
    made: list[VkCtx] = []
    real_init = VkCtx.__init__

    def init(self, *args) -> None:
        real_init(self, *args)
        made.append(self)

    monkeypatch.setattr(VkCtx, "__init__", init)
    return made


def assert_destroyed(contexts: list[VkCtx]) -> None:
    """Each context was destroyed whole (the autouse fixture checks validation said nothing,
    vkDestroyDevice's report of leaked objects included)."""
    assert len(contexts) == 1
    ctx = contexts[0]
    assert ctx._vma is None and ctx._device is None and ctx._instance is None


HEADLESS = ["--headless", "--validation", "--frames", "2", "--size", "32x32"]


@pytest.mark.parametrize(
    ("name", "n", "owner"),
    [
        ("vkCreateDevice", 1, "VkDevice"),
        ("vkCreatePipelineCache", 1, "VkPipelineCache"),
        ("vkCreateCommandPool", 1, "VkCmdPool"),
        ("vkAllocateCommandBuffers", 1, None),
        ("vkCreateFence", 2, "VkFence"),
        ("vkCreateImageView", 2, "VkImageView"),
        ("vkCreateSampler", 1, "VkTextSampler"),
        ("vkCreateDescriptorSetLayout", 2, "VkDescSetLayout"),
        ("vkCreateDescriptorPool", 1, None),
        ("vkAllocateDescriptorSets", 2, None),
        ("vkCreateShaderModule", 2, "VkShaderModule"),
        ("vkCreatePipelineLayout", 1, "VkPipeline"),
        ("vkCreateGraphicsPipelines", 1, "VkPipeline"),  # after its layout: destroyed too
        ("vkSetDebugUtilsObjectNameEXT", 5, None),
    ],
)
def test_a_failed_create_is_one_line_naming_the_call(monkeypatch, contexts, capsys, name, n, owner):
    """The `vulkan` package raises its own exception (vk.VkErrorOutOfHostMemory); the CLI
    prints the VulkanError it became, in one line, and the whole engine is destroyed."""
    failing = FailingCalls(monkeypatch, name, n=n)
    status = cli.main(HEADLESS)
    err = capsys.readouterr().err.strip()
    assert failing.calls >= n, f"{name} was called {failing.calls} time(s)"
    assert status == 1, err
    assert len(err.splitlines()) == 1, err
    assert err.startswith(f"error: {name} failed (VK_ERROR_OUT_OF_HOST_MEMORY) while "), err
    if owner is not None:
        assert err.endswith(f"while creating {owner}"), err
    assert_destroyed(contexts)


def test_a_device_lost_in_a_wrapper_call_is_a_device_lost_error(monkeypatch, contexts, capsys):
    FailingCalls(monkeypatch, "vkCreateFence", vk.VK_ERROR_DEVICE_LOST, n=2)
    status = cli.main(HEADLESS)
    err = capsys.readouterr().err.strip()
    assert status == 1
    assert err.startswith("error: the Vulkan device was lost in vkCreateFence while creating"), err
    assert len(err.splitlines()) == 1
    assert_destroyed(contexts)


def _named(name: str, exc: type[Exception]):
    """A stand-in for the `vulkan` function `name` that raises `exc`, named like it."""

    def fake(*args, **kwargs):
        raise exc()

    fake.__code__ = fake.__code__.replace(co_name=name)
    return fake


def _image(ctx):
    return VkImage.create(ctx, VkImageData(16, 16, vk.VK_IMAGE_USAGE_SAMPLED_BIT), name="img")


CREATES = {
    "vkCreateFence": lambda ctx, made: VkFence.create(ctx, name="f"),
    "vkCreateSemaphore": lambda ctx, made: VkSemaphore.create(ctx, name="s"),
    "vkCreateCommandPool": lambda ctx, made: VkCmdPool.create(ctx, 0),
    "vkCreateSampler": lambda ctx, made: VkTextSampler.create(ctx, VkTextSamplerInfo()),
    "vkCreateDescriptorSetLayout": lambda ctx, made: VkDescSetLayout.create(
        ctx, 0, vk.VK_DESCRIPTOR_TYPE_UNIFORM_BUFFER, vk.VK_SHADER_STAGE_VERTEX_BIT
    ),
    "vkCreateQueryPool": lambda ctx, made: create_query_pool(
        ctx, vk.VK_QUERY_TYPE_TIMESTAMP, 4, "timestamps"
    ),
    "vkCreateImageView": lambda ctx, made: VkImageView.create(
        ctx.device, made(_image(ctx)).image, VkImageViewData(vk.VK_FORMAT_R8G8B8A8_SRGB)
    ),
}


@pytest.mark.parametrize("name", sorted(CREATES))
@pytest.mark.parametrize("exc", [vk.VkErrorOutOfDeviceMemory, vk.VkErrorDeviceLost])
def test_a_vulkan_function_raising_leaves_a_create_as_vulkan_error(ctx, monkeypatch, name, exc):
    """The `vulkan` function itself replaced by one that raises: the create wrapper raises
    the project's VulkanError (DeviceLostError for a lost device) naming the call, and the
    context is left as it was (the `ctx` fixture fails on a leak or a validation message)."""
    made: list = []
    before = ctx.vma.statistics().allocations
    with monkeypatch.context() as patch:
        patch.setattr(vk, name, _named(name, exc))
        with pytest.raises(VulkanError) as raised:
            CREATES[name](ctx, lambda obj: made.append(obj) or obj)
    assert not isinstance(raised.value, vk.VkError | vk.VkException)
    assert isinstance(raised.value, DeviceLostError) == (exc is vk.VkErrorDeviceLost)
    assert name in str(raised.value)
    for obj in made:
        obj.cleanup(ctx)
    assert ctx.vma.statistics().allocations == before


def test_a_wrapper_outside_any_create_is_translated_too(ctx, monkeypatch):
    pool = VkCmdPool.create(ctx, 0)
    try:
        FailingCalls(monkeypatch, "vkAllocateCommandBuffers", vk.VK_ERROR_OUT_OF_DEVICE_MEMORY)
        with pytest.raises(VulkanError, match="^vkAllocateCommandBuffers failed .*DEVICE_MEM"):
            VkCmdBuff.create(ctx, pool, one_time=True, name="doomed")
    finally:
        pool.cleanup(ctx)


def test_a_missing_extension_function_is_a_vulkan_error(ctx):
    with pytest.raises(VulkanError, match="vkGetDeviceProcAddr failed"):
        ctx.device.proc("vkNoSuchFunctionEXT")


def test_vk_errors_passes_everything_else_through():
    with pytest.raises(KeyboardInterrupt), vk_errors("waiting"):
        raise KeyboardInterrupt
    with pytest.raises(ValueError), vk_errors("parsing"):
        raise ValueError("not a Vulkan error")
    timeout = r"^a Vulkan call failed \(VK_TIMEOUT\) while waiting$"
    with pytest.raises(VulkanError, match=timeout), vk_errors("waiting"):
        raise vk.VkTimeout()


def test_the_query_pool_helper_leaves_no_pool_when_naming_fails(ctx, monkeypatch):
    pool = create_query_pool(ctx, vk.VK_QUERY_TYPE_TIMESTAMP, 2, "kept")
    vk.vkDestroyQueryPool(ctx.device.device, pool, None)
    FailingCalls(monkeypatch, "vkSetDebugUtilsObjectNameEXT")
    with pytest.raises(VulkanError, match="^vkSetDebugUtilsObjectNameEXT failed .* 'doomed'"):
        create_query_pool(ctx, vk.VK_QUERY_TYPE_TIMESTAMP, 2, "doomed")
    # the pool made before the failure is destroyed: vkDestroyDevice reports nothing


# --- VkCtx.cleanup after a leak -------------------------------------------------------------


@pytest.mark.validation_messages  # vkDestroyDevice reports the leaked buffer and its memory
def test_a_vma_leak_still_destroys_the_device_and_instance_then_raises(constants):
    ctx = VkCtx.create(constants)
    validation_log = ctx.instance.validation_log
    VkBuffer.create(ctx, 256, vk.VK_BUFFER_USAGE_VERTEX_BUFFER_BIT, name="leaked")
    with pytest.raises(VmaError, match="1 live allocation"):
        ctx.cleanup()
    assert ctx._vma is None and ctx._pipeline_cache is None and ctx._desc_allocator is None
    assert ctx._device is None and ctx._instance is None
    assert any("VkBuffer" in m and "[leaked]" in m for m in validation_log.messages)
    ctx.cleanup()  # nothing left: a second cleanup does nothing


def test_a_failing_step_of_the_context_cleanup_does_not_stop_the_others(constants, monkeypatch):
    ctx = VkCtx.create(constants)

    real = VkPipelineCache.cleanup

    def fail(self, ctx) -> None:
        real(self, ctx)
        raise VulkanError("the pipeline cache failed")

    monkeypatch.setattr(VkPipelineCache, "cleanup", fail)
    with pytest.raises(VulkanError, match="pipeline cache failed"):
        ctx.cleanup()
    assert ctx._device is None and ctx._instance is None and ctx._vma is None


# --- nothing ignored silently ---------------------------------------------------------------

VK_DIR = ROOT / "eng" / "vk"


def test_no_exception_is_ignored_without_a_word():
    """No `except: pass` (or `...`, `continue`) and no contextlib.suppress in eng/ and game/:
    whatever is ignored is logged."""
    offenders = []
    for path in sorted([*(ROOT / "eng").rglob("*.py"), *(ROOT / "game").rglob("*.py")]):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ExceptHandler) and all(
                isinstance(s, ast.Pass | ast.Continue)
                or (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))
                for s in node.body
            ):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
            if isinstance(node, ast.Name | ast.Attribute) and "suppress" in ast.unparse(node):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno} suppress")
    assert offenders == []


def test_a_pipeline_cache_the_driver_cannot_hand_over_is_logged(ctx, tmp_path, caplog, monkeypatch):
    class FailingData:
        def __getattr__(self, attr):
            if attr == "vkGetPipelineCacheData":
                return lambda *args: OOM
            return getattr(real, attr)

    cache = VkPipelineCache.create(ctx, tmp_path / "cache.bin")
    real = vk.lib
    caplog.set_level(logging.DEBUG, logger="eng.vk")
    with monkeypatch.context() as patch:
        patch.setattr(vk, "lib", FailingData())
        cache.cleanup(ctx)
    assert not (tmp_path / "cache.bin").exists()
    assert any("not saved" in r.getMessage() for r in caplog.records), caplog.records


# --- CPU writes into mapped memory are flushed ----------------------------------------------


class Counted:
    """Records the calls of vma.flush and vma.invalidate, and lets them run."""

    def __init__(self, monkeypatch) -> None:
        self.flushes: list[tuple[int, int]] = []
        self.invalidates: list[tuple[int, int]] = []
        real_flush, real_invalidate = vma.flush, vma.invalidate

        def flush(ctx, allocation, offset, size) -> None:
            self.flushes.append((offset, size))
            real_flush(ctx, allocation, offset, size)

        def invalidate(ctx, allocation, offset, size) -> None:
            self.invalidates.append((offset, size))
            real_invalidate(ctx, allocation, offset, size)

        monkeypatch.setattr(vma, "flush", flush)
        monkeypatch.setattr(vma, "invalidate", invalidate)


@pytest.mark.parametrize("mapped", [True, False])
def test_writing_through_vk_buffer_flushes_what_was_written(ctx, monkeypatch, mapped):
    counted = Counted(monkeypatch)
    flags = VmaFlags.HOST_ACCESS_SEQUENTIAL_WRITE | (VmaFlags.MAPPED if mapped else 0)
    buffer = VkBuffer.create(ctx, 256, vk.VK_BUFFER_USAGE_TRANSFER_SRC_BIT, flags)
    try:
        assert (buffer.mapped_data is not None) == mapped
        buffer.write(ctx, bytes(range(64)), offset=32)
        assert counted.flushes == [(32, 64)]
        assert buffer.read(ctx, 96)[32:] == bytes(range(64))
        assert counted.invalidates == [(0, 96)]
        buffer.flush(ctx)
        assert counted.flushes[-1] == (0, 256)
    finally:
        buffer.cleanup(ctx)


def test_a_texture_upload_flushes_its_staging_buffer(ctx, monkeypatch):
    counted = Counted(monkeypatch)
    pixels = np.zeros((8, 8, 4), np.uint8)
    texture = VkTexture.create(ctx, pixels, name="flushed")
    try:
        assert counted.flushes == [(0, pixels.nbytes)]
    finally:
        texture.cleanup(ctx)


def test_flushing_non_coherent_capable_memory_runs_on_the_driver(ctx):
    """The real vmaFlushAllocation / vmaInvalidateAllocation on a HOST_ACCESS buffer that
    does not demand HOST_COHERENT (whatever memory type VMA picked)."""
    buffer = VkBuffer.create(
        ctx,
        4096,
        vk.VK_BUFFER_USAGE_TRANSFER_SRC_BIT,
        VmaFlags.HOST_ACCESS_RANDOM | VmaFlags.MAPPED,
        required_flags=VmaMemoryFlags.NONE,
    )
    try:
        buffer.write(ctx, b"\x01" * 4096)
        buffer.flush(ctx, 100, 7)  # VMA rounds to nonCoherentAtomSize itself
        assert buffer.read(ctx) == b"\x01" * 4096
        with pytest.raises(ValueError):
            buffer.read(ctx, 4097)
    finally:
        buffer.cleanup(ctx)
