"""Book ch.3 (vkQueue.zig): a device queue and synchronization2 submits."""

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import vulkan as vk

from eng.vk.errors import check

if TYPE_CHECKING:
    from eng.vk.ctx import VkCtx


class VkQueue:
    def __init__(self, queue: Any, family: int) -> None:
        self.queue = queue
        self.family = family

    @classmethod
    def create(cls, ctx: "VkCtx", family: int) -> "VkQueue":
        return cls(vk.vkGetDeviceQueue(ctx.device.device, family, 0), family)

    def submit(
        self,
        cmd_buffs: Sequence[Any],
        wait_sems: Sequence[tuple[Any, int]] = (),
        signal_sems: Sequence[tuple[Any, int]] = (),
        fence: Any = None,
    ) -> None:
        """vkQueueSubmit2: `wait_sems`/`signal_sems` are (semaphore, stage mask) pairs."""
        prebuilt = self.prebuild_submit(cmd_buffs, wait_sems, signal_sems)
        self.submit_prebuilt(prebuilt, fence or vk.ffi.NULL)

    def prebuild_submit(
        self,
        cmd_buffs: Sequence[Any],
        wait_sems: Sequence[tuple[Any, int]] = (),
        signal_sems: Sequence[tuple[Any, int]] = (),
    ) -> tuple[Any, tuple[Any, ...]]:
        """A VkSubmitInfo2 built once with cffi, for `submit_prebuilt` every frame."""
        ffi = vk.ffi
        cmd_infos = ffi.new(
            "VkCommandBufferSubmitInfo[]",
            [
                {"sType": vk.VK_STRUCTURE_TYPE_COMMAND_BUFFER_SUBMIT_INFO, "commandBuffer": c}
                for c in cmd_buffs
            ],
        )

        def sem_infos(pairs: Sequence[tuple[Any, int]]) -> Any:
            return (
                ffi.new(
                    "VkSemaphoreSubmitInfo[]",
                    [
                        {
                            "sType": vk.VK_STRUCTURE_TYPE_SEMAPHORE_SUBMIT_INFO,
                            "semaphore": s,
                            "stageMask": stage,
                        }
                        for s, stage in pairs
                    ],
                )
                if pairs
                else ffi.NULL
            )

        waits, signals = sem_infos(wait_sems), sem_infos(signal_sems)
        submit = ffi.new(
            "VkSubmitInfo2*",
            {
                "sType": vk.VK_STRUCTURE_TYPE_SUBMIT_INFO_2,
                "waitSemaphoreInfoCount": len(wait_sems),
                "pWaitSemaphoreInfos": waits,
                "commandBufferInfoCount": len(cmd_buffs),
                "pCommandBufferInfos": cmd_infos,
                "signalSemaphoreInfoCount": len(signal_sems),
                "pSignalSemaphoreInfos": signals,
            },
        )
        return submit, (cmd_infos, waits, signals)  # the tuple keeps the arrays alive

    def submit_prebuilt(self, prebuilt: tuple[Any, tuple[Any, ...]], fence: Any) -> None:
        check(vk.lib.vkQueueSubmit2(self.queue, 1, prebuilt[0], fence), "vkQueueSubmit2")
