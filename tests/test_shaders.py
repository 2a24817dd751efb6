"""The committed SPIR-V matches its GLSL: each shader is recompiled with glslc and compared.

glslc releases order and annotate instructions a little differently (Debian 12's 2023.2 and
Debian 13's 2025.2 do), so the comparison is semantic rather than byte for byte: the same
instructions (as a multiset, debug information aside) and the same interface decorations
(locations, bindings, descriptor sets, offsets, specialization ids).
"""

import shutil
import struct
import subprocess
import sys
from collections import Counter

import pytest

from eng.extras.shader_watch import SHADERS, STAGES, write_committed_spirv

from .helpers import ROOT

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


@pytest.fixture(scope="module")
def recompiled(tmp_path_factory):
    """What `make shaders` writes, from a copy of the committed GLSL."""
    assert shutil.which("glslc"), "glslc is not installed (scripts/setup.sh installs it)"
    folder = tmp_path_factory.mktemp("shaders")
    for glsl in SHADERS.glob("*.glsl"):
        shutil.copy(glsl, folder)
    written = write_committed_spirv(folder)
    assert written == [folder / f"{s.name}.spv" for s in STAGES]
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        [p.name for p in SHADERS.glob("*.glsl")] + [p.name for p in written]
    ), "only the SPIR-V files are written, and no temporary file is left"
    return folder


@pytest.mark.parametrize("stage", STAGES, ids=[s.name for s in STAGES])
def test_committed_spirv_is_compiled_from_the_glsl(recompiled, stage):
    """`make shaders` (eng/extras/shader_watch.py, STAGES) gives the committed SPIR-V again."""
    name = stage.name
    assert semantic((recompiled / f"{name}.spv").read_bytes()) == semantic(
        (SHADERS / f"{name}.spv").read_bytes()
    ), f"shaders/{name}.spv is stale: run `make shaders`"


def test_make_shaders_names_the_glsl_that_does_not_compile_and_writes_nothing(tmp_path):
    for glsl in SHADERS.glob("*.glsl"):
        shutil.copy(glsl, tmp_path)
    (tmp_path / "scn_frg.glsl").write_text("#version 450\nvoid main() { oops }\n")
    result = subprocess.run(
        [sys.executable, "-m", "eng.extras.shader_watch", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith(f"{tmp_path / 'scn_frg.glsl'}: glslc failed")
    assert not list(tmp_path.glob("*.spv"))
