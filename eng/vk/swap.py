"""Book ch.4 (vkSwapChain.zig): the swapchain, its image views, acquire and present."""

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import vulkan as vk

from eng.com.interrupts import teardown
from eng.vk.errors import VulkanError, cleanup_on_error, raise_for, vk_errors
from eng.vk.imv import VkImageView, VkImageViewData
from eng.vk.sync import NO_TIMEOUT

if TYPE_CHECKING:
    from eng.vk.ctx import VkCtx
    from eng.vk.queue import VkQueue
    from eng.wnd import Wnd

log = logging.getLogger("eng.vk")

_PREFERRED_FORMATS = (vk.VK_FORMAT_B8G8R8A8_SRGB, vk.VK_FORMAT_R8G8B8A8_SRGB)


@dataclass(frozen=True, slots=True)
class Extent:
    width: int
    height: int


SIZE_FROM_SWAPCHAIN = 0xFFFFFFFF
"""currentExtent's value when the surface takes its size from the swapchain (Wayland)."""


def choose_extent(
    caps: Any, window: "Wnd", max_size: tuple[int, int] | None = None
) -> tuple[int, int]:
    """The swapchain size: the surface's currentExtent, or else the window's size in pixels
    (not its logical size, which is smaller on HiDPI) clamped to the surface's limits and to
    `max_size`, what the device can render (the window is kept within it beforehand)."""
    if caps.currentExtent.width != SIZE_FROM_SWAPCHAIN:
        return caps.currentExtent.width, caps.currentExtent.height
    width, height = window.pixel_size()
    if max_size is not None:
        width, height = min(width, max_size[0]), min(height, max_size[1])
    width = min(max(width, caps.minImageExtent.width), caps.maxImageExtent.width)
    height = min(max(height, caps.minImageExtent.height), caps.maxImageExtent.height)
    return width, height


class VkSwapChain:
    def __init__(self) -> None:
        self.swap_chain: Any = None  # the VkSwapchainKHR handle, from create
        self.image_views: list[VkImageView] = []
        self.images: list[Any] = []
        self.extent = Extent(0, 0)
        self.format = vk.VK_FORMAT_UNDEFINED
        self.vsync = True
        self._acquire: Any = None  # cffi function pointers, from create
        self._present: Any = None
        self._index = vk.ffi.new("uint32_t*")

    @classmethod
    @vk_errors("creating the swapchain")  # the surface queries, before cleanup_on_error
    def create(
        cls, ctx: "VkCtx", window: "Wnd", requested_images: int, vsync: bool
    ) -> "VkSwapChain":
        sc = cls()
        assert ctx.surface is not None, "a swapchain needs the window's surface"
        pdev, surface = ctx.phys.pdev, ctx.surface.surface
        inst = ctx.instance
        caps = inst.proc("vkGetPhysicalDeviceSurfaceCapabilitiesKHR")(pdev, surface)
        formats = inst.proc("vkGetPhysicalDeviceSurfaceFormatsKHR")(pdev, surface)
        modes = list(inst.proc("vkGetPhysicalDeviceSurfacePresentModesKHR")(pdev, surface))
        chosen = next(
            (
                f
                for want in _PREFERRED_FORMATS
                for f in formats
                if f.format == want and f.colorSpace == vk.VK_COLOR_SPACE_SRGB_NONLINEAR_KHR
            ),
            formats[0],
        )
        sc.format = chosen.format
        if vsync:
            mode = vk.VK_PRESENT_MODE_FIFO_KHR
        else:
            mode = next(
                (
                    m
                    for m in (vk.VK_PRESENT_MODE_MAILBOX_KHR, vk.VK_PRESENT_MODE_IMMEDIATE_KHR)
                    if m in modes
                ),
                vk.VK_PRESENT_MODE_FIFO_KHR,
            )
        count = max(requested_images, caps.minImageCount)
        if caps.maxImageCount:
            count = min(count, caps.maxImageCount)
        width, height = choose_extent(caps, window, ctx.phys.max_target_size)
        if width == 0 or height == 0:
            raise VulkanError("cannot create a swapchain for a window of size 0")
        sc.extent = Extent(width, height)
        sc.vsync = vsync
        families = sorted(
            {ctx.phys.queues_info.graphics_family, ctx.phys.queues_info.present_family}
        )
        concurrent = len(families) > 1
        info = vk.VkSwapchainCreateInfoKHR(
            sType=vk.VK_STRUCTURE_TYPE_SWAPCHAIN_CREATE_INFO_KHR,
            surface=surface,
            minImageCount=count,
            imageFormat=chosen.format,
            imageColorSpace=chosen.colorSpace,
            imageExtent=vk.VkExtent2D(width=width, height=height),
            imageArrayLayers=1,
            imageUsage=vk.VK_IMAGE_USAGE_COLOR_ATTACHMENT_BIT | vk.VK_IMAGE_USAGE_TRANSFER_SRC_BIT,
            imageSharingMode=(
                vk.VK_SHARING_MODE_CONCURRENT if concurrent else vk.VK_SHARING_MODE_EXCLUSIVE
            ),
            queueFamilyIndexCount=len(families) if concurrent else 0,
            pQueueFamilyIndices=families if concurrent else None,
            preTransform=caps.currentTransform,
            compositeAlpha=vk.VK_COMPOSITE_ALPHA_OPAQUE_BIT_KHR,
            presentMode=mode,
            clipped=vk.VK_TRUE,
        )
        dev = ctx.device
        with cleanup_on_error(sc, ctx):
            sc.swap_chain = dev.proc("vkCreateSwapchainKHR")(dev.device, info, None)
            name = f"swapchain {width}x{height}"
            dev.set_name(vk.VK_OBJECT_TYPE_SWAPCHAIN_KHR, sc.swap_chain, name)
            sc.images = list(dev.proc("vkGetSwapchainImagesKHR")(dev.device, sc.swap_chain))
            for i, image in enumerate(sc.images):
                dev.set_name(vk.VK_OBJECT_TYPE_IMAGE, image, f"swapchain image {i}")
                sc.image_views.append(  # one by one: cleanup() sees each view made
                    VkImageView.create(
                        dev, image, VkImageViewData(format=sc.format), f"swapchain {i}"
                    )
                )
            sc._acquire = dev.raw_proc("vkAcquireNextImageKHR")
            sc._present = dev.raw_proc("vkQueuePresentKHR")
            log.debug("swapchain %dx%d, %d images, mode %d", width, height, len(sc.images), mode)
            return sc

    def acquire(self, ctx: "VkCtx", semaphore: Any) -> int | None:
        """The next image's index, or None when the swapchain must be recreated."""
        result = self._acquire(
            ctx.device.device,
            self.swap_chain,
            NO_TIMEOUT,
            semaphore,
            vk.ffi.NULL,
            self._index,
        )
        if result == vk.VK_ERROR_OUT_OF_DATE_KHR:
            return None
        if result not in (vk.VK_SUCCESS, vk.VK_SUBOPTIMAL_KHR):
            raise_for(result, "vkAcquireNextImageKHR")
        return self._index[0]

    @property
    def image_index(self) -> int:
        """The index of the image acquired last (for an extra that labels frames)."""
        return int(self._index[0])

    def present(self, queue: "VkQueue", semaphore: Any, index: int) -> bool:
        """Presents image `index`; False when the swapchain is out of date or suboptimal."""
        sems = vk.ffi.new("VkSemaphore[1]", [semaphore])
        chains = vk.ffi.new("VkSwapchainKHR[1]", [self.swap_chain])
        indices = vk.ffi.new("uint32_t[1]", [index])
        info = vk.ffi.new(
            "VkPresentInfoKHR*",
            {
                "sType": vk.VK_STRUCTURE_TYPE_PRESENT_INFO_KHR,
                "waitSemaphoreCount": 1,
                "pWaitSemaphores": sems,
                "swapchainCount": 1,
                "pSwapchains": chains,
                "pImageIndices": indices,
            },
        )
        result = self._present(queue.queue, info)
        if result in (vk.VK_ERROR_OUT_OF_DATE_KHR, vk.VK_SUBOPTIMAL_KHR):
            return False
        if result != vk.VK_SUCCESS:
            raise_for(result, "vkQueuePresentKHR")
        return True

    @teardown
    def cleanup(self, ctx: "VkCtx") -> None:
        views, self.image_views = self.image_views, []  # dropped first: destroyed once
        for view in views:
            view.cleanup(ctx.device)
        swap_chain, self.swap_chain = self.swap_chain, None
        if swap_chain is not None:
            ctx.device.proc("vkDestroySwapchainKHR")(ctx.device.device, swap_chain, None)
