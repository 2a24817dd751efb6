"""The foundation: context, VMA buffers and images, statistics, leaks, the debug messenger."""

import logging

import numpy as np
import pytest
import vulkan as vk

from eng.vk.buf import VkBuffer, record_copy
from eng.vk.cmd import VkCmdBuff, VkCmdPool
from eng.vk.ctx import VkCtx
from eng.vk.errors import VulkanError
from eng.vk.image import VkImage, VkImageData
from eng.vk.inst import VkInstance
from eng.vk.phys import VkPhysDevice, list_devices
from eng.vk.queue import VkQueue
from eng.vk.vma import VmaError, VmaFlags, VmaMemoryFlags, VmaUsage

from .helpers import finish_ctx

STAGING = dict(
    vma_flags=VmaFlags.HOST_ACCESS_SEQUENTIAL_WRITE,
    required_flags=VmaMemoryFlags.HOST_VISIBLE_AND_COHERENT,
)


def test_context_names_a_device_and_starts_with_no_allocations(ctx):
    assert ctx.phys.name
    assert ctx.instance.validation_log is not None
    assert ctx.vma.statistics().allocations == 0


def test_staged_copy_round_trips_through_device_local_buffers(ctx):
    """Staging -> device-local (vertex, index, storage) -> host readback, bytes compared."""
    queue = VkQueue.create(ctx, ctx.phys.queues_info.graphics_family)
    pool = VkCmdPool.create(ctx, queue.family)
    data = np.random.default_rng(1).integers(0, 255, 4096, dtype=np.uint8).tobytes()
    usages = [
        vk.VK_BUFFER_USAGE_VERTEX_BUFFER_BIT,
        vk.VK_BUFFER_USAGE_INDEX_BUFFER_BIT,
        vk.VK_BUFFER_USAGE_STORAGE_BUFFER_BIT,
    ]
    for usage in usages:
        src = VkBuffer.create(ctx, len(data), vk.VK_BUFFER_USAGE_TRANSFER_SRC_BIT, **STAGING)
        src.write(ctx, data)
        dst = VkBuffer.create(
            ctx,
            len(data),
            usage | vk.VK_BUFFER_USAGE_TRANSFER_DST_BIT | (vk.VK_BUFFER_USAGE_TRANSFER_SRC_BIT),
        )
        back = VkBuffer.create(
            ctx,
            len(data),
            vk.VK_BUFFER_USAGE_TRANSFER_DST_BIT,
            VmaFlags.HOST_ACCESS_RANDOM | VmaFlags.MAPPED,
        )
        cmd = VkCmdBuff.create(ctx, pool, one_time=True)
        cmd.begin()
        record_copy(cmd.cmd, src, dst)
        barrier = vk.VkMemoryBarrier2(
            sType=vk.VK_STRUCTURE_TYPE_MEMORY_BARRIER_2,
            srcStageMask=vk.VK_PIPELINE_STAGE_2_COPY_BIT,
            srcAccessMask=vk.VK_ACCESS_2_TRANSFER_WRITE_BIT,
            dstStageMask=vk.VK_PIPELINE_STAGE_2_COPY_BIT,
            dstAccessMask=vk.VK_ACCESS_2_TRANSFER_READ_BIT,
        )
        dep = vk.VkDependencyInfo(
            sType=vk.VK_STRUCTURE_TYPE_DEPENDENCY_INFO,
            memoryBarrierCount=1,
            pMemoryBarriers=[barrier],
        )
        vk.vkCmdPipelineBarrier2(cmd.cmd, dep)
        record_copy(cmd.cmd, dst, back)
        cmd.end()
        cmd.submit_and_wait(ctx, queue)
        assert back.read(ctx) == data
        cmd.cleanup(ctx, pool)
        for b in (src, dst, back):
            b.cleanup(ctx)
    pool.cleanup(ctx)


def test_vma_statistics_count_buffers_and_images(ctx):
    before = ctx.vma.statistics()
    buffers = [VkBuffer.create(ctx, 65536, vk.VK_BUFFER_USAGE_VERTEX_BUFFER_BIT) for _ in range(3)]
    uniform = VkBuffer.create(
        ctx,
        128,
        vk.VK_BUFFER_USAGE_UNIFORM_BUFFER_BIT,
        VmaFlags.HOST_ACCESS_SEQUENTIAL_WRITE | VmaFlags.MAPPED,
        VmaUsage.AUTO,
        VmaMemoryFlags.HOST_VISIBLE_AND_COHERENT,
    )
    assert uniform.mapped_data is not None
    images = [
        VkImage.create(
            ctx,
            VkImageData(
                width=256,
                height=128,
                usage=vk.VK_IMAGE_USAGE_SAMPLED_BIT | vk.VK_IMAGE_USAGE_TRANSFER_DST_BIT,
                mip_levels=8,
            ),
        ),
        VkImage.create(
            ctx,
            VkImageData(
                width=64,
                height=64,
                format=vk.VK_FORMAT_D32_SFLOAT,
                usage=vk.VK_IMAGE_USAGE_DEPTH_STENCIL_ATTACHMENT_BIT,
            ),
        ),
    ]
    during = ctx.vma.statistics()
    assert during.allocations == before.allocations + 6
    assert during.allocation_bytes >= before.allocation_bytes + 3 * 65536 + 128 + 256 * 128 * 4
    # the book's images each get their own VkDeviceMemory (dedicated allocations)
    assert during.blocks >= before.blocks + 2
    for b in [*buffers, uniform]:
        b.cleanup(ctx)
    for i in images:
        i.cleanup(ctx)
    after = ctx.vma.statistics()
    assert after.allocations == before.allocations
    assert after.allocation_bytes == before.allocation_bytes


class OwnerError(RuntimeError):
    pass


def test_a_failure_after_the_vma_create_call_destroys_what_it_made(ctx, monkeypatch):
    """vma.create_resource, behind VkBuffer and VkImage: if building the owner fails once the
    handle and its memory exist, both are destroyed (no live allocation, no validation
    message at vkDestroyDevice)."""
    before = ctx.vma.statistics().allocations

    def failing_init(self, *args) -> None:
        raise OwnerError("building the owner failed")

    for cls, make in (
        (VkBuffer, lambda: VkBuffer.create(ctx, 4096, vk.VK_BUFFER_USAGE_VERTEX_BUFFER_BIT)),
        (
            VkImage,
            lambda: VkImage.create(
                ctx, VkImageData(32, 32, vk.VK_IMAGE_USAGE_SAMPLED_BIT), name="doomed image"
            ),
        ),
    ):
        with monkeypatch.context() as patch:
            patch.setattr(cls, "__init__", failing_init)
            with pytest.raises(OwnerError):
                make()
        assert ctx.vma.statistics().allocations == before, cls.__name__


def test_leaked_buffer_is_reported_when_the_allocator_is_destroyed(constants):
    ctx = VkCtx.create(constants)
    leaked = VkBuffer.create(ctx, 256, vk.VK_BUFFER_USAGE_VERTEX_BUFFER_BIT)
    with pytest.raises(VmaError, match="1 live allocation"):
        ctx.vma.cleanup()
    leaked.cleanup(ctx)
    finish_ctx(ctx)


def test_debug_messenger_catches_a_validation_error(constants):
    ctx = VkCtx.create(constants)
    bad = vk.VkBufferCreateInfo(
        sType=vk.VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO,
        size=0,  # invalid: VUID-VkBufferCreateInfo-size-00912
        usage=vk.VK_BUFFER_USAGE_VERTEX_BUFFER_BIT,
        sharingMode=vk.VK_SHARING_MODE_EXCLUSIVE,
    )
    try:
        buffer = vk.vkCreateBuffer(ctx.device.device, bad, None)
        vk.vkDestroyBuffer(ctx.device.device, buffer, None)
    except vk.VkError:
        pass
    messages = ctx.validation_messages
    assert any("VUID-VkBufferCreateInfo-size-00912" in m for m in messages), messages
    messages.clear()
    finish_ctx(ctx)


def test_unknown_gpu_name_warns_and_uses_the_best_device(constants, caplog):
    caplog.set_level(logging.WARNING, logger="eng.vk")
    ctx = VkCtx.create(constants.with_overrides(gpu="No Such GPU 9000"))
    assert ctx.phys.name
    assert any("No Such GPU 9000" in r.getMessage() for r in caplog.records)
    finish_ctx(ctx)


def test_gpu_name_matches_a_case_insensitive_substring(constants):
    ctx = VkCtx.create(constants.with_overrides(gpu="LLVMPIPE"))
    assert "llvmpipe" in ctx.phys.name.lower()
    finish_ctx(ctx)


def test_an_extras_device_extension_is_enabled_only_where_the_device_has_it(constants):
    """lavapipe has VK_EXT_calibrated_timestamps (the trace's); no device has the made-up one,
    and asking for it is no error."""
    wanted = ("VK_EXT_calibrated_timestamps", "VK_ZVK_no_such_extension")
    ctx = VkCtx.create(constants, device_extensions=wanted)
    assert ctx.device.enabled == {"VK_EXT_calibrated_timestamps"}
    finish_ctx(ctx)
    ctx = VkCtx.create(constants)
    assert ctx.device.enabled == frozenset()  # headless and no extra: the book's device
    finish_ctx(ctx)


def test_heap_budgets_count_what_vma_allocated(ctx):
    heaps = ctx.phys.mem_props.memoryHeapCount
    before = sum(usage for usage, _ in ctx.vma.heap_budgets(heaps))
    buffer = VkBuffer.create(ctx, 8 << 20, vk.VK_BUFFER_USAGE_VERTEX_BUFFER_BIT)
    budgets = ctx.vma.heap_budgets(heaps)
    assert sum(usage for usage, _ in budgets) >= before + (8 << 20)
    assert all(budget > 0 for _, budget in budgets)
    buffer.cleanup(ctx)


def test_gpu_index_chooses_by_the_order_of_list_gpus(constants):
    instance = VkInstance.create(False, [])
    try:
        first = list_devices(instance)[0].split(": ", 1)[1]
        assert first.startswith(VkPhysDevice.create(instance, 0).name)
        with pytest.raises(VulkanError, match="no GPU of index 99.*--list-gpus"):
            VkPhysDevice.create(instance, 99)
    finally:
        instance.cleanup()
