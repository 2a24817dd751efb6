"""Book ch.5/6 (vkPipeline.zig): shader modules and the graphics pipeline (dynamic rendering)."""

import logging
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import vulkan as vk

from eng.com.interrupts import teardown
from eng.com.safe_io import FileProblemError, MiB, read_file, write_bytes_atomic
from eng.shader_check import check_pipeline, load_shader
from eng.vk.errors import VulkanError, check, cleanup_on_error

log = logging.getLogger("eng.vk")
PIPELINE_CACHE_LIMIT = 256 * MiB  # far above any driver's (lavapipe writes 32 bytes)

if TYPE_CHECKING:
    from eng.spirv import ShaderInfo
    from eng.vk.ctx import VkCtx


class VkShaderModule:
    def __init__(self, stage: int, name: str = "", shader: "ShaderInfo | None" = None) -> None:
        self.module = None
        self.stage = stage
        self.name = name  # the file a message names
        self.shader = shader  # its interface (eng/spirv.py)

    @classmethod
    def create(cls, ctx: "VkCtx", spv_path: Path, stage: int, name: str = "") -> "VkShaderModule":
        """`name`: what a message about the file calls it (default: its path). Its SPIR-V is
        reflected and its stage checked before the module is made (SpirvError)."""
        name = name or str(spv_path)
        code, shader = load_shader(Path(spv_path), stage, name)
        info = vk.VkShaderModuleCreateInfo(
            sType=vk.VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO, codeSize=len(code), pCode=code
        )
        with cleanup_on_error(cls(stage, name, shader), ctx) as module:
            module.module = vk.vkCreateShaderModule(ctx.device.device, info, None)
            ctx.device.set_name(vk.VK_OBJECT_TYPE_SHADER_MODULE, module.module, name)
            return module

    @teardown
    def cleanup(self, ctx: "VkCtx") -> None:
        module, self.module = self.module, None  # dropped first: destroyed once
        if module is not None:
            vk.vkDestroyShaderModule(ctx.device.device, module, None)


@dataclass(frozen=True)
class VtxBuffDesc:
    """One interleaved vertex binding: (location, format, offset) attributes and a stride."""

    stride: int
    attributes: tuple[tuple[int, int, int], ...]


@dataclass(frozen=True)
class VkPipelineCreateInfo:
    color_format: int
    depth_format: int
    desc_set_layouts: list
    modules: list[VkShaderModule]
    push_constants: list[tuple[int, int, int]]  # (stage flags, offset, size)
    vtx_buff_desc: VtxBuffDesc
    use_blend: bool = False
    spec_constants: dict[int, int] = field(default_factory=dict)  # constant_id -> uint32
    color_write: bool = True  # False: a depth-only pipeline (a depth pre-pass)
    cull_back: bool = False  # cull back faces, counter-clockwise being front (book: none)


class VkPipeline:
    def __init__(self) -> None:
        self.pipeline = None
        self.layout = None

    @classmethod
    def create(cls, ctx: "VkCtx", info: VkPipelineCreateInfo, name: str = "") -> "VkPipeline":
        """SpirvError when a shader does not fit the pipeline (eng/shader_check.py)."""
        check_pipeline(info)
        device = ctx.device.device
        spec_info = None
        if info.spec_constants:
            ids = sorted(info.spec_constants)
            entries = [
                vk.VkSpecializationMapEntry(constantID=cid, offset=4 * i, size=4)
                for i, cid in enumerate(ids)
            ]
            data = struct.pack(f"<{len(ids)}I", *(info.spec_constants[i] for i in ids))
            spec_data = vk.ffi.new("char[]", data)
            spec_info = vk.VkSpecializationInfo(
                mapEntryCount=len(entries),
                pMapEntries=entries,
                dataSize=len(data),
                pData=spec_data,
            )
        stages = [
            vk.VkPipelineShaderStageCreateInfo(
                sType=vk.VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO,
                stage=m.stage,
                module=m.module,
                pName="main",
                pSpecializationInfo=spec_info,
            )
            for m in info.modules
        ]
        bindings = [
            vk.VkVertexInputBindingDescription(
                binding=0,
                stride=info.vtx_buff_desc.stride,
                inputRate=vk.VK_VERTEX_INPUT_RATE_VERTEX,
            )
        ]
        attributes = [
            vk.VkVertexInputAttributeDescription(location=loc, binding=0, format=fmt, offset=off)
            for loc, fmt, off in info.vtx_buff_desc.attributes
        ]
        # the `vulkan` package sets each array's count (here vertexBindingDescriptionCount,
        # vertexAttributeDescriptionCount) from the length of the list given for it
        vertex_input = vk.VkPipelineVertexInputStateCreateInfo(
            sType=vk.VK_STRUCTURE_TYPE_PIPELINE_VERTEX_INPUT_STATE_CREATE_INFO,
            pVertexBindingDescriptions=bindings,
            pVertexAttributeDescriptions=attributes,
        )
        input_assembly = vk.VkPipelineInputAssemblyStateCreateInfo(
            sType=vk.VK_STRUCTURE_TYPE_PIPELINE_INPUT_ASSEMBLY_STATE_CREATE_INFO,
            topology=vk.VK_PRIMITIVE_TOPOLOGY_TRIANGLE_LIST,
        )
        viewport = vk.VkPipelineViewportStateCreateInfo(
            sType=vk.VK_STRUCTURE_TYPE_PIPELINE_VIEWPORT_STATE_CREATE_INFO,
            viewportCount=1,
            scissorCount=1,
        )
        raster = vk.VkPipelineRasterizationStateCreateInfo(
            sType=vk.VK_STRUCTURE_TYPE_PIPELINE_RASTERIZATION_STATE_CREATE_INFO,
            polygonMode=vk.VK_POLYGON_MODE_FILL,
            cullMode=vk.VK_CULL_MODE_BACK_BIT if info.cull_back else vk.VK_CULL_MODE_NONE,
            frontFace=vk.VK_FRONT_FACE_COUNTER_CLOCKWISE
            if info.cull_back
            else vk.VK_FRONT_FACE_CLOCKWISE,
            lineWidth=1.0,
        )
        multisample = vk.VkPipelineMultisampleStateCreateInfo(
            sType=vk.VK_STRUCTURE_TYPE_PIPELINE_MULTISAMPLE_STATE_CREATE_INFO,
            rasterizationSamples=vk.VK_SAMPLE_COUNT_1_BIT,
        )
        depth = vk.VkPipelineDepthStencilStateCreateInfo(
            sType=vk.VK_STRUCTURE_TYPE_PIPELINE_DEPTH_STENCIL_STATE_CREATE_INFO,
            depthTestEnable=vk.VK_TRUE,
            depthWriteEnable=vk.VK_TRUE,
            depthCompareOp=vk.VK_COMPARE_OP_LESS_OR_EQUAL,
        )
        blend_attachment = vk.VkPipelineColorBlendAttachmentState(
            blendEnable=vk.VK_TRUE if info.use_blend else vk.VK_FALSE,
            srcColorBlendFactor=vk.VK_BLEND_FACTOR_SRC_ALPHA,
            dstColorBlendFactor=vk.VK_BLEND_FACTOR_ONE_MINUS_SRC_ALPHA,
            colorBlendOp=vk.VK_BLEND_OP_ADD,
            srcAlphaBlendFactor=vk.VK_BLEND_FACTOR_SRC_ALPHA,
            dstAlphaBlendFactor=vk.VK_BLEND_FACTOR_ZERO,
            alphaBlendOp=vk.VK_BLEND_OP_ADD,
            colorWriteMask=(
                vk.VK_COLOR_COMPONENT_R_BIT
                | vk.VK_COLOR_COMPONENT_G_BIT
                | vk.VK_COLOR_COMPONENT_B_BIT
                | vk.VK_COLOR_COMPONENT_A_BIT
            )
            if info.color_write
            else 0,
        )
        blend = vk.VkPipelineColorBlendStateCreateInfo(
            sType=vk.VK_STRUCTURE_TYPE_PIPELINE_COLOR_BLEND_STATE_CREATE_INFO,
            logicOp=vk.VK_LOGIC_OP_COPY,
            attachmentCount=1,
            pAttachments=[blend_attachment],
        )
        dyn_states = [vk.VK_DYNAMIC_STATE_VIEWPORT, vk.VK_DYNAMIC_STATE_SCISSOR]
        dynamic = vk.VkPipelineDynamicStateCreateInfo(
            sType=vk.VK_STRUCTURE_TYPE_PIPELINE_DYNAMIC_STATE_CREATE_INFO,
            pDynamicStates=dyn_states,
        )
        color_formats = [info.color_format]
        rendering = vk.VkPipelineRenderingCreateInfo(
            sType=vk.VK_STRUCTURE_TYPE_PIPELINE_RENDERING_CREATE_INFO,
            colorAttachmentCount=1,
            pColorAttachmentFormats=color_formats,
            depthAttachmentFormat=info.depth_format,
        )
        ranges = [
            vk.VkPushConstantRange(stageFlags=stage, offset=offset, size=size)
            for stage, offset, size in info.push_constants
        ]
        set_layouts = [layout.layout for layout in info.desc_set_layouts]
        layout_info = vk.VkPipelineLayoutCreateInfo(
            sType=vk.VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO,
            pSetLayouts=set_layouts,
            pPushConstantRanges=ranges,
        )
        with cleanup_on_error(cls(), ctx) as pipeline:
            pipeline.layout = vk.vkCreatePipelineLayout(device, layout_info, None)
            create_info = vk.VkGraphicsPipelineCreateInfo(
                sType=vk.VK_STRUCTURE_TYPE_GRAPHICS_PIPELINE_CREATE_INFO,
                pNext=rendering,
                pStages=stages,
                pVertexInputState=vertex_input,
                pInputAssemblyState=input_assembly,
                pViewportState=viewport,
                pRasterizationState=raster,
                pMultisampleState=multisample,
                pDepthStencilState=depth if info.depth_format != vk.VK_FORMAT_UNDEFINED else None,
                pColorBlendState=blend,
                pDynamicState=dynamic,
                layout=pipeline.layout,
                basePipelineIndex=-1,
            )
            pipeline.pipeline = vk.vkCreateGraphicsPipelines(
                device, ctx.pipeline_cache.cache, 1, [create_info], None
            )[0]
            ctx.device.set_name(vk.VK_OBJECT_TYPE_PIPELINE, pipeline.pipeline, name)
            ctx.device.set_name(vk.VK_OBJECT_TYPE_PIPELINE_LAYOUT, pipeline.layout, name)
            return pipeline

    @teardown
    def cleanup(self, ctx: "VkCtx") -> None:
        pipeline, layout, self.pipeline, self.layout = self.pipeline, self.layout, None, None
        if pipeline is not None:  # dropped first: destroyed once
            vk.vkDestroyPipeline(ctx.device.device, pipeline, None)
        if layout is not None:
            vk.vkDestroyPipelineLayout(ctx.device.device, layout, None)


class VkPipelineCache:
    """A pipeline cache kept on disk between runs (not in the book: it shortens start-up)."""

    def __init__(self, path: Path | None) -> None:
        self.cache = None
        self.path = path

    @classmethod
    def create(cls, ctx: "VkCtx", path: Path | None) -> "VkPipelineCache":
        data = b""
        if path is not None and path.exists():
            try:
                data = read_file(path, PIPELINE_CACHE_LIMIT, "a pipeline cache")
            except FileProblemError as exc:
                log.warning("pipeline cache %s not used: %s", path, exc)
        info = vk.VkPipelineCacheCreateInfo(
            sType=vk.VK_STRUCTURE_TYPE_PIPELINE_CACHE_CREATE_INFO,
            initialDataSize=len(data),
            pInitialData=vk.ffi.from_buffer(data) if data else None,
        )
        with cleanup_on_error(cls(None), ctx) as cache:  # no path: a failed create saves nothing
            cache.cache = vk.vkCreatePipelineCache(ctx.device.device, info, None)
            ctx.device.set_name(vk.VK_OBJECT_TYPE_PIPELINE_CACHE, cache.cache, "pipeline cache")
            cache.path = path
            return cache

    @teardown
    def cleanup(self, ctx: "VkCtx") -> None:
        if self.cache is None:
            return
        if self.path is not None:
            try:
                size = vk.ffi.new("size_t*")
                get_data = vk.lib.vkGetPipelineCacheData
                check(get_data(ctx.device.device, self.cache, size, vk.ffi.NULL), "cache size")
                data = vk.ffi.new("char[]", size[0])
                check(get_data(ctx.device.device, self.cache, size, data), "cache data")
                self.path.parent.mkdir(parents=True, exist_ok=True)
                write_bytes_atomic(self.path, vk.ffi.buffer(data, size[0]))
            except VulkanError as exc:  # only start-up time is lost
                log.debug("pipeline cache %s not saved: the driver gave none (%s)", self.path, exc)
            except OSError as exc:  # it only costs start-up time next run
                log.warning("pipeline cache %s not saved (%s)", self.path, exc.strerror or exc)
        cache, self.cache = self.cache, None  # dropped first: destroyed once
        vk.vkDestroyPipelineCache(ctx.device.device, cache, None)
