"""The committed SPIR-V matches its GLSL: each shader is recompiled with glslc and compared.

glslc releases order and annotate instructions a little differently (Debian 12's 2023.2 and
Debian 13's 2025.2 do), so the comparison is semantic rather than byte for byte: the same
instructions (as a multiset, debug information aside) and the same interface decorations
(locations, bindings, descriptor sets, offsets, specialization ids).
"""

import shutil
import struct
import subprocess
from collections import Counter

import pytest

from eng.shader_watch import SHADERS, STAGES

OP_DECORATE, OP_MEMBER_DECORATE = 71, 72
DEBUG_OPS = {2, 3, 4, 5, 6, 7, 8, 330}  # OpSourceContinued..OpLine, OpModuleProcessed
INTERFACE = {1, 30, 33, 34, 35}  # SpecId, Location, Binding, DescriptorSet, Offset


def instructions(spv: bytes) -> list[tuple[int, ...]]:
    words = struct.unpack(f"<{len(spv) // 4}I", spv)
    assert words[0] == 0x07230203, "not SPIR-V"
    out, i = [], 5
    while i < len(words):
        count, opcode = words[i] >> 16, words[i] & 0xFFFF
        out.append((opcode, *words[i + 1 : i + count]))
        i += count
    return out


def semantic(spv: bytes) -> tuple[Counter, Counter]:
    code, interface = Counter(), Counter()
    for ins in instructions(spv):
        if ins[0] in DEBUG_OPS:
            continue
        if ins[0] == OP_DECORATE:
            if ins[2] in INTERFACE:
                interface[ins] += 1
        elif ins[0] == OP_MEMBER_DECORATE:
            if ins[3] in INTERFACE:
                interface[ins] += 1
        else:
            code[ins] += 1
    return code, interface


@pytest.mark.parametrize("stage", STAGES, ids=[s.name for s in STAGES])
def test_committed_spirv_is_compiled_from_the_glsl(tmp_path, stage):
    """The Makefile's `shaders` commands, as eng/shader_watch.py's STAGES describe them."""
    glslc = shutil.which("glslc")
    assert glslc, "glslc is not installed (scripts/setup.sh installs it)"
    name = stage.name
    out = tmp_path / f"{name}.spv"
    defines = [f"-D{d}" for d in stage.defines]
    source = SHADERS / f"{stage.glsl}.glsl"
    subprocess.run(
        [glslc, f"-fshader-stage={stage.stage_name}", *defines, str(source), "-o", str(out)],
        check=True,
    )
    assert semantic(out.read_bytes()) == semantic((SHADERS / f"{name}.spv").read_bytes()), (
        f"eng/res/shaders/{name}.spv is stale: run `make shaders`"
    )
