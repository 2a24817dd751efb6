"""Book ch.8/9/10 (vkTexture.zig): textures with mipmaps, uploaded through a VMA staging buffer."""

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import vulkan as vk

from eng.com.interrupts import teardown
from eng.vk.buf import VkBuffer, staging_flags
from eng.vk.errors import cleanup_on_error
from eng.vk.image import VkImageData, VkImageWithView
from eng.vk.record import ImageBarrier, copy_region
from eng.vk.vma import VmaFlags, VmaMemoryFlags, VmaUsage

if TYPE_CHECKING:
    from eng.vk.ctx import VkCtx


@dataclass(frozen=True, slots=True)
class VkTextSamplerInfo:
    address_mode: int = vk.VK_SAMPLER_ADDRESS_MODE_REPEAT
    border_color: int = vk.VK_BORDER_COLOR_FLOAT_OPAQUE_BLACK
    anisotropy: bool = True
    filter: int = vk.VK_FILTER_NEAREST  # the book's choice (and its mipmap mode)


class VkTextSampler:
    def __init__(self) -> None:
        self.sampler: Any = None  # the VkSampler handle, from create

    @classmethod
    def create(cls, ctx: "VkCtx", info: VkTextSamplerInfo) -> "VkTextSampler":
        anisotropy = info.anisotropy and ctx.phys.anisotropy
        mip_mode = (
            vk.VK_SAMPLER_MIPMAP_MODE_LINEAR
            if info.filter == vk.VK_FILTER_LINEAR
            else vk.VK_SAMPLER_MIPMAP_MODE_NEAREST
        )
        create_info = vk.VkSamplerCreateInfo(
            sType=vk.VK_STRUCTURE_TYPE_SAMPLER_CREATE_INFO,
            magFilter=info.filter,
            minFilter=info.filter,
            mipmapMode=mip_mode,
            addressModeU=info.address_mode,
            addressModeV=info.address_mode,
            addressModeW=info.address_mode,
            borderColor=info.border_color,
            minLod=0.0,
            maxLod=vk.VK_LOD_CLAMP_NONE,
            anisotropyEnable=vk.VK_TRUE if anisotropy else vk.VK_FALSE,
            maxAnisotropy=ctx.phys.limits.maxSamplerAnisotropy if anisotropy else 1.0,
        )
        with cleanup_on_error(cls(), ctx) as sampler:
            sampler.sampler = vk.vkCreateSampler(ctx.device.device, create_info, None)
            ctx.device.set_name(vk.VK_OBJECT_TYPE_SAMPLER, sampler.sampler, "texture sampler")
            return sampler

    @teardown
    def cleanup(self, ctx: "VkCtx") -> None:
        sampler, self.sampler = self.sampler, None
        if sampler is not None:
            vk.vkDestroySampler(ctx.device.device, sampler, None)


def _barrier(
    cmd: Any,
    image: Any,
    old: int,
    new: int,
    src_stage: int,
    src_access: int,
    dst_stage: int,
    dst_access: int,
    mip: int,
    mips: int,
) -> None:
    """Records a layout transition of mip levels [mip, mip + mips) of a colour image."""
    ImageBarrier(
        image, old, new, src_stage, src_access, dst_stage, dst_access, base_mip=mip, mip_count=mips
    ).record(cmd)


_TRANSFER = vk.VK_PIPELINE_STAGE_2_ALL_TRANSFER_BIT
_FRAGMENT = vk.VK_PIPELINE_STAGE_2_FRAGMENT_SHADER_BIT
_WRITE = vk.VK_ACCESS_2_TRANSFER_WRITE_BIT
_READ = vk.VK_ACCESS_2_TRANSFER_READ_BIT
_SHADER_READ = vk.VK_ACCESS_2_SHADER_READ_BIT
_DST = vk.VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL
_SRC = vk.VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL
_SHADER = vk.VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL


class VkTexture(VkImageWithView):
    """An RGBA image with a full mip chain; the pixels wait in a staging buffer until recorded."""

    def __init__(self, width: int, height: int, mip_levels: int) -> None:
        super().__init__()
        self.staging: VkBuffer | None = None
        self.width = width
        self.height = height
        self.mip_levels = mip_levels
        self.transparent = False
        self.recorded = False

    @classmethod
    def create(
        cls,
        ctx: "VkCtx",
        pixels: np.ndarray,
        fmt: int = vk.VK_FORMAT_R8G8B8A8_SRGB,
        vma_flags: int = VmaFlags.DEDICATED_MEMORY,
        name: str = "",
    ) -> "VkTexture":
        """`pixels` is an (height, width, 4) uint8 array, top row first."""
        height, width = pixels.shape[:2]
        mip_levels = int(math.floor(math.log2(min(width, height)))) + 1
        usage = (
            vk.VK_IMAGE_USAGE_TRANSFER_DST_BIT
            | vk.VK_IMAGE_USAGE_TRANSFER_SRC_BIT
            | vk.VK_IMAGE_USAGE_SAMPLED_BIT
        )
        data = VkImageData(width, height, usage, fmt, mip_levels=mip_levels, vma_flags=vma_flags)
        with cleanup_on_error(cls(width, height, mip_levels), ctx) as texture:
            texture.create_image_and_view(ctx, data, vk.VK_IMAGE_ASPECT_COLOR_BIT, name)
            texture.staging = VkBuffer.create(
                ctx,
                pixels.nbytes,
                vk.VK_BUFFER_USAGE_TRANSFER_SRC_BIT,
                staging_flags(pixels.nbytes),
                VmaUsage.AUTO,
                VmaMemoryFlags.HOST_VISIBLE_AND_COHERENT,
                name=f"staging {name}",
            )
            texture.staging.write(ctx, np.ascontiguousarray(pixels))
            texture.transparent = bool((pixels[..., 3] < 255).any())
            return texture

    def record_transition(self, cmd: Any) -> None:
        """Records: layout to transfer-dst, copy from staging, mipmap blits, shader-read."""
        if self.recorded:
            return
        assert self.image is not None and self.staging is not None, "made by create"
        img = self.image.image
        _barrier(
            cmd,
            img,
            vk.VK_IMAGE_LAYOUT_UNDEFINED,
            _DST,
            vk.VK_PIPELINE_STAGE_2_NONE,
            0,
            _TRANSFER,
            _WRITE,
            0,
            self.mip_levels,
        )
        region = copy_region(self.width, self.height)
        vk.vkCmdCopyBufferToImage(cmd, self.staging.buffer, img, _DST, 1, [region])
        self._record_mipmaps(cmd)
        self.recorded = True

    def _record_mipmaps(self, cmd: Any) -> None:
        """Book ch.9: each level is blitted from the one above, then made shader-readable."""
        assert self.image is not None, "made by create"
        w, h = self.width, self.height
        for level in range(1, self.mip_levels):
            _barrier(
                cmd, self.image.image, _DST, _SRC, _TRANSFER, _WRITE, _TRANSFER, _READ, level - 1, 1
            )
            nw, nh = max(w // 2, 1), max(h // 2, 1)
            blit = vk.VkImageBlit(
                srcSubresource=vk.VkImageSubresourceLayers(
                    aspectMask=vk.VK_IMAGE_ASPECT_COLOR_BIT,
                    mipLevel=level - 1,
                    baseArrayLayer=0,
                    layerCount=1,
                ),
                srcOffsets=[vk.VkOffset3D(x=0, y=0, z=0), vk.VkOffset3D(x=w, y=h, z=1)],
                dstSubresource=vk.VkImageSubresourceLayers(
                    aspectMask=vk.VK_IMAGE_ASPECT_COLOR_BIT,
                    mipLevel=level,
                    baseArrayLayer=0,
                    layerCount=1,
                ),
                dstOffsets=[vk.VkOffset3D(x=0, y=0, z=0), vk.VkOffset3D(x=nw, y=nh, z=1)],
            )
            vk.vkCmdBlitImage(
                cmd, self.image.image, _SRC, self.image.image, _DST, 1, [blit], vk.VK_FILTER_LINEAR
            )
            _barrier(
                cmd,
                self.image.image,
                _SRC,
                _SHADER,
                _TRANSFER,
                _READ,
                _FRAGMENT,
                _SHADER_READ,
                level - 1,
                1,
            )
            w, h = nw, nh
        last = self.mip_levels - 1
        _barrier(
            cmd,
            self.image.image,
            _DST,
            _SHADER,
            _TRANSFER,
            _WRITE,
            _FRAGMENT,
            _SHADER_READ,
            last,
            1,
        )

    @teardown
    def cleanup_staging(self, ctx: "VkCtx") -> None:
        staging, self.staging = self.staging, None  # dropped first: never destroyed twice
        if staging is not None:
            staging.cleanup(ctx)

    @teardown
    def cleanup(self, ctx: "VkCtx") -> None:
        self.cleanup_staging(ctx)
        super().cleanup(ctx)
