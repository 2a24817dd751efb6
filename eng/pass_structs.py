"""Book ch.10 (renderScn.zig, RenderScn.render): the scene pass's attachment and rendering
infos, depth barrier, viewport and scissor. The book fills them in every frame; we build them
once per target image at create and resize, so that recording a frame allocates nothing.
"""

from dataclasses import dataclass
from typing import Any

import vulkan as vk

from eng.attachment import Attachment
from eng.hooks import Target
from eng.vk.record import ImageBarrier


@dataclass
class PassStructs:
    """The prebuilt structs of the scene pass, per target image (viewport and scissor: one)."""

    rendering_infos: list[Any]
    depth_barriers: list[ImageBarrier]
    viewport: Any
    scissor: Any
    keep: list[Any]  # cdata the structs point into

    @classmethod
    def build(cls, target: Target, depth_attachments: list[Attachment]) -> "PassStructs":
        """Barriers, rendering infos, viewport and scissor for each target image, drawing
        into its colour image and `depth_attachments`' image of the same index."""
        ffi = vk.ffi
        keep = []
        extent = target.extent
        rendering_infos: list[Any] = []
        depth_barriers: list[ImageBarrier] = []
        for i, depth in enumerate(depth_attachments):
            assert depth.image is not None and depth.view is not None, "made by create"
            color_att = ffi.new(
                "VkRenderingAttachmentInfo*",
                {
                    "sType": vk.VK_STRUCTURE_TYPE_RENDERING_ATTACHMENT_INFO,
                    "imageView": target.image_views[i].view,
                    "imageLayout": vk.VK_IMAGE_LAYOUT_COLOR_ATTACHMENT_OPTIMAL,
                    "loadOp": vk.VK_ATTACHMENT_LOAD_OP_CLEAR,
                    "storeOp": vk.VK_ATTACHMENT_STORE_OP_STORE,
                    "clearValue": {"color": {"float32": [0.0, 0.0, 0.0, 1.0]}},
                },
            )
            depth_att = ffi.new(
                "VkRenderingAttachmentInfo*",
                {
                    "sType": vk.VK_STRUCTURE_TYPE_RENDERING_ATTACHMENT_INFO,
                    "imageView": depth.view.view,
                    "imageLayout": vk.VK_IMAGE_LAYOUT_DEPTH_ATTACHMENT_OPTIMAL,
                    "loadOp": vk.VK_ATTACHMENT_LOAD_OP_CLEAR,
                    "storeOp": vk.VK_ATTACHMENT_STORE_OP_DONT_CARE,
                    "clearValue": {"depthStencil": {"depth": 1.0, "stencil": 0}},
                },
            )
            info = ffi.new(
                "VkRenderingInfo*",
                {
                    "sType": vk.VK_STRUCTURE_TYPE_RENDERING_INFO,
                    "renderArea": {
                        "offset": {"x": 0, "y": 0},
                        "extent": {"width": extent.width, "height": extent.height},
                    },
                    "layerCount": 1,
                    "colorAttachmentCount": 1,
                    "pColorAttachments": color_att,
                    "pDepthAttachment": depth_att,
                },
            )
            barrier = ImageBarrier(
                depth.image.image,
                vk.VK_IMAGE_LAYOUT_UNDEFINED,
                vk.VK_IMAGE_LAYOUT_DEPTH_ATTACHMENT_OPTIMAL,
                vk.VK_PIPELINE_STAGE_2_EARLY_FRAGMENT_TESTS_BIT
                | vk.VK_PIPELINE_STAGE_2_LATE_FRAGMENT_TESTS_BIT,
                vk.VK_ACCESS_2_DEPTH_STENCIL_ATTACHMENT_WRITE_BIT,
                vk.VK_PIPELINE_STAGE_2_EARLY_FRAGMENT_TESTS_BIT
                | vk.VK_PIPELINE_STAGE_2_LATE_FRAGMENT_TESTS_BIT,
                vk.VK_ACCESS_2_DEPTH_STENCIL_ATTACHMENT_READ_BIT
                | vk.VK_ACCESS_2_DEPTH_STENCIL_ATTACHMENT_WRITE_BIT,
                vk.VK_IMAGE_ASPECT_DEPTH_BIT,
            )
            keep += [color_att, depth_att]
            rendering_infos.append(info)
            depth_barriers.append(barrier)
        # the book flips y with a negative viewport height, so +y is up as in OpenGL
        viewport = ffi.new(
            "VkViewport*",
            {
                "x": 0.0,
                "y": float(extent.height),
                "width": float(extent.width),
                "height": -float(extent.height),
                "minDepth": 0.0,
                "maxDepth": 1.0,
            },
        )
        scissor = ffi.new("VkRect2D*", {"extent": {"width": extent.width, "height": extent.height}})
        return cls(rendering_infos, depth_barriers, viewport, scissor, keep)
