"""Book ch.3 (vkCmd.zig): command pools and command buffers."""

from typing import TYPE_CHECKING, Any

import vulkan as vk

from eng.com.interrupts import teardown
from eng.vk.errors import check, cleanup_on_error, vk_errors
from eng.vk.sync import VkFence

if TYPE_CHECKING:
    from eng.vk.ctx import VkCtx
    from eng.vk.queue import VkQueue


class VkCmdPool:
    def __init__(self) -> None:
        self.pool: Any = None  # the VkCommandPool handle, from create

    @classmethod
    def create(
        cls, ctx: "VkCtx", family: int, reset_buffers: bool = False, name: str = ""
    ) -> "VkCmdPool":
        info = vk.VkCommandPoolCreateInfo(
            sType=vk.VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
            flags=vk.VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT if reset_buffers else 0,
            queueFamilyIndex=family,
        )
        with cleanup_on_error(cls(), ctx) as pool:
            pool.pool = vk.vkCreateCommandPool(ctx.device.device, info, None)
            ctx.device.set_name(vk.VK_OBJECT_TYPE_COMMAND_POOL, pool.pool, name)
            return pool

    def reset(self, ctx: "VkCtx") -> None:
        check(vk.lib.vkResetCommandPool(ctx.device.device, self.pool, 0), "vkResetCommandPool")

    @teardown
    def cleanup(self, ctx: "VkCtx") -> None:
        """Also frees the pool's command buffers."""
        pool, self.pool = self.pool, None
        if pool is not None:
            vk.vkDestroyCommandPool(ctx.device.device, pool, None)


class VkCmdBuff:
    def __init__(self, cmd: Any, one_time: bool) -> None:
        self.cmd = cmd  # freed with its pool
        self.one_time = one_time
        self._begin_info = vk.ffi.new(
            "VkCommandBufferBeginInfo*",
            {
                "sType": vk.VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO,
                "flags": vk.VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT if one_time else 0,
            },
        )

    @classmethod
    def create(cls, ctx: "VkCtx", pool: VkCmdPool, one_time: bool, name: str = "") -> "VkCmdBuff":
        info = vk.VkCommandBufferAllocateInfo(
            sType=vk.VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
            commandPool=pool.pool,
            level=vk.VK_COMMAND_BUFFER_LEVEL_PRIMARY,
            commandBufferCount=1,
        )
        with vk_errors(f"allocating command buffer '{name}'"):  # freed with its pool
            cmd = vk.vkAllocateCommandBuffers(ctx.device.device, info)[0]
            ctx.device.set_name(vk.VK_OBJECT_TYPE_COMMAND_BUFFER, cmd, name)
            return cls(cmd, one_time)

    def begin(self) -> None:
        check(vk.lib.vkBeginCommandBuffer(self.cmd, self._begin_info), "vkBeginCommandBuffer")

    def end(self) -> None:
        check(vk.lib.vkEndCommandBuffer(self.cmd), "vkEndCommandBuffer")

    def submit_and_wait(self, ctx: "VkCtx", queue: "VkQueue") -> None:
        fence = None
        try:
            fence = VkFence.create(ctx, signaled=False, name="submit and wait")
            queue.submit([self.cmd], fence=fence.fence)
            fence.wait(ctx)
        finally:
            if fence is not None:
                try:
                    ctx.device.wait()  # interrupted: the work may still be running
                finally:
                    fence.cleanup(ctx)

    @teardown
    def cleanup(self, ctx: "VkCtx", pool: VkCmdPool) -> None:
        vk.vkFreeCommandBuffers(ctx.device.device, pool.pool, 1, [self.cmd])
