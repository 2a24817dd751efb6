"""Book ch.3 (vkSync.zig): fences and semaphores."""

import vulkan as vk

from eng.vk.util import check

NO_TIMEOUT = 0xFFFFFFFFFFFFFFFF


class VkFence:
    def __init__(self, fence) -> None:
        self.fence = fence
        self.fence_ptr = vk.ffi.new("VkFence[1]", [fence])  # for the per-frame lib calls

    @classmethod
    def create(cls, ctx, signaled: bool = True, name: str = "") -> "VkFence":
        info = vk.VkFenceCreateInfo(
            sType=vk.VK_STRUCTURE_TYPE_FENCE_CREATE_INFO,
            flags=vk.VK_FENCE_CREATE_SIGNALED_BIT if signaled else 0,
        )
        fence = vk.vkCreateFence(ctx.device.device, info, None)
        ctx.device.set_name(vk.VK_OBJECT_TYPE_FENCE, fence, name)
        return cls(fence)

    def wait(self, ctx) -> None:
        check(
            vk.lib.vkWaitForFences(ctx.device.device, 1, self.fence_ptr, vk.VK_TRUE, NO_TIMEOUT),
            "vkWaitForFences",
        )

    def reset(self, ctx) -> None:
        check(vk.lib.vkResetFences(ctx.device.device, 1, self.fence_ptr), "vkResetFences")

    def cleanup(self, ctx) -> None:
        vk.vkDestroyFence(ctx.device.device, self.fence, None)


class VkSemaphore:
    def __init__(self, semaphore) -> None:
        self.semaphore = semaphore

    @classmethod
    def create(cls, ctx, name: str = "") -> "VkSemaphore":
        info = vk.VkSemaphoreCreateInfo(sType=vk.VK_STRUCTURE_TYPE_SEMAPHORE_CREATE_INFO)
        sem = vk.vkCreateSemaphore(ctx.device.device, info, None)
        ctx.device.set_name(vk.VK_OBJECT_TYPE_SEMAPHORE, sem, name)
        return cls(sem)

    def cleanup(self, ctx) -> None:
        vk.vkDestroySemaphore(ctx.device.device, self.semaphore, None)
