"""Query pools (not in the book): for the GPU timer (eng/extras/profile.py) and the rasterizer
hand-offs (eng/extras/handoff.py)."""

from typing import TYPE_CHECKING, Any

import vulkan as vk

from eng.com.interrupts import interrupts_deferred
from eng.vk.errors import vk_errors

if TYPE_CHECKING:
    from eng.vk.ctx import VkCtx


def create_query_pool(
    ctx: "VkCtx", query_type: int, count: int, name: str, statistics: int = 0
) -> Any:
    """A named VkQueryPool of `count` queries of `query_type` (`statistics`: the
    VkQueryPipelineStatisticFlags of a PIPELINE_STATISTICS pool); the caller destroys it with
    vkDestroyQueryPool. A failure is a VulkanError naming the call, and leaves no pool."""
    info = vk.VkQueryPoolCreateInfo(
        sType=vk.VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO,
        queryType=query_type,
        queryCount=count,
        pipelineStatistics=statistics,
    )
    with vk_errors(f"creating query pool '{name}'"):
        pool = vk.vkCreateQueryPool(ctx.device.device, info, None)
        try:
            ctx.device.set_name(vk.VK_OBJECT_TYPE_QUERY_POOL, pool, name)
        except BaseException:  # not handed over yet: destroyed here
            with interrupts_deferred():
                vk.vkDestroyQueryPool(ctx.device.device, pool, None)
            raise
        return pool
