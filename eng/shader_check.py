"""A pipeline's shaders checked against the pipeline (not in the book, whose shaders are its
own), at load and when shaders are reloaded, never per frame.

The interface a shader must fit is what its pipeline is made of, its `VkPipelineCreateInfo`:
the descriptor set layouts (RenderScn's sets 0-2 and an extra's `PipelineSpec.extra_layouts`),
the push-constant ranges, the vertex attributes and the specialization constants. So it is
declared once, where the pipelines are. `load_shader` reads a SPIR-V file and reflects it
(eng/spirv.py) before its shader module is made; `check_pipeline` runs before the pipeline is
made. A mismatch - which lavapipe may crash on, and the validation layers report - is a
SpirvError naming the file.
"""

from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import vulkan as vk

from eng.com.safe_io import SHADER_LIMIT, FileProblemError, read_file
from eng.spirv import ShaderInfo, Slot, SpirvError, reflect

if TYPE_CHECKING:
    from eng.vk.desc import VkDescSetLayout
    from eng.vk.pipe import VkPipelineCreateInfo, VkShaderModule, VtxBuffDesc

VERTEX, FRAGMENT = vk.VK_SHADER_STAGE_VERTEX_BIT, vk.VK_SHADER_STAGE_FRAGMENT_BIT
STAGE_NAMES = {
    VERTEX: "vertex",
    vk.VK_SHADER_STAGE_TESSELLATION_CONTROL_BIT: "tessellation control",
    vk.VK_SHADER_STAGE_TESSELLATION_EVALUATION_BIT: "tessellation evaluation",
    vk.VK_SHADER_STAGE_GEOMETRY_BIT: "geometry",
    FRAGMENT: "fragment",
}
DESCRIPTOR_KINDS = {
    vk.VK_DESCRIPTOR_TYPE_SAMPLER: "sampler",
    vk.VK_DESCRIPTOR_TYPE_COMBINED_IMAGE_SAMPLER: "combined image sampler",
    vk.VK_DESCRIPTOR_TYPE_SAMPLED_IMAGE: "sampled image",
    vk.VK_DESCRIPTOR_TYPE_STORAGE_IMAGE: "storage image",
    vk.VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER: "uniform texel buffer",
    vk.VK_DESCRIPTOR_TYPE_STORAGE_TEXEL_BUFFER: "storage texel buffer",
    vk.VK_DESCRIPTOR_TYPE_UNIFORM_BUFFER: "uniform buffer",
    vk.VK_DESCRIPTOR_TYPE_STORAGE_BUFFER: "storage buffer",
    vk.VK_DESCRIPTOR_TYPE_UNIFORM_BUFFER_DYNAMIC: "uniform buffer",
    vk.VK_DESCRIPTOR_TYPE_STORAGE_BUFFER_DYNAMIC: "storage buffer",
    vk.VK_DESCRIPTOR_TYPE_INPUT_ATTACHMENT: "input attachment",
}
# what a combined image sampler binding also serves: its image, or its sampler
_SERVES = {"sampled image": "combined image sampler", "sampler": "combined image sampler"}
FORMAT_SLOTS = {
    getattr(vk, f"VK_FORMAT_{channels}_{suffix}"): Slot(kind, len(channels) // 3)
    for channels in ("R32", "R32G32", "R32G32B32", "R32G32B32A32")
    for suffix, kind in (("SFLOAT", "float"), ("SINT", "int"), ("UINT", "uint"))
}
"""The vertex attribute formats of 32-bit components, as the shader input they feed."""


def load_shader(path: Path, stage: int, name: str) -> tuple[bytes, ShaderInfo]:
    """The SPIR-V of `path` and its interface, its entry point `main` a `stage` shader;
    SpirvError naming `name` otherwise."""
    try:
        code = read_file(path, SHADER_LIMIT, "a shader")
    except FileProblemError as exc:
        raise SpirvError(name, str(exc)) from None
    return code, reflect(code, name, STAGE_NAMES.get(stage, f"stage {stage:#x}"))


def check_pipeline(info: "VkPipelineCreateInfo") -> None:
    """SpirvError unless every shader of `info` fits it, and its vertex shader's outputs are
    its fragment shader's inputs."""
    by_stage = {module.stage: module for module in info.modules}
    for module in info.modules:
        _check_descriptors(module, info.desc_set_layouts, info.spec_constants)
        _check_push_constants(module, info.push_constants)
    vertex, fragment = by_stage.get(VERTEX), by_stage.get(FRAGMENT)
    if vertex is not None:
        _check_vertex_inputs(vertex, info.vtx_buff_desc)
    if fragment is not None:
        slot = _shader(fragment).outputs.get(0)
        if slot is not None and slot.kind != "float":
            _fail(fragment, f"output location 0 is {slot}; the colour attachment takes floats")
    if vertex is not None and fragment is not None:
        _check_link(vertex, fragment)


def _shader(module: "VkShaderModule") -> ShaderInfo:
    assert module.shader is not None, "made by VkShaderModule.create"
    return module.shader


def _fail(module: "VkShaderModule", problem: str) -> NoReturn:
    raise SpirvError(module.name, problem)


def _check_descriptors(
    module: "VkShaderModule", layouts: "list[VkDescSetLayout]", spec_constants: dict[int, int]
) -> None:
    for (set_index, binding), used in sorted(_shader(module).descriptors.items()):
        where = f"set {set_index} binding {binding}"
        if set_index >= len(layouts):
            _fail(
                module,
                f"{where} ({used.kind}) is not in the pipeline's layout, which has sets "
                f"0-{len(layouts) - 1}",
            )
        layout = layouts[set_index]
        kind = DESCRIPTOR_KINDS.get(layout.desc_type, f"descriptor type {layout.desc_type}")
        if binding != layout.binding:
            _fail(
                module,
                f"{where} ({used.kind}) is not in the pipeline's layout, whose set {set_index} "
                f"has binding {layout.binding} only ({kind})",
            )
        if kind not in (used.kind, _SERVES.get(used.kind)):
            _fail(module, f"{where} is a {used.kind} here; the pipeline's is a {kind}")
        if not layout.stage & module.stage:
            names = " and ".join(n for bit, n in STAGE_NAMES.items() if bit & layout.stage)
            _fail(
                module, f"{where} ({kind}) is only for the {names} shader in the pipeline's layout"
            )
        count = used.count if used.spec_id is None else spec_constants.get(used.spec_id, used.count)
        if count > layout.count:
            _fail(
                module,
                f"{where} is an array of {count} {used.kind}s; the pipeline's layout has "
                f"{layout.count}",
            )
        if used.writable:
            _fail(
                module,
                f"{where} ({used.kind}) is writable: declare it readonly (the engine enables "
                "no stores from shaders)",
            )


def _check_push_constants(module: "VkShaderModule", ranges: list[tuple[int, int, int]]) -> None:
    size = _shader(module).push_size
    if size == 0:
        return
    stage = STAGE_NAMES.get(module.stage, "")
    ends = [offset + length for flags, offset, length in ranges if flags & module.stage]
    if not ends:
        _fail(module, f"has push constants, but the pipeline has none for the {stage} shader")
    if size > max(ends):
        _fail(
            module, f"its push constants take {size} bytes; the pipeline's range holds {max(ends)}"
        )


def _check_vertex_inputs(module: "VkShaderModule", desc: "VtxBuffDesc") -> None:
    given = {location: FORMAT_SLOTS.get(fmt) for location, fmt, _ in desc.attributes}
    described = ", ".join(f"{loc} ({slot or 'other'})" for loc, slot in sorted(given.items()))
    for location, slot in sorted(_shader(module).inputs.items()):
        if location not in given:
            _fail(
                module,
                f"vertex input location {location} ({slot}) is not one the pipeline gives: "
                f"it gives locations {described}",
            )
        attribute = given[location]
        if attribute is not None and attribute.kind != slot.kind:
            _fail(
                module,
                f"vertex input location {location} is {slot}; the pipeline gives it {attribute}",
            )


def _check_link(vertex: "VkShaderModule", fragment: "VkShaderModule") -> None:
    """The fragment shader reads what the vertex shader writes, location by location."""
    written, read = _shader(vertex).outputs, _shader(fragment).inputs
    for location, slot in sorted(read.items()):
        if location not in written:
            _fail(
                fragment,
                f"input location {location} ({slot}) is not written by the vertex shader "
                f"({vertex.name})",
            )
        if written[location] != slot:
            _fail(
                fragment,
                f"input location {location} is {slot}, but the vertex shader ({vertex.name}) "
                f"writes {written[location]} there",
            )
    for location, slot in sorted(written.items()):
        if location not in read:
            _fail(
                vertex,
                f"output location {location} ({slot}) is not read by the fragment shader "
                f"({fragment.name})",
            )
