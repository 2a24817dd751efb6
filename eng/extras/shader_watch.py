"""Shader experiments (not in the book): the scene's shaders from another folder
(`--shaders DIR`), recompiled with glslc whenever they change (`--watch-shaders`).

A folder may hold `scn_vtx.glsl` / `scn_frg.glsl` (compiled here with glslc) or `.spv` files;
GLSL wins when both are there. The instanced path's vertex shader is `scn_vtx.glsl` compiled
with -DINSTANCED, or else the folder's `scn_inst_vtx.spv`, or else the committed one. Without
a folder and without watching, the engine uses the committed SPIR-V of shaders/ and
needs no glslc. `make shaders` (`python -m eng.extras.shader_watch`) recompiles that SPIR-V.

The engine gets files of ours, in a temporary folder: glslc's output, or a copy of a folder's
`.spv` once spirv-val (Debian: spirv-tools) has found it valid SPIR-V - a driver may crash on
invalid SPIR-V, and a copy cannot change after the check. The engine then checks each shader
against its pipeline (eng/shader_check.py) and names the user's file when one does not fit.
Under `--watch-shaders` a build that fails, to compile or to fit, is logged once and the last
good shaders keep drawing.
"""

import argparse
import logging
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import vulkan as vk

from eng.com.interrupts import teardown
from eng.com.paths import SHADERS_DIR as SHADERS
from eng.com.safe_io import SHADER_LIMIT, FileProblemError, read_file, write_bytes_atomic
from eng.hooks import Extra
from eng.render import Render
from eng.spirv import SpirvError
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
TOOL_TIMEOUT_S = 60.0  # glslc or spirv-val on one file (they take milliseconds)


class ShaderError(RuntimeError):
    """A shader folder lacks a shader, or a shader does not compile or is not valid SPIR-V."""


@dataclass(frozen=True, slots=True)
class Build:
    """The SPIR-V file of each stage (by Stage name), and the files of ours among them with
    the file each comes from, as a message names it."""

    stages: dict[str, Path] = field(default_factory=dict)
    sources: dict[Path, str] = field(default_factory=dict)


class ShaderSet:
    """The scene's shaders as SPIR-V files: `current` is the build the engine draws with."""

    def __init__(self, folder: Path, compile_glsl: bool, watch: bool) -> None:
        self.folder = folder
        self.compile_glsl = compile_glsl
        self.watch = watch
        self.current = Build()
        self.sources_of: dict[Path, str] = {}  # every file of ours that exists: its source
        self._tmp: tempfile.TemporaryDirectory | None = None
        self._signature: tuple | None = None  # the sources' (mtime, size) of the last build
        self._builds = 0

    @classmethod
    def create(cls, folder: Path | None = None, watch: bool = False) -> "ShaderSet":
        """The shaders of `folder` (default: the project's); raises ShaderError."""
        if folder is not None and not folder.is_dir():
            raise ShaderError(f"--shaders {folder}: no such folder")
        shaders = cls(folder or SHADERS, folder is not None or watch, watch)
        shaders._signature = shaders._sources_signature()
        shaders.current = shaders._build()
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

    def _build(self) -> Build:
        """SPIR-V for each stage in fresh files of ours (the last good ones stay): GLSL
        compiled, SPIR-V checked and copied, the committed fallback as it is."""
        self._builds += 1
        build = Build()
        try:
            for source, stage in zip(self.sources(), STAGES, strict=True):
                out_name = f"{stage.name}-{self._builds}.spv"
                if source == stage.fallback:
                    build.stages[stage.name] = source
                    continue
                if source.suffix == ".glsl":
                    path = self._compile(source, out_name, stage)
                    shown = f"{source}{''.join(f' (with -D{d})' for d in stage.defines)}"
                else:
                    path = self._checked_copy(source, out_name)
                    shown = str(source)
                build.stages[stage.name] = path
                build.sources[path] = self.sources_of[path] = shown
        except BaseException:
            self.discard(build)
            raise
        return build

    def _out(self, name: str) -> Path:
        """A path for a file of ours."""
        if self._tmp is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="zvk-shaders-")
        return Path(self._tmp.name) / name

    def _compile(self, source: Path, out_name: str, stage: Stage) -> Path:
        glslc = shutil.which("glslc")
        if glslc is None:
            raise ShaderError(
                f"{source}: glslc is needed to compile it (Debian: apt-get install glslc)"
            )
        try:
            too_big = source.stat().st_size > SHADER_LIMIT
        except OSError as exc:
            raise ShaderError(f"{source}: cannot read it ({exc.strerror or exc})") from None
        if too_big:
            raise ShaderError(f"{source}: is larger than {SHADER_LIMIT >> 20} MiB")
        out = self._out(out_name)
        absolute = source.absolute()  # never taken for an option, whatever the folder's name
        result = _run(
            source,
            [glslc, f"-fshader-stage={stage.stage_name}", *(f"-D{d}" for d in stage.defines)]
            + [str(absolute), "-o", str(out)],
        )
        if result.returncode != 0:
            out.unlink(missing_ok=True)
            defines = "".join(f" with -D{d}" for d in stage.defines)
            first = _first_error(result, f"{absolute}:")
            raise ShaderError(f"{source}: glslc failed{defines}: {first}")
        return out

    def _checked_copy(self, source: Path, out_name: str) -> Path:
        """A copy of the SPIR-V file `source`, once spirv-val finds it valid for Vulkan 1.3."""
        try:
            code = read_file(source, SHADER_LIMIT, "a shader")
        except FileProblemError as exc:
            raise ShaderError(f"{source}: {exc}") from None
        if len(code) < 20 or len(code) % 4 or code[:4] != SPIRV_MAGIC:
            raise ShaderError(f"{source}: is not SPIR-V")
        spirv_val = shutil.which("spirv-val")
        if spirv_val is None:
            raise ShaderError(
                f"{source}: spirv-val is needed to check a SPIR-V file (Debian: apt-get "
                "install spirv-tools); or give the GLSL"
            )
        result = _run(source, [spirv_val, "--target-env", "vulkan1.3", "-"], code)
        if result.returncode != 0:
            raise ShaderError(f"{source}: is not valid SPIR-V: {_first_error(result, '')}")
        out = self._out(out_name)
        out.write_bytes(code)
        return out

    def poll(self) -> Build | None:
        """With `watch`: a new build when the sources changed and it compiled, for the engine
        to try (then `accept` or `discard`); a failure is logged once per change."""
        if not self.watch:
            return None
        signature = self._sources_signature()
        if signature == self._signature:
            return None
        self._signature = signature
        try:
            return self._build()
        except ShaderError as exc:
            log.error("%s (keeping the last good shaders)", exc)
            return None

    def accept(self, build: Build) -> None:
        """The engine draws with `build` now: the files of the build before it go."""
        old, self.current = self.current, build
        self.discard(old)

    def discard(self, build: Build) -> None:
        """Removes the files of ours in `build`."""
        for path in build.sources:
            path.unlink(missing_ok=True)
            self.sources_of.pop(path, None)

    @teardown
    def cleanup(self) -> None:
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None


def _run(source: Path, args: list[str], data: bytes = b"") -> subprocess.CompletedProcess:
    """A tool run on `source` (glslc, spirv-val), its output kept; ShaderError if it hangs."""
    tool = Path(args[0]).name
    try:
        return subprocess.run(args, input=data, capture_output=True, timeout=TOOL_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise ShaderError(f"{source}: {tool} did not finish in {TOOL_TIMEOUT_S:.0f} s") from None
    except OSError as exc:
        raise ShaderError(f"{source}: cannot run {tool} ({exc.strerror or exc})") from None


def _first_error(result: subprocess.CompletedProcess, prefix: str) -> str:
    """A tool's first error, `prefix` (the file's path) made `line `, and how many follow."""
    text = (result.stderr or result.stdout).decode("utf-8", "replace")
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    errors = [line for line in lines if "error:" in line] or lines or ["no message"]
    first = errors[0].removeprefix("error: ")
    if prefix and first.startswith(prefix):
        first = f"line {first[len(prefix) :]}"
    more = len(errors) - 1
    return f"{first} (and {more} more error{'s' if more > 1 else ''})" if more else first


class ShaderWatch(Extra):
    """`--shaders DIR` / `--watch-shaders`: the scene's pipelines from `shaders`' files, and
    rebuilt between frames when they change; shaders that fail keep the last good ones."""

    def __init__(self, shaders: ShaderSet) -> None:
        self.shaders = shaders

    def shader_files(self) -> dict[str, Path]:
        return dict(self.shaders.current.stages)

    def shader_sources(self) -> dict[Path, str]:
        return dict(self.shaders.sources_of)

    def before_frame(self, eng_ctx: Any, render: Render, last: bool) -> None:
        build = self.shaders.poll()
        if build is None:
            return
        try:
            render.reload_shaders(build.stages)
        except (SpirvError, VulkanError) as exc:
            self.shaders.discard(build)
            log.error("%s (keeping the last good shaders)", exc)
            return
        self.shaders.accept(build)
        log.info("shaders rebuilt from %s", self.shaders.folder)

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
            compiled = shaders.current.stages[stage.name]
            written.append(folder / f"{stage.name}.spv")
            write_bytes_atomic(written[-1], compiled.read_bytes())
        return written
    finally:
        shaders.cleanup()


if __name__ == "__main__":  # make shaders
    parser = argparse.ArgumentParser(
        prog="python -m eng.extras.shader_watch",
        description="Compile the GLSL of a shader folder into its committed SPIR-V.",
    )
    parser.add_argument("folder", nargs="?", type=Path, default=SHADERS, help=f"default: {SHADERS}")
    try:
        for path in write_committed_spirv(parser.parse_args().folder):
            print(path)
    except ShaderError as exc:
        raise SystemExit(str(exc)) from None
