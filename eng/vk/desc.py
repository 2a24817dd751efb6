"""Book ch.6/8 (vkDescs.zig): descriptor set layouts, descriptor sets and their allocator."""

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import vulkan as vk

from eng.com.interrupts import teardown
from eng.vk.errors import VulkanError, cleanup_on_error, vk_errors

if TYPE_CHECKING:
    from eng.vk.buf import VkBuffer
    from eng.vk.ctx import VkCtx
    from eng.vk.imv import VkImageView
    from eng.vk.texture import VkTextSampler

# Descriptors of each type that one pool holds; the allocator adds pools as they fill up.
_POOL_SIZES = {
    vk.VK_DESCRIPTOR_TYPE_UNIFORM_BUFFER: 64,
    vk.VK_DESCRIPTOR_TYPE_STORAGE_BUFFER: 64,
    vk.VK_DESCRIPTOR_TYPE_COMBINED_IMAGE_SAMPLER: 1024,
}
_POOL_MAX_SETS = 128


class VkDescSetLayout:
    """A layout with one binding of `count` descriptors of `desc_type`."""

    def __init__(self, binding: int, desc_type: int, count: int, stage: int) -> None:
        self.layout = None
        self.binding = binding
        self.desc_type = desc_type
        self.count = count
        self.stage = stage

    @classmethod
    def create(
        cls, ctx: "VkCtx", binding: int, desc_type: int, stage: int, count: int = 1, name: str = ""
    ) -> "VkDescSetLayout":
        layout_binding = vk.VkDescriptorSetLayoutBinding(
            binding=binding, descriptorType=desc_type, descriptorCount=count, stageFlags=stage
        )
        info = vk.VkDescriptorSetLayoutCreateInfo(
            sType=vk.VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO,
            bindingCount=1,
            pBindings=[layout_binding],
        )
        with cleanup_on_error(cls(binding, desc_type, count, stage), ctx) as layout:
            layout.layout = vk.vkCreateDescriptorSetLayout(ctx.device.device, info, None)
            ctx.device.set_name(vk.VK_OBJECT_TYPE_DESCRIPTOR_SET_LAYOUT, layout.layout, name)
            return layout

    @teardown
    def cleanup(self, ctx: "VkCtx") -> None:
        layout, self.layout = self.layout, None  # dropped first: destroyed once
        if layout is not None:
            vk.vkDestroyDescriptorSetLayout(ctx.device.device, layout, None)


class VkDescSet:
    def __init__(self, desc_set: Any) -> None:
        self.desc_set = desc_set

    def set_buffer(self, ctx: "VkCtx", buffer: "VkBuffer", binding: int, desc_type: int) -> None:
        """Points `binding` at the whole of `buffer`."""
        buffer_info = vk.VkDescriptorBufferInfo(buffer=buffer.buffer, offset=0, range=buffer.size)
        write = vk.VkWriteDescriptorSet(
            sType=vk.VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET,
            dstSet=self.desc_set,
            dstBinding=binding,
            descriptorCount=1,
            descriptorType=desc_type,
            pBufferInfo=[buffer_info],
        )
        vk.vkUpdateDescriptorSets(ctx.device.device, 1, [write], 0, None)

    def set_image_arr(
        self,
        ctx: "VkCtx",
        image_views: "Iterable[VkImageView]",
        sampler: "VkTextSampler",
        binding: int,
    ) -> None:
        """Fills an array of combined image samplers, one per view, all with `sampler`."""
        infos = [
            vk.VkDescriptorImageInfo(
                sampler=sampler.sampler,
                imageView=view.view,
                imageLayout=vk.VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL,
            )
            for view in image_views
        ]
        write = vk.VkWriteDescriptorSet(
            sType=vk.VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET,
            dstSet=self.desc_set,
            dstBinding=binding,
            dstArrayElement=0,
            descriptorCount=len(infos),
            descriptorType=vk.VK_DESCRIPTOR_TYPE_COMBINED_IMAGE_SAMPLER,
            pImageInfo=infos,
        )
        vk.vkUpdateDescriptorSets(ctx.device.device, 1, [write], 0, None)


class _Pool:
    def __init__(self) -> None:
        self.pool = None
        self.left = dict(_POOL_SIZES)
        self.sets_left = _POOL_MAX_SETS

    def create(self, ctx: "VkCtx", name: str) -> None:
        """Makes the VkDescriptorPool; the allocator lists the pool before, so that its
        cleanup destroys what this made, whatever happens."""
        sizes = [vk.VkDescriptorPoolSize(type=t, descriptorCount=n) for t, n in _POOL_SIZES.items()]
        info = vk.VkDescriptorPoolCreateInfo(
            sType=vk.VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO,
            maxSets=_POOL_MAX_SETS,
            poolSizeCount=len(sizes),
            pPoolSizes=sizes,
        )
        self.pool = vk.vkCreateDescriptorPool(ctx.device.device, info, None)
        ctx.device.set_name(vk.VK_OBJECT_TYPE_DESCRIPTOR_POOL, self.pool, name)

    def fits(self, layout: VkDescSetLayout) -> bool:
        return (
            self.pool is not None
            and self.sets_left > 0
            and (self.left[layout.desc_type] >= layout.count)
        )


class VkDescAllocator:
    """Hands out descriptor sets by id from pools it creates as needed."""

    def __init__(self) -> None:
        self.pools: list[_Pool] = []
        self.desc_sets: dict[str, VkDescSet] = {}

    def add_desc_set(self, ctx: "VkCtx", set_id: str, layout: VkDescSetLayout) -> VkDescSet:
        if set_id in self.desc_sets:
            raise VulkanError(f"duplicate descriptor set id '{set_id}'")
        if layout.count > _POOL_SIZES[layout.desc_type]:
            raise VulkanError(f"descriptor set '{set_id}' needs more descriptors than a pool holds")
        with vk_errors(f"allocating descriptor set '{set_id}'"):  # the pools free the sets
            pool = next((p for p in self.pools if p.fits(layout)), None)
            if pool is None:
                pool = _Pool()
                self.pools.append(pool)
                pool.create(ctx, f"descriptor pool {len(self.pools) - 1}")
            info = vk.VkDescriptorSetAllocateInfo(
                sType=vk.VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO,
                descriptorPool=pool.pool,
                descriptorSetCount=1,
                pSetLayouts=[layout.layout],
            )
            desc_set = VkDescSet(vk.vkAllocateDescriptorSets(ctx.device.device, info)[0])
            pool.left[layout.desc_type] -= layout.count
            pool.sets_left -= 1
            ctx.device.set_name(vk.VK_OBJECT_TYPE_DESCRIPTOR_SET, desc_set.desc_set, set_id)
        self.desc_sets[set_id] = desc_set
        return desc_set

    def get_desc_set(self, set_id: str) -> VkDescSet:
        return self.desc_sets[set_id]

    @teardown
    def cleanup(self, ctx: "VkCtx") -> None:
        """Destroys the pools, and with them every set allocated from them."""
        pools, self.pools = self.pools, []  # dropped first: destroyed once
        self.desc_sets.clear()
        for pool in pools:
            if pool.pool is not None:
                vk.vkDestroyDescriptorPool(ctx.device.device, pool.pool, None)
