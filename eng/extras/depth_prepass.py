"""The depth pre-pass (not in the book; docs/beyond-the-book.md, docs/performance.md).

Before the book's opaque draws, the same opaque meshes are drawn once more, depth only and
their back faces culled, so that the shaded draws that follow (the book's pipeline, its
LESS_OR_EQUAL test) shade about one fragment per pixel. A pixel still ends with the nearest
fragment the book's draws leave there, so the picture is the book's (docs/chapter-10.md).
"""

from typing import Any

import vulkan as vk

from eng.hooks import Extra, PipelineSpec
from eng.render_scn import RenderScn

DEPTH_PIPELINE = "depth"


class DepthPrepass(Extra):
    def pipeline_specs(self) -> list[PipelineSpec]:
        vertex_only = (("scn_vtx", vk.VK_SHADER_STAGE_VERTEX_BIT),)
        return [PipelineSpec(DEPTH_PIPELINE, vertex_only, color_write=False, cull_back=True)]

    def before_draws(self, cmd: Any, scn: RenderScn, frame: int) -> None:
        pipeline = scn.pipelines[DEPTH_PIPELINE].pipeline
        vk.lib.vkCmdBindPipeline(cmd, vk.VK_PIPELINE_BIND_POINT_GRAPHICS, pipeline)
        scn.record_items(cmd, scn.draw_list.opaque)
