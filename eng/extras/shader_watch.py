"""Shader experiments (not in the book): the scene's two shaders from another folder
(`--shaders DIR`), recompiled with glslc whenever they change (`--watch-shaders`).

A folder may hold `scn_vtx.glsl` / `scn_frg.glsl` (compiled here with glslc) or `.spv` files;
GLSL wins when both are there. The instanced path's vertex shader is `scn_vtx.glsl` compiled
with -DINSTANCED, or else the folder's `scn_inst_vtx.spv`, or else the committed one. Without
a folder and without watching, the engine uses the committed SPIR-V of shaders/ and
needs no glslc. `make shaders` (`python -m eng.extras.shader_watch`) recompiles that SPIR-V.
"""

import logging
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import vulkan as vk

from eng.com.interrupts import teardown
from eng.com.paths import SHADERS_DIR as SHADERS
from eng.com.safe_io import write_bytes_atomic
from eng.hooks import Extra
from eng.render import Render
from eng.vk.ctx import VkCtx
from eng.vk.errors import VulkanError

log = logging.getLogger("eng.shaders")


@dataclass(frozen=True, slots=True)
class Stage:
    """One SPIR-V file the scene's pipelines need, and the GLSL it is compiled from."""

    name: str  # the SPIR-V file is name.spv
    glsl: str  # compiled from glsl.glsl
    stage_name: str  # glslc -fshader-stage
    stage: int
    defines: tuple[str, ...] = ()  # glslc -D
    fallback: Path | None = None  # the SPIR-V used when a folder has neither source


STAGES = (
    Stage("scn_vtx", "scn_vtx", "vert", vk.VK_SHADER_STAGE_VERTEX_BIT),
    Stage("scn_frg", "scn_frg", "frag", vk.VK_SHADER_STAGE_FRAGMENT_BIT),
    Stage(
        "scn_inst_vtx",
        "scn_vtx",
        "vert",
        vk.VK_SHADER_STAGE_VERTEX_BIT,
        ("INSTANCED",),
        SHADERS / "scn_inst_vtx.spv",
    ),
)
"""Vertex, fragment, instanced vertex (the shader names of eng/render_scn.py's pipelines)."""
SPIRV_MAGIC = b"\x03\x02\x23\x07"


class ShaderError(RuntimeError):
    """A shader folder lacks a shader, or a shader does not compile."""


class ShaderSet:
    """The scene's shaders as SPIR-V files: `stages` maps each Stage's name to its file."""

    def __init__(self, folder: Path, compile_glsl: bool, watch: bool) -> None:
        self.folder = folder
        self.compile_glsl = compile_glsl
        self.watch = watch
        self.stages: dict[str, Path] = {}
        self._tmp: tempfile.TemporaryDirectory | None = None
        self._signature: tuple | None = None  # the sources' (mtime, size) behind `stages`
        self._failed: tuple | None = None  # the signature whose error was reported
        self._builds = 0

    @classmethod
    def create(cls, folder: Path | None = None, watch: bool = False) -> "ShaderSet":
        """The shaders of `folder` (default: the project's); raises ShaderError."""
        if folder is not None and not folder.is_dir():
            raise ShaderError(f"--shaders {folder}: no such folder")
        shaders = cls(folder or SHADERS, folder is not None or watch, watch)
        shaders._signature = shaders._sources_signature()
        shaders.stages = shaders._build()
        return shaders

    def sources(self) -> list[Path]:
        """The file each stage comes from: GLSL when compiling and present, else SPIR-V."""
        found = []
        for stage in STAGES:
            glsl, spv = self.folder / f"{stage.glsl}.glsl", self.folder / f"{stage.name}.spv"
            if self.compile_glsl and glsl.is_file():
                found.append(glsl)
            elif spv.is_file():
                found.append(spv)
            elif stage.fallback is not None:
                found.append(stage.fallback)
            else:
                raise ShaderError(
                    f"--shaders {self.folder}: has neither {glsl.name} nor {spv.name}"
                )
        return found

    def _sources_signature(self) -> tuple:
        try:
            return tuple((p, p.stat().st_mtime_ns, p.stat().st_size) for p in self.sources())
        except (OSError, ShaderError) as exc:
            return (str(exc),)

    def _build(self) -> dict[str, Path]:
        """SPIR-V for each stage, compiling GLSL into fresh files (the last good ones stay)."""
        stages = {}
        self._builds += 1
        for source, stage in zip(self.sources(), STAGES, strict=True):
            if source.suffix == ".glsl":
                out_name = f"{stage.name}-{self._builds}.spv"
                stages[stage.name] = self._compile(source, out_name, stage)
                continue
            try:
                code = source.read_bytes()
            except OSError as exc:
                raise ShaderError(f"{source}: cannot read it ({exc.strerror or exc})") from None
            if len(code) < 20 or len(code) % 4 or code[:4] != SPIRV_MAGIC:
                raise ShaderError(f"{source}: is not SPIR-V")
            stages[stage.name] = source
        return stages

    def _compile(self, source: Path, out_name: str, stage: Stage) -> Path:
        glslc = shutil.which("glslc")
        if glslc is None:
            raise ShaderError(
                f"{source}: glslc is needed to compile it (Debian: apt-get install glslc)"
            )
        if self._tmp is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="zvk-shaders-")
        out = Path(self._tmp.name) / out_name
        result = subprocess.run(
            [glslc, f"-fshader-stage={stage.stage_name}", *(f"-D{d}" for d in stage.defines)]
            + [str(source), "-o", str(out)],
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            message = (result.stderr or result.stdout).strip()
            defines = "".join(f" with -D{d}" for d in stage.defines)
            raise ShaderError(f"{source}: glslc failed{defines}:\n{message}")
        return out

    def poll(self) -> bool:
        """With `watch`: True when the sources changed and compiled into new `stages`. A
        failure is logged once per change and keeps the previous stages."""
        if not self.watch:
            return False
        signature = self._sources_signature()
        if signature == self._signature:
            return False
        self._signature = signature
        try:
            stages = self._build()
        except ShaderError as exc:
            if signature != self._failed:
                log.error("%s (keeping the last good shaders)", exc)
                self._failed = signature
            return False
        old, self.stages = self.stages, stages
        self._remove_compiled(old)
        log.info("shaders rebuilt from %s", self.folder)
        return True

    def _remove_compiled(self, stages: dict[str, Path]) -> None:
        if self._tmp is not None:
            for path in stages.values():
                if path.parent == Path(self._tmp.name):
                    path.unlink(missing_ok=True)

    @teardown
    def cleanup(self) -> None:
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None


class ShaderWatch(Extra):
    """`--shaders DIR` / `--watch-shaders`: the scene's pipelines from `shaders`' files, and
    rebuilt between frames when they change; pipelines that fail keep the last good ones."""

    def __init__(self, shaders: ShaderSet) -> None:
        self.shaders = shaders

    def shader_files(self) -> dict[str, Path]:
        return dict(self.shaders.stages)

    def before_frame(self, eng_ctx: Any, render: Render, last: bool) -> None:
        if not self.shaders.poll():
            return
        try:
            render.reload_shaders(self.shader_files())
        except VulkanError as exc:
            log.error("the new shaders make no pipeline (%s); keeping the last good ones", exc)

    @teardown
    def cleanup(self, ctx: VkCtx) -> None:
        self.shaders.cleanup()


def write_committed_spirv(folder: Path = SHADERS) -> list[Path]:
    """`make shaders`: compiles the GLSL of `folder` into its SPIR-V files, one per stage of
    STAGES, each written through a temporary name and a rename; returns the files written."""
    shaders = ShaderSet.create(folder)
    try:
        written = []
        for stage in STAGES:
            compiled = shaders.stages[stage.name]
            written.append(folder / f"{stage.name}.spv")
            write_bytes_atomic(written[-1], compiled.read_bytes())
        return written
    finally:
        shaders.cleanup()


if __name__ == "__main__":  # python -m eng.extras.shader_watch [FOLDER]
    try:
        for path in write_committed_spirv(*(Path(arg) for arg in sys.argv[1:2])):
            print(path)
    except ShaderError as exc:
        raise SystemExit(str(exc)) from None
