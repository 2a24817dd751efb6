"""Shaders a learner writes never crash or hang the engine: a shader that does not fit its
pipeline, malformed SPIR-V or a folder named like an option ends in one line naming the file
(eng/spirv.py, eng/shader_check.py, eng/extras/shader_watch.py), validation on and silent."""

import contextlib
import shutil
import struct
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eng.extras.depth_prepass import DepthPrepass
from eng.extras.render_inst import Instancing
from eng.extras.shader_watch import SHADERS, ShaderError, ShaderSet
from eng.hooks import Extra
from eng.spirv import SpirvError, reflect
from eng.vk import pipe

from .helpers import default_scene_engine
from .test_cli import assert_one_line_error, run_game

QUICK = ["--headless", "--validation", "--frames", "1", "--size", "32x24"]
STAGE_NAMES = {"scn_vtx": "vertex", "scn_frg": "fragment", "scn_inst_vtx": "vertex"}
UNIFORM_5_3 = "layout(set = 5, binding = 3) uniform Extra { vec4 tint; } extra;\nvoid main()"
# (file, [(old, new), ...], words of the message): GLSL that compiles but does not fit
MISMATCHES = {
    "set": (
        "scn_frg.glsl",
        [("void main()", UNIFORM_5_3), ("= material.diffuseColor;", "= extra.tint;")],
        ["set 5 binding 3 (uniform buffer)", "sets 0-2"],
    ),
    "binding": ("scn_vtx.glsl", [("binding = 0", "binding = 3")], ["set 0 binding 3", "only"]),
    "push-constant size": (
        "scn_frg.glsl",
        [("uint materialIdx;\n", "uint materialIdx;\n    uint more;\n")],
        ["push constants take 72 bytes", "holds 68"],
    ),
    "vertex input": (
        "scn_vtx.glsl",
        [
            ("void main()", "layout(location = 2) in vec3 inNormal;\nvoid main()"),
            ("vec4(inPos, 1.0)", "vec4(inPos + inNormal, 1.0)"),
        ],
        ["vertex input location 2 (vec3)", "0 (vec3), 1 (vec2)"],
    ),  # fmt: skip
    "vertex input type": (
        "scn_vtx.glsl",
        [
            ("in vec2 inTextCoords", "in ivec2 inTextCoords"),
            ("= inTextCoords;", "= vec2(inTextCoords);"),
        ],
        ["vertex input location 1 is ivec2", "vec2"],
    ),  # fmt: skip
    "fragment input": (
        "scn_frg.glsl",
        [
            ("void main()", "layout(location = 1) in vec3 inTint;\nvoid main()"),
            ("= material.diffuseColor;", "= vec4(inTint, 1.0);"),
        ],
        ["input location 1 (vec3) is not written by the vertex shader"],
    ),  # fmt: skip
    "vertex output": (
        "scn_vtx.glsl",
        [
            ("void main()", "layout(location = 1) out vec3 outTint;\nvoid main()"),
            ("outTextCoords = inTextCoords;", "outTextCoords = inTextCoords; outTint = inPos;"),
        ],
        ["output location 1 (vec3) is not read by the fragment shader"],
    ),  # fmt: skip
    "stage of a set": (
        "scn_frg.glsl",
        [
            (
                "void main()",
                "layout(set = 0, binding = 0) uniform Cam { mat4 p; } cam;\nvoid main()",
            ),
            ("= material.diffuseColor;", "= material.diffuseColor * cam.p[0][0];"),
        ],
        ["set 0 binding 0 (uniform buffer) is only for the vertex shader"],
    ),  # fmt: skip
    "writable buffer": ("scn_frg.glsl", [("readonly buffer", "buffer")], ["writable", "readonly"]),
    "sampler count": (
        "scn_frg.glsl",
        [("textSampler[MAX_TEXTURES]", "textSampler[2000]")],
        ["set 2 binding 0 is an array of 2000 combined image samplers"],
    ),
    "capability": (
        "scn_frg.glsl",
        [
            (
                "outFragColor = material.diffuseColor;",
                "double d = material.diffuseColor.r; outFragColor = vec4(float(d));",
            )
        ],
        ["capability Float64 (double)"],
    ),  # fmt: skip
}


def glsl_folder(tmp_path, file: str = "", edits=()):
    """A copy of the committed GLSL in `tmp_path`/sh, `file` edited."""
    folder = tmp_path / "sh"
    folder.mkdir()
    for name in ("scn_vtx.glsl", "scn_frg.glsl"):
        shutil.copy(SHADERS / name, folder / name)
    if file:
        text = (folder / file).read_text()
        for old, new in edits:
            assert old in text, old
            text = text.replace(old, new, 1)
        (folder / file).write_text(text)
    return folder


def spirv_folder(tmp_path, **files: bytes):
    """A copy of the committed SPIR-V in `tmp_path`/spv, with `files` (by stage) replaced."""
    folder = tmp_path / "spv"
    folder.mkdir()
    for name in ("scn_vtx", "scn_frg"):
        (folder / f"{name}.spv").write_bytes(
            files.get(name, (SHADERS / f"{name}.spv").read_bytes())
        )
    return folder


def committed(name: str) -> bytes:
    return (SHADERS / f"{name}.spv").read_bytes()


def garbage_after_magic(name: str) -> bytes:
    code = committed(name)
    return code[:20] + bytes((i * 167 + 13) % 256 for i in range(len(code) - 20))


def cut_at_an_instruction(name: str) -> bytes:
    """The module up to (not including) its first OpFunction: whole instructions only."""
    code = committed(name)
    at = 5
    while struct.unpack_from("<I", code, 4 * at)[0] & 0xFFFF != 54:  # OpFunction
        at += struct.unpack_from("<I", code, 4 * at)[0] >> 16
    return code[: 4 * at]


@pytest.mark.parametrize("case", sorted(MISMATCHES))
def test_glsl_that_does_not_fit_the_pipeline_is_one_line_naming_the_file(tmp_path, case):
    file, edits, words = MISMATCHES[case]
    folder = glsl_folder(tmp_path, file, edits)
    result = run_game(*QUICK, "--shaders", str(folder))
    assert_one_line_error(result, f"{folder / file}: ", *words)


def test_a_fragment_shader_given_as_the_vertex_shader_is_refused(tmp_path):
    folder = spirv_folder(tmp_path, scn_vtx=committed("scn_frg"))
    result = run_game(*QUICK, "--shaders", str(folder))
    assert_one_line_error(
        result, f"{folder / 'scn_vtx.spv'}: is a fragment shader where a vertex shader is expected"
    )


@pytest.mark.parametrize(
    ("make", "words"),
    [
        (garbage_after_magic, "Invalid opcode"),
        (cut_at_an_instruction, "forward referenced"),
        (lambda name: committed(name)[:400], "End of input"),  # mid-instruction
    ],
    ids=["garbage", "cut at an instruction", "cut mid-instruction"],
)
def test_malformed_spirv_ends_at_once_in_one_line_with_validation_on(tmp_path, make, words):
    """spirv-val refuses it before Vulkan sees it (lavapipe crashed on some; with validation,
    the layers' own reading ran out of memory after a minute)."""
    folder = spirv_folder(tmp_path, scn_frg=make("scn_frg"))
    start = time.monotonic()
    result = run_game(*QUICK, "--shaders", str(folder), timeout=60)
    assert time.monotonic() - start < 20
    assert_one_line_error(result, f"{folder / 'scn_frg.spv'}: is not valid SPIR-V", words)


def test_without_spirv_val_a_spirv_file_is_refused(tmp_path):
    folder = spirv_folder(tmp_path)
    result = run_game(*QUICK, "--shaders", str(folder), env_changes={"PATH": ""})
    assert_one_line_error(result, f"{folder / 'scn_vtx.spv'}: spirv-val is needed", "spirv-tools")


class GivenFiles(Extra):
    """SPIR-V files handed straight to the engine, past ShaderSet's spirv-val."""

    def __init__(self, files) -> None:
        self.files = files

    def shader_files(self):
        return self.files


@pytest.mark.parametrize(
    ("make", "problem"),
    [
        (garbage_after_magic, "is cut short or corrupt"),
        (cut_at_an_instruction, "names a function it never defines"),
        (lambda name: committed("scn_vtx"), "is a vertex shader where a fragment shader is"),
    ],
    ids=["garbage", "cut at an instruction", "wrong stage"],
)
def test_the_engine_reads_every_shader_before_vulkan_sees_it(constants, tmp_path, make, problem):
    """Without spirv-val in front: eng/spirv.py refuses it and no Vulkan object is made of it
    (validation is on, and must stay silent)."""
    path = tmp_path / "frg.spv"
    path.write_bytes(make("scn_frg"))
    with pytest.raises(SpirvError) as raised:
        default_scene_engine(constants, (32, 24), extras=[GivenFiles({"scn_frg": path})])
    assert str(raised.value).startswith(f"{path}: {problem}"), raised.value


@pytest.mark.parametrize("name", sorted(STAGE_NAMES))
def test_every_cut_of_a_committed_shader_is_refused(name):
    code = committed(name)
    reflect(code, name, STAGE_NAMES[name])
    for end in range(20, len(code), 4):
        with pytest.raises(SpirvError):
            reflect(code[:end], name, STAGE_NAMES[name])


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400), st.integers(0, 400), st.sampled_from(sorted(STAGE_NAMES)))
def test_any_bytes_after_the_header_are_read_or_refused(noise, at, name):
    """eng/spirv.py raises SpirvError or answers, never another exception."""
    code = committed(name)
    at = 20 + 4 * min(at, (len(code) - 20) // 4)
    mutated = code[:at] + noise + code[at + len(noise) :]
    mutated = mutated[: len(mutated) // 4 * 4]
    with contextlib.suppress(SpirvError):
        reflect(mutated, name, STAGE_NAMES[name])


def test_the_committed_shaders_fit_every_pipeline(constants, monkeypatch):
    checked = []
    real = pipe.check_pipeline

    def check(info):
        checked.append(tuple(module.name.rsplit("/", 1)[-1] for module in info.modules))
        real(info)

    monkeypatch.setattr(pipe, "check_pipeline", check)
    extras = [DepthPrepass(), Instancing(depth_prepass=True)]
    default_scene_engine(constants, (32, 24), extras=extras).run(1)
    vtx, frg, inst = "scn_vtx.spv", "scn_frg.spv", "scn_inst_vtx.spv"
    assert sorted(checked) == sorted(
        [(vtx, frg), (vtx, frg), (vtx,), (inst, frg), (inst, frg), (inst,)]
    )


def test_a_folder_named_like_an_option_is_no_option_to_glslc(tmp_path):
    shutil.copytree(glsl_folder(tmp_path), tmp_path / "-x")
    result = run_game(*QUICK, "--shaders=-x", cwd=tmp_path)
    assert result.returncode == 0, result.stderr


def test_glslc_output_is_its_first_error_and_a_count_of_the_rest(tmp_path):
    folder = glsl_folder(tmp_path)
    (folder / "scn_frg.glsl").write_text("#version 450\nvoid main() { a; b; c; }\n")
    with pytest.raises(ShaderError) as raised:
        ShaderSet.create(folder)
    message = str(raised.value)
    assert "\n" not in message
    assert message.startswith(f"{folder / 'scn_frg.glsl'}: glslc failed: line 2: error: 'a'")
    assert message.endswith("(and 2 more errors)"), message
