"""Book ch.10 (vkImage.zig): images allocated through VMA."""

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import vulkan as vk

from eng.com.interrupts import teardown
from eng.vk import vma
from eng.vk.imv import VkImageView, VkImageViewData
from eng.vk.vma import VmaFlags, VmaUsage, ffi

if TYPE_CHECKING:
    from eng.vk.ctx import VkCtx


@dataclass(frozen=True, slots=True)
class VkImageData:
    """What an image is made of (book: VkImageData, with the same defaults)."""

    width: int
    height: int
    usage: int
    format: int = vk.VK_FORMAT_R8G8B8A8_SRGB
    array_layers: int = 1
    mip_levels: int = 1
    sample_count: int = vk.VK_SAMPLE_COUNT_1_BIT
    tiling: int = vk.VK_IMAGE_TILING_OPTIMAL
    vma_flags: int = VmaFlags.DEDICATED_MEMORY
    """The book gives every image its own VkDeviceMemory; pass VmaFlags.NONE to let VMA pool."""


class VkImage:
    def __init__(self, image: Any, allocation: Any, data: VkImageData) -> None:
        self.image = image  # the `vulkan` package's VkImage handle
        self.allocation = allocation
        self.data = data
        self.width = data.width
        self.height = data.height

    @classmethod
    def create(cls, ctx: "VkCtx", data: VkImageData, name: str = "") -> "VkImage":
        create_info = ffi.new(
            "VkImageCreateInfo*",
            {
                "sType": vk.VK_STRUCTURE_TYPE_IMAGE_CREATE_INFO,
                "imageType": vk.VK_IMAGE_TYPE_2D,
                "format": data.format,
                "extent": {"width": data.width, "height": data.height, "depth": 1},
                "mipLevels": data.mip_levels,
                "arrayLayers": data.array_layers,
                "samples": data.sample_count,
                "tiling": data.tiling,
                "usage": data.usage,
                "sharingMode": vk.VK_SHARING_MODE_EXCLUSIVE,
                "initialLayout": vk.VK_IMAGE_LAYOUT_UNDEFINED,
            },
        )
        return vma.create_resource(
            ctx,
            vma.IMAGE,
            create_info,
            {"usage": VmaUsage.AUTO, "flags": data.vma_flags, "priority": 1.0},
            name,
            f"{data.width}x{data.height}",
            lambda image, allocation, _mapped: cls(image, allocation, data),
        )

    @teardown
    def cleanup(self, ctx: "VkCtx") -> None:
        image, allocation, self.image, self.allocation = self.image, self.allocation, None, None
        if allocation is not None:  # dropped first: a second cleanup destroys nothing
            vma.cleanup_resource(ctx, vma.IMAGE, image, allocation)


class VkImageWithView:
    """A VMA image and a view of all its mip levels: what an Attachment (render.zig) and a
    VkTexture (vkTexture.zig) both are. Subclasses create inside `cleanup_on_error`."""

    def __init__(self) -> None:
        self.image: VkImage | None = None
        self.view: VkImageView | None = None

    def create_image_and_view(
        self, ctx: "VkCtx", data: VkImageData, aspect: int, name: str
    ) -> None:
        """Each handle is stored the moment it is made, so `cleanup` reaches it."""
        self.image = VkImage.create(ctx, data, name)
        view_data = VkImageViewData(data.format, aspect_mask=aspect, level_count=data.mip_levels)
        self.view = VkImageView.create(ctx.device, self.image.image, view_data, name)

    @teardown
    def cleanup(self, ctx: "VkCtx") -> None:
        if self.view is not None:
            self.view.cleanup(ctx.device)
        if self.image is not None:
            self.image.cleanup(ctx)
