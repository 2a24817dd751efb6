"""Book ch.3 (vkQueue.zig): a device queue and synchronization2 submits."""

import vulkan as vk


class VkQueue:
    def __init__(self, queue, family: int) -> None:
        self.queue = queue
        self.family = family

    @classmethod
    def create(cls, ctx, family: int) -> "VkQueue":
        return cls(vk.vkGetDeviceQueue(ctx.device.device, family, 0), family)

    def submit(self, cmd_buffs, wait_sems=(), signal_sems=(), fence=None) -> None:
        """vkQueueSubmit2: `wait_sems`/`signal_sems` are (semaphore, stage mask) pairs."""
        cmd_infos = [
            vk.VkCommandBufferSubmitInfo(
                sType=vk.VK_STRUCTURE_TYPE_COMMAND_BUFFER_SUBMIT_INFO, commandBuffer=c
            )
            for c in cmd_buffs
        ]
        waits = [_sem_info(s, stage) for s, stage in wait_sems]
        signals = [_sem_info(s, stage) for s, stage in signal_sems]
        submit = vk.VkSubmitInfo2(
            sType=vk.VK_STRUCTURE_TYPE_SUBMIT_INFO_2,
            waitSemaphoreInfoCount=len(waits),
            pWaitSemaphoreInfos=waits or None,
            commandBufferInfoCount=len(cmd_infos),
            pCommandBufferInfos=cmd_infos,
            signalSemaphoreInfoCount=len(signals),
            pSignalSemaphoreInfos=signals or None,
        )
        vk.vkQueueSubmit2(self.queue, 1, [submit], fence or vk.VK_NULL_HANDLE)

    def wait_idle(self) -> None:
        vk.vkQueueWaitIdle(self.queue)


def _sem_info(semaphore, stage: int):
    return vk.VkSemaphoreSubmitInfo(
        sType=vk.VK_STRUCTURE_TYPE_SEMAPHORE_SUBMIT_INFO, semaphore=semaphore, stageMask=stage
    )
