"""Book ch.4 (vkImageView.zig): image views."""

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import vulkan as vk

from eng.com.interrupts import teardown
from eng.vk.errors import cleanup_on_error

if TYPE_CHECKING:
    from eng.vk.dev import VkDevice


@dataclass(frozen=True, slots=True)
class VkImageViewData:
    format: int
    aspect_mask: int = vk.VK_IMAGE_ASPECT_COLOR_BIT
    base_array_layer: int = 0
    base_mip_level: int = 0
    layer_count: int = 1
    level_count: int = 1
    view_type: int = vk.VK_IMAGE_VIEW_TYPE_2D


class VkImageView:
    def __init__(self, image: Any) -> None:
        self.view: Any = None  # the VkImageView handle, from create
        self.image = image

    @classmethod
    def create(
        cls, device: "VkDevice", image: Any, data: VkImageViewData, name: str = ""
    ) -> "VkImageView":
        info = vk.VkImageViewCreateInfo(
            sType=vk.VK_STRUCTURE_TYPE_IMAGE_VIEW_CREATE_INFO,
            image=image,
            viewType=data.view_type,
            format=data.format,
            subresourceRange=vk.VkImageSubresourceRange(
                aspectMask=data.aspect_mask,
                baseMipLevel=data.base_mip_level,
                levelCount=data.level_count,
                baseArrayLayer=data.base_array_layer,
                layerCount=data.layer_count,
            ),
        )
        with cleanup_on_error(cls(image), device) as view:
            view.view = vk.vkCreateImageView(device.device, info, None)
            device.set_name(vk.VK_OBJECT_TYPE_IMAGE_VIEW, view.view, name)
            return view

    @teardown
    def cleanup(self, device: "VkDevice") -> None:
        view, self.view = self.view, None
        if view is not None:
            vk.vkDestroyImageView(device.device, view, None)
