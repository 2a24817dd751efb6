"""Book ch.3 (vkSync.zig): fences and semaphores."""

from typing import TYPE_CHECKING, Any

import vulkan as vk

from eng.com.interrupts import teardown
from eng.vk.errors import check, cleanup_on_error

if TYPE_CHECKING:
    from eng.vk.ctx import VkCtx

NO_TIMEOUT = 0xFFFFFFFFFFFFFFFF


class VkFence:
    def __init__(self) -> None:
        self.fence: Any = None  # the VkFence handle, from create
        self.fence_ptr = vk.ffi.new("VkFence[1]")  # for the per-frame lib calls

    @classmethod
    def create(cls, ctx: "VkCtx", signaled: bool = True, name: str = "") -> "VkFence":
        info = vk.VkFenceCreateInfo(
            sType=vk.VK_STRUCTURE_TYPE_FENCE_CREATE_INFO,
            flags=vk.VK_FENCE_CREATE_SIGNALED_BIT if signaled else 0,
        )
        with cleanup_on_error(cls(), ctx) as fence:
            fence.fence_ptr[0] = fence.fence = vk.vkCreateFence(ctx.device.device, info, None)
            ctx.device.set_name(vk.VK_OBJECT_TYPE_FENCE, fence.fence, name)
            return fence

    def wait(self, ctx: "VkCtx") -> None:
        check(
            vk.lib.vkWaitForFences(ctx.device.device, 1, self.fence_ptr, vk.VK_TRUE, NO_TIMEOUT),
            "vkWaitForFences",
        )

    def reset(self, ctx: "VkCtx") -> None:
        check(vk.lib.vkResetFences(ctx.device.device, 1, self.fence_ptr), "vkResetFences")

    @teardown
    def cleanup(self, ctx: "VkCtx") -> None:
        fence, self.fence = self.fence, None  # dropped first: never destroyed twice
        if fence is not None:
            vk.vkDestroyFence(ctx.device.device, fence, None)


class VkSemaphore:
    def __init__(self) -> None:
        self.semaphore: Any = None

    @classmethod
    def create(cls, ctx: "VkCtx", name: str = "") -> "VkSemaphore":
        info = vk.VkSemaphoreCreateInfo(sType=vk.VK_STRUCTURE_TYPE_SEMAPHORE_CREATE_INFO)
        with cleanup_on_error(cls(), ctx) as sem:
            sem.semaphore = vk.vkCreateSemaphore(ctx.device.device, info, None)
            ctx.device.set_name(vk.VK_OBJECT_TYPE_SEMAPHORE, sem.semaphore, name)
            return sem

    @teardown
    def cleanup(self, ctx: "VkCtx") -> None:
        semaphore, self.semaphore = self.semaphore, None
        if semaphore is not None:
            vk.vkDestroySemaphore(ctx.device.device, semaphore, None)
