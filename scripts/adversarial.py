"""An adversarial pass over `python -m game` and `python -m eng.model_gen` (issue 11).

    python scripts/adversarial.py [--sample N] [--seed S] [--classes 2,3] [--json] [-k WORD]

Each case builds its own folder of files (a cube in the book's format, a scene, a cfg.toml
...), breaks one thing in it and runs the program as a subprocess with a timeout. A case is
clean when the exit status is the expected one, stderr is exactly one line (none for a clean
run) without "Traceback", no validation message appeared, none of the user's files changed and
no temporary file was left behind. Prints `cases tried / clean`, with `--json` a JSON summary
too.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import random
import resource
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
import zlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CRATE = ROOT / "resources" / "scene" / "crate"
QUICK = ["--headless", "--frames", "1", "--size", "32x24"]
# not counted on stderr: Mesa's own line when XDG_CACHE_HOME is not a folder, and the
# converter's progress lines (it logs each mesh and texture when stderr is not a terminal)
FOREIGN = ("Cannot use ", "model_gen: mesh ", "model_gen: texture ")


@dataclass
class Case:
    name: str
    cls: str  # the class: "2 numbers", "3 special files", ...
    args: list[str]  # after `python -m`
    setup: Callable[[Path], None] = lambda d: None
    status: tuple[int, ...] = (1,)
    env: dict[str, str] = field(default_factory=dict)
    lines: int | None = 1  # lines expected on stderr; None: one if it fails, none if not
    signal_after: float | None = None  # send `signum` after this many seconds
    signum: int = signal.SIGINT
    stdout: str | None = None  # a file for the program's standard output (/dev/full ...)
    memory_limit: int | None = None  # bytes of address space


# --- building blocks --------------------------------------------------------------------------


def cube(d: Path) -> None:
    """A textured cube in the book's format (cube.json, .vtx, .idx, -mat.json, cube_base.png),
    made from the project's own crate so that no book data is needed."""
    for suffix in (".vtx", ".idx"):
        shutil.copy(CRATE / f"crate{suffix}", d / f"cube{suffix}")
    shutil.copy(CRATE / "crate.png", d / "cube_base.png")
    model = json.loads((CRATE / "crate.json").read_text())
    model.update(id="cube", vtxFilename="cube.vtx", idxFilename="cube.idx")
    (d / "cube.json").write_text(json.dumps(model))
    materials = json.loads((CRATE / "crate-mat.json").read_text())
    materials["items"][0]["texturePath"] = "cube_base.png"
    (d / "cube-mat.json").write_text(json.dumps(materials))


def scene(d: Path, **changes) -> None:
    cube(d)
    doc = {
        "models": ["cube.json"],
        "entities": [{"id": "e", "model": "cube", "pos": [0, 0, -3]}],
        "camera": {"pos": [0, 0, 0], "pitch": 0, "yaw": -90},
    } | changes
    (d / "scene.json").write_text(json.dumps(doc))


def splice(d: Path, file: str, old: str, new: str) -> None:
    path = d / file
    path.write_text(path.read_text().replace(old, new, 1))


def special(d: Path, name: str, kind: str) -> None:
    path = d / name
    path.unlink(missing_ok=True)
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "zero":
        path.symlink_to("/dev/zero")
    elif kind == "folder":
        path.mkdir()
    elif kind == "sparse":
        with open(path, "wb") as f:
            f.truncate(3 * 2**30)
    elif kind == "dangling":
        path.symlink_to(d / "nowhere")
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "garbage":
        path.write_bytes(random.Random(name).randbytes(300))


def glb_box(d: Path, name: str = "box.glb") -> None:
    subprocess.run(
        [sys.executable, "-c", GLB_BOX, str(d / name)], check=True, env=_env({}), cwd=ROOT
    )


GLB_BOX = "import sys, trimesh; trimesh.creation.box().export(sys.argv[1], file_type='glb')"


def gltf(d: Path, extra_node: dict | None = None, raw: str | None = None) -> None:
    positions = struct.pack("<9f", 0, 0, 0, 1, 0, 0, 0, 1, 0)
    (d / "t.bin").write_bytes(positions)
    doc = {
        "asset": {"version": "2.0"},
        "scene": 0,
        "scenes": [{"nodes": [0]}],
        "nodes": [{"mesh": 0} | (extra_node or {})],
        "meshes": [{"primitives": [{"attributes": {"POSITION": 0}}]}],
        "buffers": [{"uri": "t.bin", "byteLength": 36}],
        "bufferViews": [{"buffer": 0, "byteLength": 36}],
        "accessors": [{"bufferView": 0, "componentType": 5126, "count": 3, "type": "VEC3",
                       "min": [0, 0, 0], "max": [1, 1, 0]}],
    }  # fmt: skip
    text = json.dumps(doc)
    (d / "t.gltf").write_text(text if raw is None else text.replace('"@@"', raw))


def deep(n: int) -> str:
    return "[" * n + "]" * n


# --- the cases --------------------------------------------------------------------------------

HOSTILE_NUMBERS = ["NaN", "Infinity", "-Infinity", "1e400", "9" * 400, "9" * 5000, "1e300",
                   "3e38", "1e20", "-1e12", "0", "-1"]  # fmt: skip
SCENE_SLOTS = {  # where in a scene file a number goes (a hole "@@" to splice into)
    "scale": {"entities": [{"id": "e", "model": "cube", "pos": [0, 0, -3], "scale": "@@"}]},
    "pos": {"entities": [{"id": "e", "model": "cube", "pos": [0, "@@", -3]}]},
    "rotation": {"entities": [{"id": "e", "model": "cube", "pos": [0, 0, -3],
                               "rotation": [0, "@@", 0]}]},
    "yaw": {"camera": {"pos": [0, 0, 0], "pitch": 0, "yaw": "@@"}},
    "pitch": {"camera": {"pos": [0, 0, 0], "pitch": "@@", "yaw": -90}},
    "camera-pos": {"camera": {"pos": ["@@", 0, 0], "pitch": 0, "yaw": -90}},
}  # fmt: skip
MODEL_KEYS = ["idxOffset", "idxSize", "vtxOffset", "vtxSize"]
CFG_KEYS = ["fov", "ups", "zNear", "zFar", "swapChainImages"]
CFG_VALUES = ["nan", "inf", "-inf", "1e400", "9" * 400, "9" * 5000, "1e300", "0", "-5"]
SPECIAL_KINDS = ["fifo", "zero", "folder", "sparse", "dangling", "empty", "garbage"]


def _number_cases() -> list[Case]:
    cases = []
    for slot, changes in SCENE_SLOTS.items():
        for number in HOSTILE_NUMBERS:
            ok = number in ("0", "-1", "1e20") and slot not in ("scale",)
            ok = ok and not (number == "1e20" and slot in ("pos", "rotation", "camera-pos",
                                                           "yaw", "pitch"))  # fmt: skip
            cases.append(Case(
                f"scene {slot} = {number[:12]}", "2 numbers",
                ["game", *QUICK, "--scene", "scene.json"],
                lambda d, c=changes, n=number: (scene(d, **c),
                                                splice(d, "scene.json", '"@@"', n)),
                status=(0,) if ok else (1,), lines=0 if ok else 1,
            ))  # fmt: skip
    for key in MODEL_KEYS:
        for number in ("9" * 400, "1e400", "NaN", "-Infinity", "1.5", "-4"):
            cases.append(Case(
                f"model {key} = {number[:12]}", "2 numbers",
                ["game", *QUICK, "--scene", "cube.json"],
                lambda d, k=key, n=number: (cube(d), _set_model_key(d, k, n)),
            ))  # fmt: skip
    for number in ("NaN", "Infinity", "1e300", "1e30", "2", "-0.5", "9" * 400):
        cases.append(Case(
            f"colour = {number[:12]}", "2 numbers", ["game", *QUICK, "--scene", "cube.json"],
            lambda d, n=number: (cube(d), _set_colour(d, n)),
        ))  # fmt: skip
    for value in (3e38, -1e20, 1e10, float("nan"), float("inf")):
        cases.append(Case(
            f"vertex = {value:g}", "2 numbers", ["game", *QUICK, "--scene", "cube.json"],
            lambda d, v=value: (cube(d), _set_vertex(d, v)),
        ))  # fmt: skip
    for key in CFG_KEYS:
        for value in CFG_VALUES:
            cases.append(Case(
                f"cfg {key} = {value[:12]}", "2 numbers", ["game", "--config", "cfg.toml", *QUICK],
                lambda d, k=key, v=value: (d / "cfg.toml").write_text(f"{k} = {v}\n"),
            ))  # fmt: skip
    for node in ({"translation": "@@"}, {"scale": "@@"}):
        for raw in ("[1e300, 0, 0]", "[1e20, 1, 1]", "[NaN, 0, 0]"):
            cases.append(Case(
                f"glTF {next(iter(node))} {raw}", "2 numbers",
                ["eng.model_gen", "t.gltf", "out"],
                lambda d, n=node, r=raw: gltf(d, n, r),
            ))  # fmt: skip
    return cases


def _set_model_key(d: Path, key: str, number: str) -> None:
    doc = json.loads((d / "cube.json").read_text())
    doc["meshes"]["items"][0][key] = "@@"
    (d / "cube.json").write_text(json.dumps(doc).replace('"@@"', number))


def _set_colour(d: Path, number: str) -> None:
    path = d / "cube-mat.json"
    doc = json.loads(path.read_text())
    items = doc["items"] if isinstance(doc, dict) else doc
    items[0]["color"][0] = "@@"
    path.write_text(json.dumps(doc).replace('"@@"', number))


def _set_vertex(d: Path, value: float) -> None:
    data = bytearray((d / "cube.vtx").read_bytes())
    struct.pack_into("<f", data, 20 * 3 + 4, value)
    (d / "cube.vtx").write_bytes(bytes(data))


def _file_cases() -> list[Case]:
    cases = []
    roles = {  # (file broken, command)
        "scene": ("scene.json", ["game", *QUICK, "--scene", "scene.json"]),
        "model": ("cube.json", ["game", *QUICK, "--scene", "scene.json"]),
        "materials": ("cube-mat.json", ["game", *QUICK, "--scene", "scene.json"]),
        "vtx": ("cube.vtx", ["game", *QUICK, "--scene", "scene.json"]),
        "idx": ("cube.idx", ["game", *QUICK, "--scene", "scene.json"]),
        "cfg": ("cfg.toml", ["game", "--config", "cfg.toml", *QUICK]),
        "glTF": ("t.gltf", ["eng.model_gen", "t.gltf", "out"]),
        "glTF .bin": ("t.bin", ["eng.model_gen", "t.gltf", "out"]),
        "glTF scene": ("t.gltf", ["game", *QUICK, "--scene", "t.gltf"]),
    }
    for role, (file, args) in roles.items():
        for kind in SPECIAL_KINDS:
            if kind == "sparse" and role in ("vtx", "idx", "glTF .bin"):
                continue  # within their 2 GiB limit: sizes are checked, not memory
            fine = role == "cfg" and kind == "empty"  # an empty cfg.toml: all defaults
            cases.append(Case(
                f"{role} is {kind}", "3 special files", args,
                lambda d, f=file, k=kind: (scene(d), gltf(d), special(d, f, k)),
                status=(0,) if fine else (1,), lines=0 if fine else 1,
            ))  # fmt: skip
    for kind in ("fifo", "zero", "folder", "garbage", "empty"):
        # an unusable texture is a warning; the cube renders in its material colour
        cases.append(Case(
            f"texture is {kind}", "3 special files", ["game", *QUICK, "--scene", "scene.json"],
            lambda d, k=kind: (scene(d), special(d, "cube_base.png", k)), status=(0,),
        ))  # fmt: skip
    return cases


def _nesting_cases() -> list[Case]:
    cases = []
    for depth in (100_000, 1000, 65):
        for file, args in (
            ("scene.json", ["game", *QUICK, "--scene", "scene.json"]),
            ("cube.json", ["game", *QUICK, "--scene", "scene.json"]),
            ("cube-mat.json", ["game", *QUICK, "--scene", "scene.json"]),
            ("t.gltf", ["eng.model_gen", "t.gltf", "out"]),
        ):
            cases.append(Case(
                f"{file} nested {depth}", "4 nesting", args,
                lambda d, f=file, n=depth: (scene(d), gltf(d), (d / f).write_text(deep(n))),
            ))  # fmt: skip
        for text in ("fov = " + "[" * depth, "fov = " + "{a = " * depth, f"x = {deep(depth)}"):
            cases.append(Case(
                f"cfg {text[:8]} nested {depth}", "4 nesting",
                ["game", "--config", "cfg.toml", *QUICK],
                lambda d, t=text: (d / "cfg.toml").write_text(t),
            ))  # fmt: skip
    cases.append(Case(
        "glTF extras nested 100000", "4 nesting", ["eng.model_gen", "t.gltf", "out"],
        lambda d: gltf(d, {"extras": "@@"}, deep(100_000)),
    ))  # fmt: skip
    return cases


def _environment_cases() -> list[Case]:
    cases = []
    for var in ("VK_DRIVER_FILES", "VK_ICD_FILENAMES"):
        for content in ("{garbage", "", '{"file_format_version": "1.0.0"}', "[]"):
            for args in (QUICK, ["--list-gpus"], ["--info"]):
                cases.append(Case(
                    f"{var}={content[:10]!r} {args[0]}", "7 environment", ["game", *args],
                    lambda d, c=content: (d / "icd.json").write_text(c),
                    env={var: "icd.json"},
                ))  # fmt: skip
    cases.append(Case(
        "XDG_CACHE_HOME is a file, glb scene", "7 environment",
        ["game", *QUICK, "--scene", "box.glb"],
        lambda d: ((d / "xdg").write_text("user"), glb_box(d)), env={"XDG_CACHE_HOME": "xdg"},
    ))  # fmt: skip
    cases.append(Case(
        "XDG_CACHE_HOME is a file, default scene", "7 environment",
        ["game", *QUICK, "--screenshot", "s.png"], lambda d: (d / "xdg").write_text("user"),
        env={"XDG_CACHE_HOME": "xdg"}, status=(0,), lines=1,
    ))  # fmt: skip
    for path in ("/nonexistent", "."):
        cases.append(Case(
            f"SDL_BINARY_PATH={path} --info", "7 environment", ["game", "--info"],
            env={"SDL_BINARY_PATH": path}, status=(0,), lines=0,
        ))  # fmt: skip
    return cases


def _lost_data_cases() -> list[Case]:
    cases = []
    for name in ("../x", "a/b", "..", ".hidden", "a\\b", "/tmp/zvk-abs"):
        cases.append(Case(
            f"model_gen --name {name}", "8 lost data",
            ["eng.model_gen", "t.gltf", "out", "--name", name], gltf,
        ))  # fmt: skip
    for existing in ("t.json", "t.vtx", "t.idx", "t-mat.json"):
        cases.append(Case(
            f"model_gen over an existing {existing}", "8 lost data",
            ["eng.model_gen", "t.gltf", "out"],
            lambda d, e=existing: (gltf(d), (d / "out").mkdir(), (d / "out" / e).write_text("u")),
        ))  # fmt: skip
    cases.append(Case(
        "model_gen --force into its own folder, .bin named t.idx", "8 lost data",
        ["eng.model_gen", "t.gltf", ".", "--force"], lambda d: (gltf(d), _bin_as_idx(d)),
    ))  # fmt: skip
    cases.append(Case(
        "model_gen input named like an output", "8 lost data",
        ["eng.model_gen", "t.vtx", ".", "--name", "t", "--force"],
        lambda d: (glb_box(d, "t.vtx"),),
    ))  # fmt: skip
    for bench in ("/proc/zvk.json", "/sys/zvk.json", "missing/b.json", ".", "/dev/null"):
        cases.append(Case(
            f"--bench {bench}", "8 lost data", ["game", *QUICK, "--bench", bench], status=(2,),
        ))  # fmt: skip
    for shot in ("/proc/x.png", "missing/x.png", ".", "x.jpg"):
        cases.append(Case(
            f"--screenshot {shot}", "8 lost data", ["game", *QUICK, "--screenshot", shot],
            status=(2,),
        ))  # fmt: skip
    for delay in (1.5, 2.5, 3.5):
        cases.append(Case(
            f"Ctrl-C after {delay} s over an old screenshot", "1 interrupts",
            ["game", "--headless", "--frames", "100000", "--size", "64x48",
             "--screenshot", "old.png"],
            lambda d: (d / "old.png").write_bytes(b"the user's screenshot"),
            status=(130,), signal_after=delay,
        ))  # fmt: skip
    return cases


def _bin_as_idx(d: Path) -> None:
    (d / "t.bin").rename(d / "t.idx")
    splice(d, "t.gltf", '"t.bin"', '"t.idx"')


def _part_a_cases() -> list[Case]:
    """Classes 1, 5, 6, 10, 11 (part A of the issue): clean once part A is in."""
    cases = []
    for delay in (0.05, 0.15, 0.4, 0.8, 1.2, 2.0):
        cases.append(Case(
            f"Ctrl-C after {delay} s", "1 interrupts",
            ["game", "--headless", "--frames", "100000", "--size", "64x48", "--validation",
             "--scene", "scene.json"],
            scene, status=(130,), signal_after=delay,
        ))  # fmt: skip
    cases.append(Case(
        "texture wider than the device allows", "5 device limits",
        ["game", *QUICK, "--validation", "--scene", "scene.json"],
        lambda d: (scene(d), _wide_png(d / "cube_base.png")), status=(0, 1),
    ))  # fmt: skip
    for limit in (1200, 1600, 2200):
        cases.append(Case(
            f"address space {limit} MiB", "6 out of memory",
            ["game", *QUICK, "--scene", "scene.json"], scene, status=(0, 1),
            memory_limit=limit * 2**20, lines=None,
        ))  # fmt: skip
    cases.append(Case(
        "--frames 0", "10 window", ["game", "--headless", "--frames", "0"], status=(2,),
    ))  # fmt: skip
    return cases


def _wide_png(path: Path) -> None:
    path.unlink()
    path.write_bytes(png(40000, 1))  # a valid 1 x 40000 PNG


def png(width: int, height: int, rows: int | None = None) -> bytes:
    """A grey RGB PNG, written without Pillow's encoder (header, one IDAT, end); with `rows`,
    the IDAT holds that many rows only (a header of a larger image: a decompression bomb)."""
    raw = (b"\0" + b"\x80\x80\x80" * width) * (height if rows is None else rows)
    chunks = [(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)),
              (b"IDAT", zlib.compress(raw)), (b"IEND", b"")]  # fmt: skip
    return b"\x89PNG\r\n\x1a\n" + b"".join(
        struct.pack(">I", len(c)) + t + c + struct.pack(">I", zlib.crc32(t + c)) for t, c in chunks
    )


# --- the hardening issue: the converter (H2), its cache (H3), node graphs (H9) --------------

CONVERT = ["eng.model_gen", "t.gltf", "out"]
TEXTURE = {"pbrMetallicRoughness": {"baseColorTexture": {"index": 0}}}


def textured(d: Path, image: dict | None = None, extra: bytes = b"", **changes) -> None:
    """A one-triangle t.gltf with UVs (t.bin: positions, uvs, then `extra` as bufferView 2)
    whose material's base colour texture is `image` (default: tex.png, written here);
    `changes` replace top-level keys."""
    data = struct.pack("<9f", 0, 0, 0, 1, 0, 0, 0, 1, 0) + struct.pack("<6f", 0, 0, 1, 0, 0, 1)
    (d / "t.bin").write_bytes(data + extra)
    (d / "tex.png").write_bytes(png(4, 4))
    doc = {
        "asset": {"version": "2.0"}, "scene": 0, "scenes": [{"nodes": [0]}],
        "nodes": [{"mesh": 0}],
        "meshes": [{"primitives": [{"attributes": {"POSITION": 0, "TEXCOORD_0": 1},
                                    "material": 0}]}],
        "materials": [TEXTURE], "textures": [{"source": 0}],
        "images": [image or {"uri": "tex.png"}],
        "buffers": [{"uri": "t.bin", "byteLength": 60 + len(extra)}],
        "bufferViews": [{"buffer": 0, "byteLength": 36},
                        {"buffer": 0, "byteOffset": 36, "byteLength": 24},
                        {"buffer": 0, "byteOffset": 60, "byteLength": len(extra)}],
        "accessors": [{"bufferView": 0, "componentType": 5126, "count": 3, "type": "VEC3",
                       "min": [0, 0, 0], "max": [1, 1, 0]},
                      {"bufferView": 1, "componentType": 5126, "count": 3, "type": "VEC2"}],
    } | changes  # fmt: skip
    (d / "t.gltf").write_text(json.dumps(doc))


def edit_gltf(d: Path, change: Callable[[dict], object]) -> None:
    doc = json.loads((d / "t.gltf").read_text())
    change(doc)
    (d / "t.gltf").write_text(json.dumps(doc))


def as_glb(d: Path) -> None:
    """t.gltf and t.bin become t.glb (t.bin as its binary chunk)."""
    doc = json.loads((d / "t.gltf").read_text())
    binary = (d / doc["buffers"][0].pop("uri")).read_bytes()
    binary += b"\0" * (-len(binary) % 4)
    text = json.dumps(doc).encode()
    text += b" " * (-len(text) % 4)
    body = struct.pack("<II", len(text), 0x4E4F534A) + text
    body += struct.pack("<II", len(binary), 0x004E4942) + binary
    (d / "t.glb").write_bytes(struct.pack("<4sII", b"glTF", 2, 12 + len(body)) + body)


def obj(d: Path, mtl: str | None = "newmtl m\nKd 1 1 1\nmap_Kd tex.png\n") -> None:
    """t.obj, a triangle with UVs using material m of t.mtl (`mtl`, None: no file)."""
    (d / "t.obj").write_text("mtllib t.mtl\nv 0 0 0\nv 1 0 0\nv 0 1 0\nvt 0 0\nvt 1 0\n"
                             "vt 0 1\nusemtl m\nf 1/1 2/2 3/3\n")  # fmt: skip
    (d / "tex.png").write_bytes(png(4, 4))
    if mtl is not None:
        (d / "t.mtl").write_text(mtl)


TEXTURE_FILES = {  # a texture file the model names, and what it is
    "missing": None,
    "a folder": "folder",
    "a FIFO": "fifo",
    "/dev/zero": "zero",
    "a dangling link": "dangling",
    "empty": "empty",
    "garbage": "garbage",
    "sparse 3 GiB": "sparse",
    "an SVG": b'<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"/>',
    "a decompression bomb": png(20000, 20000, rows=1),
    "a truncated PNG": png(64, 64)[:40],
    "a PNG without its end": png(64, 64)[:-30],
    "a link out of the folder": "../outside.png",
    "a JPEG header only": b"\xff\xd8\xff\xe0\x00\x10JFIF\x00",
}
BAD_IMAGES = {  # a glTF image object that gives no usable texture
    "a data URI without a comma": {"uri": "data:image/png;base64"},
    "a data URI of @@@@": {"uri": "data:image/png;base64,@@@@"},
    "a data URI of text": {"uri": "data:,hello"},
    "a data URI of half a PNG": {"uri": "data:image/png;base64,iVBORw0KGgo="},
    "a path out of the folder": {"uri": "../outside.png"},
    "an absolute path": {"uri": "/etc/hostname"},
    "a uri that is a number": {"uri": 7},
    "an empty uri": {"uri": ""},
    "a KTX2 image": {"uri": "k.ktx2", "mimeType": "image/ktx2"},
    "embedded garbage": {"bufferView": 2, "mimeType": "image/png"},
    "a bufferView out of range": {"bufferView": 9},
    "neither uri nor bufferView": {"mimeType": "image/png"},
}
BAD_REFERENCES = {  # a change of the document that leaves the material without its texture
    "a texture index out of range": lambda doc: doc["materials"][0]["pbrMetallicRoughness"][
        "baseColorTexture"
    ].update(index=4),  # fmt: skip
    "a texture index that is a string": lambda doc: doc["materials"][0]["pbrMetallicRoughness"][
        "baseColorTexture"
    ].update(index="0"),  # fmt: skip
    "an image index out of range": lambda doc: doc["textures"][0].update(source=3),
    "textures not objects": lambda doc: doc.update(textures=[7]),
    "images not objects": lambda doc: doc.update(images=["tex.png"]),
}


def _texture_file(d: Path, kind: str | bytes | None) -> None:
    (d.parent / "outside.png").write_bytes(png(4, 4))
    if isinstance(kind, bytes):
        (d / "x.png").write_bytes(kind)
    elif kind == "../outside.png":
        (d / "x.png").symlink_to(d.parent / "outside.png")
    elif kind is not None:
        special(d, "x.png", kind)


def _converter_cases() -> list[Case]:
    cases = []
    for what, kind in TEXTURE_FILES.items():  # warned about, dropped; the model converts
        cases.append(Case(
            f"glTF texture is {what}", "H2 converter", CONVERT,
            lambda d, k=kind: (textured(d, {"uri": "x.png"}), _texture_file(d, k)), status=(0,),
        ))  # fmt: skip
        cases.append(Case(
            f"OBJ texture is {what}", "H2 converter", ["eng.model_gen", "t.obj", "out"],
            lambda d, k=kind: (obj(d, "newmtl m\nmap_Kd x.png\n"), _texture_file(d, k)),
            status=(0,),
        ))  # fmt: skip
    for what, image in BAD_IMAGES.items():
        cases.append(Case(
            f"glTF image: {what}", "H2 converter", CONVERT,
            lambda d, i=image: (textured(d, i, b"not an image at all"), _texture_file(d, None)),
            status=(0,),
        ))  # fmt: skip
    for what, change in BAD_REFERENCES.items():
        cases.append(Case(
            f"glTF {what}", "H2 converter", CONVERT,
            lambda d, c=change: (textured(d), edit_gltf(d, c)), status=(0,),
        ))  # fmt: skip
    cases.append(Case(
        "GLB with an embedded image of garbage", "H2 converter",
        ["eng.model_gen", "t.glb", "out"],
        lambda d: (textured(d, {"bufferView": 2}, b"garbage!"), as_glb(d)), status=(0,),
    ))  # fmt: skip
    for what, mtl in (("missing", None), ("a FIFO", "fifo"), ("a folder", "folder"),
                      ("/dev/zero", "zero"), ("garbage", "garbage")):  # fmt: skip
        cases.append(Case(
            f"OBJ material library is {what}", "H2 converter", ["eng.model_gen", "t.obj", "out"],
            lambda d, k=mtl: (obj(d), special(d, "t.mtl", k) if k else (d / "t.mtl").unlink()),
            status=(0,),
            lines=0 if mtl == "garbage" else 1,  # garbage: no material, nothing it names
        ))  # fmt: skip
    fine = {  # converted with their textures: no line on stderr
        "glTF percent-encoded .bin and texture": lambda d: (
            textured(d, {"uri": "my%20tex%25.png"}),
            (d / "t.bin").rename(d / "m y.bin"),
            (d / "tex.png").rename(d / "my tex%.png"),
            edit_gltf(d, lambda doc: doc["buffers"][0].update(uri="m%20y.bin")),
        ),
        "glTF texture named like the model's .json": lambda d: (
            textured(d, {"uri": "t.json"}),
            (d / "t.json").write_bytes(png(4, 4)),
        ),
        "glTF texture named like a hidden file": lambda d: (
            textured(d, {"uri": ".hidden.png"}),
            (d / ".hidden.png").write_bytes(png(4, 4)),
        ),
        "glTF two materials sharing a texture": lambda d: (
            textured(d),
            edit_gltf(d, lambda doc: doc["materials"].append(TEXTURE)),
        ),
        "glTF a data URI texture": lambda d: textured(
            d, {"uri": "data:image/png;base64," + base64.b64encode(png(4, 4)).decode()}
        ),
        "OBJ map_Kd with options": lambda d: obj(d, "newmtl m\nmap_Kd -s 1 1 1 -bm 1 tex.png\n"),
        "OBJ map_Kd with a Windows path": lambda d: obj(d, "newmtl m\nmap_Kd C:\\a\\tex.png\n"),
        "glTF a chain of 3000 nodes": lambda d: textured(
            d, nodes=[{"children": [i + 1]} for i in range(2999)] + [{"mesh": 0}]
        ),
    }
    for what, setup in fine.items():
        args = ["eng.model_gen", "t.obj", "out"] if what.startswith("OBJ") else CONVERT
        cases.append(Case(what, "H2 converter", args, setup, status=(0,), lines=0))
    refused = {  # what the engine would refuse, and glTF it cannot be: one line, status 1
        "indices out of range": lambda d: _indexed(d, [0, 1, 7]),
        "an index count of 0": lambda d: _indexed(d, [0, 1, 2], count=0),
        "a position count of 0": lambda d: edit_gltf(
            d, lambda doc: doc["accessors"][0].update(count=0)
        ),  # fmt: skip
        "a position count of -3": lambda d: edit_gltf(
            d, lambda doc: doc["accessors"][0].update(count=-3)
        ),  # fmt: skip
        "a position count of 1e9": lambda d: edit_gltf(
            d, lambda doc: doc["accessors"][0].update(count=10**9)
        ),  # fmt: skip
        "a position count that is a string": lambda d: edit_gltf(
            d, lambda doc: doc["accessors"][0].update(count="3")
        ),
        "a position count of 1.5": lambda d: edit_gltf(
            d, lambda doc: doc["accessors"][0].update(count=1.5)
        ),  # fmt: skip
        "a triangle strip of 2 vertices": lambda d: edit_gltf(d, _strip_of_two),
        "points only": lambda d: edit_gltf(
            d, lambda doc: doc["meshes"][0]["primitives"][0].update(mode=0)
        ),  # fmt: skip
        "lines only": lambda d: edit_gltf(
            d, lambda doc: doc["meshes"][0]["primitives"][0].update(mode=1)
        ),  # fmt: skip
        "no primitives": lambda d: edit_gltf(
            d, lambda doc: doc["meshes"][0].update(primitives=[])
        ),  # fmt: skip
        "no meshes": lambda d: edit_gltf(
            d, lambda doc: (doc.update(meshes=[]), doc["nodes"][0].pop("mesh"))
        ),
        "a node's mesh out of range": lambda d: edit_gltf(
            d, lambda doc: doc["nodes"][0].update(mesh=5)
        ),  # fmt: skip
        "accessors not a list": lambda d: edit_gltf(d, lambda doc: doc.update(accessors={})),
        "an image's bufferView past its buffer": lambda d: edit_gltf(
            d,
            lambda doc: (
                doc["images"][0].update(bufferView=2),
                doc["bufferViews"][2].update(byteLength=99),
            ),
        ),
    }
    for what, change in refused.items():
        cases.append(Case(
            f"glTF with {what}", "H2 converter", CONVERT, lambda d, c=change: (textured(d), c(d)),
        ))  # fmt: skip
    cases.append(Case(
        "input in a folder that does not exist", "H2 converter",
        ["eng.model_gen", "nowhere/t.gltf", "out"],
    ))  # fmt: skip
    cases.append(Case(
        "--force with a folder where t-mat.json goes", "H2 converter", [*CONVERT, "--force"],
        lambda d: (textured(d), (d / "out" / "t-mat.json").mkdir(parents=True),
                   (d / "out" / "t.vtx").write_bytes(b"the user's")),
    ))  # fmt: skip
    for force in ([], ["--force"]):  # another model's texture of the same name stays as it is
        cases.append(Case(
            f"another model's texture of the same name {force}", "H2 converter",
            ["eng.model_gen", "t.gltf", "out", *force],
            lambda d: ((d / "out").mkdir(), cube(d / "out"), textured(d, {"uri": "cube_base.png"}),
                       (d / "cube_base.png").write_bytes(png(4, 4))),
            status=(0,) if force else (1,), lines=0 if force else 1,
        ))  # fmt: skip
    return cases


def _indexed(d: Path, indices: list[int], count: int | None = None) -> None:
    textured(d, extra=struct.pack(f"<{len(indices)}I", *indices))

    def add(doc: dict) -> None:
        doc["accessors"].append({"bufferView": 2, "componentType": 5125, "type": "SCALAR",
                                 "count": len(indices) if count is None else count})  # fmt: skip
        doc["meshes"][0]["primitives"][0]["indices"] = 2

    edit_gltf(d, add)


def _strip_of_two(doc: dict) -> None:
    doc["meshes"][0]["primitives"][0]["mode"] = 5
    doc["accessors"][0]["count"] = doc["accessors"][1]["count"] = 2


NODE_GRAPHS = {
    "a node its own child": [{"mesh": 0, "children": [0]}],
    "a cycle of two": [{"children": [1]}, {"mesh": 0, "children": [0]}],
    "a cycle of three under the root": [{"mesh": 0, "children": [1]}, {"children": [2]},
                                        {"children": [3]}, {"children": [1]}],
    "a cycle apart from the scene": [{"mesh": 0}, {"children": [2]}, {"children": [1]}],
    "a node with two parents": [{"children": [2, 1]}, {"children": [2]}, {"mesh": 0}],
    "a child listed twice": [{"children": [1, 1]}, {"mesh": 0}],
    "a child out of range": [{"mesh": 0, "children": [9]}],
    "a negative child": [{"mesh": 0, "children": [-1]}],
    "a child that is a string": [{"mesh": 0, "children": ["1"]}, {}],
    "a child that is 1.0": [{"mesh": 0, "children": [1.0]}, {}],
    "a child that is true": [{"mesh": 0, "children": [True]}, {}],
    "children not a list": [{"mesh": 0, "children": 1}, {}],
    "a node that is a list": [[0]],
    "a cycle of 5000 nodes": [{"mesh": 0, "children": [1]}] + [
        {"children": [(i + 2) % 5000]} for i in range(4999)],
}  # fmt: skip
SCENE_ROOTS = {
    "a scene root with a parent": ([{"mesh": 0, "children": [1]}, {"mesh": 0}], [0, 1]),
    "a scene root out of range": ([{"mesh": 0}], [0, 3]),
    "scene nodes not a list": ([{"mesh": 0}], 0),
}


def _node_graph_cases() -> list[Case]:
    cases = []
    graphs = {k: (v, [0]) for k, v in NODE_GRAPHS.items()} | SCENE_ROOTS
    for what, (nodes, roots) in graphs.items():
        cases.append(Case(
            f"glTF {what}", "H9 node graph", CONVERT,
            lambda d, n=nodes, r=roots: textured(d, nodes=n, scenes=[{"nodes": r}]),
        ))  # fmt: skip
        cases.append(Case(
            f"GLB {what}", "H9 node graph", ["eng.model_gen", "t.glb", "out"],
            lambda d, n=nodes, r=roots: (textured(d, nodes=n, scenes=[{"nodes": r}]), as_glb(d)),
        ))  # fmt: skip
    for what in ("a node its own child", "a cycle of two", "a node with two parents"):
        cases.append(Case(
            f"--scene glTF with {what}", "H9 node graph", ["game", *QUICK, "--scene", "t.gltf"],
            lambda d, n=NODE_GRAPHS[what]: textured(d, nodes=n),
        ))  # fmt: skip
    cases.append(Case(
        "glTF nodes not a list", "H9 node graph", CONVERT, lambda d: textured(d, nodes={}),
    ))  # fmt: skip
    return cases


CACHE_RUN = ["game", *QUICK, "--scene", "t.gltf"]
PRECONVERT = (
    "import sys; from eng.extras.convert_cache import convert_cached as c; c(*sys.argv[1:])"
)


def cached(d: Path, source: str = "t.gltf") -> Path:
    """Converts `source` into the cache the case's run uses; returns the entry's folder."""
    models = d.parent / "cache" / "zvk-py" / "models"
    subprocess.run([sys.executable, "-c", PRECONVERT, str(d / source), str(models)], check=True,
                   env=_env({}), cwd=ROOT)  # fmt: skip
    [entry] = [p for p in models.iterdir() if not p.name.startswith(".")]
    return entry


def _damaged(d: Path, name: str, kind: str) -> None:
    textured(d)
    entry = cached(d)
    path = entry / name
    if kind == "truncated":
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2 - 1])
    elif kind == "flipped":
        path.write_bytes(bytes(b ^ 0xFF for b in path.read_bytes()))
    elif kind == "deep":
        path.write_text(deep(100_000))
    elif kind == "NaN":
        path.write_text('{"model": NaN}')
    elif kind == "gone":
        path.unlink()
    else:
        special(entry, name, kind)


ENTRY_DAMAGE = {
    "t.json": ["garbage", "empty", "truncated", "deep", "NaN", "gone", "folder", "fifo", "zero"],
    "t-mat.json": ["garbage", "empty", "truncated", "gone", "dangling"],
    "t.vtx": ["truncated", "empty", "gone", "folder", "fifo", "zero", "flipped", "sparse"],
    "t.idx": ["truncated", "empty", "gone", "flipped", "garbage"],
    "tex.png": ["truncated", "gone", "garbage"],
    ".entry.json": ["garbage", "empty", "gone", "deep", "NaN", "flipped"],
}
MANIFESTS = {  # an .entry.json that does not say what the entry is
    "inputs a list": {"model": "t.json", "inputs": [], "outputs": {}},
    "no model": {"inputs": {}, "outputs": {}},
    "a model out of the entry": {"model": "../t.json", "inputs": {}, "outputs": {"../t.json": 1}},
    "outputs out of the entry": {"model": "t.json", "inputs": {}, "outputs": {
        "t.json": [1, "x"], "/etc/hostname": [1, "x"]}},
    "no inputs and no outputs": {"model": "t.json", "inputs": {}, "outputs": {"t.json": []}},
}  # fmt: skip


def _input_edits(d: Path, what: str) -> None:
    textured(d)
    cached(d)
    if what == "the .bin edited":
        data = bytearray((d / "t.bin").read_bytes())
        struct.pack_into("<f", data, 12, 2.0)
        (d / "t.bin").write_bytes(bytes(data))
    elif what == "the texture edited":
        (d / "tex.png").write_bytes(png(8, 8))
    elif what == "the texture removed":
        (d / "tex.png").unlink()
    elif what == "the texture made a FIFO":
        special(d, "tex.png", "fifo")
    elif what == "the .bin touched":
        os.utime(d / "t.bin", ns=(0, 10**18))


def _cache_cases() -> list[Case]:
    cases = []
    for name, kinds in ENTRY_DAMAGE.items():
        for kind in kinds:
            cases.append(Case(
                f"cached {name} {kind}", "H3 caches", CACHE_RUN,
                lambda d, n=name, k=kind: _damaged(d, n, k), status=(0,), lines=0,
            ))  # fmt: skip
    for what, manifest in MANIFESTS.items():
        cases.append(Case(
            f"cache manifest: {what}", "H3 caches", CACHE_RUN,
            lambda d, m=manifest: (textured(d), (cached(d) / ".entry.json").write_text(
                json.dumps(m))), status=(0,), lines=0,
        ))  # fmt: skip
    for what in ("the .bin edited", "the texture edited", "the .bin touched",
                 "the texture removed", "the texture made a FIFO"):  # fmt: skip
        warns = what in ("the texture removed", "the texture made a FIFO")
        cases.append(Case(
            f"cached, then {what}", "H3 caches", CACHE_RUN,
            lambda d, w=what: _input_edits(d, w), status=(0,), lines=1 if warns else 0,
        ))  # fmt: skip
    cases.append(Case(
        "cached OBJ, then its .mtl names another texture", "H3 caches",
        ["game", *QUICK, "--scene", "t.obj"],
        lambda d: (obj(d), cached(d, "t.obj"), (d / "u.png").write_bytes(png(2, 2)),
                   (d / "t.mtl").write_text("newmtl m\nmap_Kd u.png\n")),
        status=(0,), lines=0,
    ))  # fmt: skip
    cases.append(Case(
        "the cache entry replaced by a file", "H3 caches", CACHE_RUN,
        lambda d: (textured(d), _replace_entry(cached(d))), status=(0,), lines=0,
    ))  # fmt: skip
    cases.append(Case(
        "an entry of the old cache layout", "H3 caches", CACHE_RUN,
        lambda d: (textured(d), _old_layout(cached(d))), status=(0,), lines=0,
    ))  # fmt: skip
    return cases


def _replace_entry(entry: Path) -> None:
    shutil.rmtree(entry)
    entry.write_text("not a folder")


def _old_layout(entry: Path) -> None:
    old = entry.with_name(entry.name.split("-")[0])  # <digest>/ with a broken model in it
    old.mkdir()
    (old / "t.json").write_text("{}")
    (old / "t-mat.json").write_text("[]")


SHADERS = ROOT / "shaders"
SHADER_ARGS = ["game", *QUICK, "--validation", "--shaders", "sh"]
UNIFORM_5_3 = "layout(set = 5, binding = 3) uniform Extra { vec4 tint; } extra;\nvoid main()"
GLSL_MISFITS = {  # GLSL that compiles but does not fit the pipeline: (file, [(old, new), ...])
    "set 5": ("scn_frg.glsl", [("void main()", UNIFORM_5_3),
                               ("= material.diffuseColor;", "= extra.tint;")]),
    "set 3 in scn_vtx": ("scn_vtx.glsl", [("set = 0, binding = 0", "set = 3, binding = 0")]),
    "binding 3": ("scn_vtx.glsl", [("binding = 0", "binding = 3")]),
    "push constants 72 bytes": ("scn_frg.glsl", [("uint materialIdx;\n",
                                                  "uint materialIdx;\n    uint more;\n")]),
    "push constants in a 2nd block": ("scn_vtx.glsl", [("} push;", "} push;\n"
        "layout(push_constant) uniform More { vec4 v; } more;")]),
    "extra vertex input": ("scn_vtx.glsl", [
        ("void main()", "layout(location = 5) in vec4 inColor;\nvoid main()"),
        ("vec4(inPos, 1.0)", "vec4(inPos, 1.0) + inColor")]),
    "int vertex input": ("scn_vtx.glsl", [("in vec3 inPos", "in ivec3 inPos"),
                                          ("vec4(inPos, 1.0)", "vec4(vec3(inPos), 1.0)")]),
    "fragment input unwritten": ("scn_frg.glsl", [
        ("void main()", "layout(location = 3) in float inX;\nvoid main()"),
        ("= material.diffuseColor;", "= material.diffuseColor * inX;")]),
    "varying type mismatch": ("scn_frg.glsl", [("in vec2 inTextCoords", "in vec3 inTextCoords"),
                                               ("inTextCoords)", "inTextCoords.xy)")]),
    "vertex output unread": ("scn_vtx.glsl", [
        ("void main()", "layout(location = 2) out vec4 outX;\nvoid main()"),
        ("outTextCoords = inTextCoords;", "outTextCoords = inTextCoords; outX = vec4(1);")]),
    "camera in the fragment shader": ("scn_frg.glsl", [
        ("void main()", "layout(set = 0, binding = 0) uniform C { mat4 p; } cam;\nvoid main()"),
        ("= material.diffuseColor;", "= material.diffuseColor * cam.p[0][0];")]),
    "materials as a uniform buffer": ("scn_frg.glsl", [("readonly buffer", "uniform")]),
    "writable materials": ("scn_frg.glsl", [("readonly buffer", "buffer")]),
    "2000 samplers": ("scn_frg.glsl", [("textSampler[MAX_TEXTURES]", "textSampler[2000]")]),
    "double": ("scn_frg.glsl", [("outFragColor = material.diffuseColor;",
                                 "double d = material.diffuseColor.r; outFragColor = vec4(d);")]),
    "int colour output": ("scn_frg.glsl", [("out vec4 outFragColor", "out ivec4 outFragColor"),
        ("outFragColor = texture(textSampler[material.textureIdx], inTextCoords);",
         "outFragColor = ivec4(texture(textSampler[material.textureIdx], inTextCoords));"),
        ("outFragColor = material.diffuseColor;", "outFragColor = ivec4(material.diffuseColor);")]),
    "gl_PrimitiveID": ("scn_frg.glsl", [("= material.diffuseColor;",
                                         "= material.diffuseColor * float(gl_PrimitiveID);")]),
    "entry point not main": ("scn_frg.glsl", [("void main()", "void main2()")]),
    "many glslc errors": ("scn_frg.glsl", [("void main()\n{", "void main()\n{ a; b; c; d;")]),
}  # fmt: skip
FINE_GLSL = {  # edits the engine takes
    "vec4 position input": ("scn_vtx.glsl", [("in vec3 inPos", "in vec4 inPos"),
                                             ("vec4(inPos, 1.0)", "vec4(inPos.xyz, 1.0)")]),
    "tinted by material (docs/chapter-10.md)": ("scn_frg.glsl", [("    } else {", "    } else {\n"
        "        uint i = push.materialIdx;\n"
        "        outFragColor = vec4(vec3(i % 3 == 0, i % 3 == 1, i % 3 == 2), 1.0);\n"
        "    }\n    if (false) {")]),
}  # fmt: skip


def shader_folder(d: Path, file: str = "", edits=(), spv: bool = False) -> Path:
    """`d`/sh: the committed GLSL (or SPIR-V), `file` edited."""
    folder = d / "sh"
    folder.mkdir()
    for stem in ("scn_vtx", "scn_frg"):
        name = f"{stem}.spv" if spv else f"{stem}.glsl"
        shutil.copy(SHADERS / name, folder / name)
    if file:
        text = (folder / file).read_text()
        for old, new in edits:
            assert old in text, old
            text = text.replace(old, new, 1)
        (folder / file).write_text(text)
    return folder


def spv_with(d: Path, stem: str, change: Callable[[bytes], bytes]) -> None:
    folder = shader_folder(d, spv=True)
    path = folder / f"{stem}.spv"
    path.write_bytes(change(path.read_bytes()))


def _flip(code: bytes, seed: int) -> bytes:
    data = bytearray(code)
    rng = random.Random(seed)
    for _ in range(3):
        data[rng.randrange(20, len(data))] ^= 1 << rng.randrange(8)
    return bytes(data)


def _shader_cases() -> list[Case]:
    """Class H1 (the hardening issue's class 1): shaders a learner writes (--shaders, validated)."""
    cases = []
    for name, (file, edits) in GLSL_MISFITS.items():
        cases.append(Case(
            f"GLSL {name}", "H1 shaders", SHADER_ARGS,
            lambda d, f=file, e=edits: shader_folder(d, f, e),
        ))  # fmt: skip
    for name, (file, edits) in FINE_GLSL.items():
        cases.append(Case(
            f"GLSL {name}", "H1 shaders", SHADER_ARGS,
            lambda d, f=file, e=edits: shader_folder(d, f, e), status=(0,), lines=0,
        ))  # fmt: skip
    spv_changes: dict[str, Callable[[bytes], bytes]] = {
        "garbage after the magic": lambda c: c[:20] + random.Random(5).randbytes(len(c) - 20),
        "header only": lambda c: c[:20],
        "empty": lambda c: b"",
        "odd length": lambda c: c + b"\0",
        "id bound 0": lambda c: c[:12] + bytes(4) + c[16:],
        "SPIR-V 9.9": lambda c: c[:4] + bytes((0, 9, 9, 0)) + c[8:],
        "big-endian magic": lambda c: c[:4][::-1] + c[4:],
    }
    for cut in (24, 100, 400, 1000, 1836):
        spv_changes[f"cut to {cut} bytes"] = lambda c, n=cut: c[:n]
    for stem in ("scn_vtx", "scn_frg"):
        for name, change in spv_changes.items():
            cases.append(Case(
                f"{stem}.spv {name}", "H1 shaders", SHADER_ARGS,
                lambda d, s=stem, c=change: spv_with(d, s, c),
            ))  # fmt: skip
        for seed in range(4):
            cases.append(Case(
                f"{stem}.spv 3 bits flipped (seed {seed})", "H1 shaders", SHADER_ARGS,
                lambda d, s=stem, n=seed: spv_with(d, s, lambda c: _flip(c, n)),
                status=(0, 1), lines=None,
            ))  # fmt: skip
        other = (SHADERS / f"{'scn_frg' if stem == 'scn_vtx' else 'scn_vtx'}.spv").read_bytes()
        cases.append(Case(
            f"{stem}.spv of the wrong stage", "H1 shaders", SHADER_ARGS,
            lambda d, s=stem, o=other: spv_with(d, s, lambda c: o),
        ))  # fmt: skip
        for kind in ("fifo", "zero", "folder", "sparse"):
            cases.append(Case(
                f"{stem}.spv is {kind}", "H1 shaders", SHADER_ARGS,
                lambda d, s=stem, k=kind: (shader_folder(d, spv=True),
                                           special(d / "sh", f"{s}.spv", k)),
            ))  # fmt: skip
    cases.append(Case(
        "scn_frg.glsl is a 3 GiB sparse file", "H1 shaders", SHADER_ARGS,
        lambda d: (shader_folder(d), special(d / "sh", "scn_frg.glsl", "sparse")),
    ))  # fmt: skip
    for folder in ("-x", "--help", "a b", "é"):
        cases.append(Case(
            f"--shaders={folder}", "H1 shaders", ["game", *QUICK, f"--shaders={folder}"],
            lambda d, f=folder: shutil.copytree(shader_folder(d), d / f, dirs_exist_ok=True),
            status=(0,), lines=0,
        ))  # fmt: skip
    return cases


def all_cases() -> list[Case]:
    return [
        *_number_cases(),
        *_file_cases(),
        *_nesting_cases(),
        *_environment_cases(),
        *_lost_data_cases(),
        *_part_a_cases(),
        *_shader_cases(),
        *_converter_cases(),
        *_node_graph_cases(),
        *_cache_cases(),
        *_stream_cases(),
        *_leftover_cases(),
        *_message_cases(),
    ]


# --- the hardening issue: streams, signals and output paths (H4), leftovers and lost outputs
# (H6), messages that point the wrong way or flood (H8) -------------------------------------

OUTPUT_OPTIONS = {
    "--screenshot": ".png",
    "--vma-report": ".json",
    "--vma-map": ".png",
    "--bench": ".json",
}
LONG_RUN = ["game", "--headless", "--frames", "100000", "--size", "64x48"]


def _stale(d: Path, name: str) -> None:
    """What a run killed by SIGKILL left: atomic_write's temporary file, two hours old."""
    tmp = d / f".{name}.abcdefgh.tmp"
    tmp.write_bytes(b"half a file")
    os.utime(tmp, (time.time() - 7200, time.time() - 7200))


def _cfg(text: str | bytes) -> Callable[[Path], None]:
    def setup(d: Path) -> None:
        data = text.encode() if isinstance(text, str) else text
        (d / "cfg.toml").write_bytes(data)

    return setup


def _stream_cases() -> list[Case]:
    cases = []
    for option, suffix in OUTPUT_OPTIONS.items():
        for what, name in (
            ("300 characters", "a" * 300),
            ("260 bytes of é", "é" * 130),
            ("a path of 5000 bytes", "d/" * 2500 + "x"),
        ):
            cases.append(
                Case(
                    f"{option} {what}",
                    "H4 streams",
                    ["game", *QUICK, option, name + suffix],
                    status=(2,),
                )
            )
        cases += [
            Case(
                f"{option} in a folder that is a file",
                "H4 streams",
                ["game", *QUICK, option, f"f/x{suffix}"],
                lambda d: (d / "f").write_text("x"),
                status=(2,),
            ),
            Case(
                f"{option} a loop of links",
                "H4 streams",
                ["game", *QUICK, option, f"a{suffix}"],
                lambda d, s=suffix: (
                    (d / f"a{s}").symlink_to(f"b{s}"),
                    (d / f"b{s}").symlink_to(f"a{s}"),
                ),
                status=(2,),
            ),
        ]
    for option in ("--scene", "--config", "--shaders", "--out-dir"):
        cases.append(
            Case(
                f"{option} a name of 300 characters",
                "H4 streams",
                ["game", *QUICK, option, "b" * 300],
                status=(2,),
            )
        )
    nul_paths = {
        "model": lambda d: scene(d, models=["cu\u0000be.json"]),
        "vtx": lambda d: (scene(d), splice(d, "cube.json", '"cube.vtx"', '"cube\\u0000.vtx"')),
        "idx": lambda d: (scene(d), splice(d, "cube.json", '"cube.idx"', '"c\\u0000.idx"')),
    }
    for what, setup in nul_paths.items():
        cases.append(
            Case(
                f"NUL in a scene's {what} path",
                "H4 streams",
                ["game", *QUICK, "--scene", "scene.json"],
                setup,
            )
        )
    cases.append(
        Case(
            "NUL in a texture path",
            "H4 streams",
            ["game", *QUICK, "--scene", "scene.json"],
            lambda d: (
                scene(d),
                splice(d, "cube-mat.json", '"cube_base.png"', '"cube\\u0000.png"'),
            ),
            status=(0,),
        )
    )
    for args in (
        ["--help"],
        ["--version"],
        ["--info"],
        ["--list-gpus"],
        QUICK,
        [*QUICK, "--screenshot", "s.png"],
    ):
        cases.append(
            Case(
                f"stdout on /dev/full: {' '.join(args[:3])}",
                "H4 streams",
                ["game", *args],
                status=(1,),
                stdout="/dev/full",
            )
        )
    for text, status in (
        ("--screenshot é.png", 0),
        ("--scene é.json", 1),
        ("--screenshot ü/x.png", 2),
        ("--config ñ.toml", 1),
    ):
        cases.append(
            Case(
                f"ascii output, {text}",
                "H4 streams",
                ["game", *QUICK, *text.split()],
                status=(status,),
                env={"PYTHONIOENCODING": "ascii"},
                lines=None,
            )
        )
    for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT):
        for after in (0.3, 4.0):
            cases.append(
                Case(
                    f"{sig.name} after {after} s",
                    "H4 streams",
                    LONG_RUN,
                    status=(128 + sig,),
                    signal_after=after,
                    signum=sig,
                )
            )
    return cases


def _leftover_cases() -> list[Case]:
    cases = []
    pairs = [
        ("--screenshot", "x.png", "--vma-map", "x.png"),
        ("--screenshot", "x.png", "--vma-map", "./x.png"),
        ("--screenshot", "x.png", "--vma-map", "d/../x.png"),
        ("--vma-report", "x.json", "--bench", "x.json"),
        ("--screenshot", "x.png", "--vma-map", "link.png"),
        ("--screenshot", "X.png", "--vma-map", "sub/../X.png"),
    ]
    for a, pa, b, pb in pairs:

        def setup(d: Path) -> None:
            (d / "d").mkdir()
            (d / "sub").mkdir()
            (d / "link.png").symlink_to("x.png")

        cases.append(
            Case(
                f"{a} {pa} and {b} {pb}",
                "H6 leftovers",
                ["game", *QUICK, a, pa, b, pb],
                setup,
                status=(2,),
            )
        )
    for option, suffix in OUTPUT_OPTIONS.items():
        name = f"out{suffix}"
        cases += [
            Case(
                f"{option}: a killed run's temporary file is swept",
                "H6 leftovers",
                ["game", *QUICK, option, name],
                lambda d, n=name: _stale(d, n),
                status=(0,),
                lines=0,
            ),
            Case(
                f"{option}: a link is written through",
                "H6 leftovers",
                ["game", *QUICK, option, f"link{suffix}"],
                lambda d, s=suffix: (d / f"link{s}").symlink_to(f"target{s}"),
                status=(0,),
                lines=0,
            ),
            Case(
                f"{option}: a link into a missing folder",
                "H6 leftovers",
                ["game", *QUICK, option, f"link{suffix}"],
                lambda d, s=suffix: (d / f"link{s}").symlink_to(f"no/target{s}"),
                status=(2,),
            ),
        ]
    for stamped in ("zvk-screenshot-20200101-000000.png", "zvk-vma-20200101-000000.json"):
        cases.append(
            Case(
                f"--out-dir: a stale {stamped[:14]} temporary file is swept",
                "H6 leftovers",
                ["game", *QUICK, "--out-dir", "."],
                lambda d, n=stamped: _stale(d, n),
                status=(0,),
                lines=0,
            )
        )
    for size in ("2048x2048", "4096x4096"):
        for after in (1.5, 3.0, 5.0):
            cases.append(
                Case(
                    f"SIGTERM during a {size} screenshot after {after} s",
                    "H6 leftovers",
                    [
                        "game",
                        "--headless",
                        "--frames",
                        "3",
                        "--size",
                        size,
                        "--screenshot",
                        "big.png",
                    ],
                    status=(0, 143),
                    signal_after=after,
                    signum=signal.SIGTERM,
                )
            )
    return cases


SCENE_SUFFIXES = ["m.stl", "m.ply", "m.fbx", "m.dae", "m.blend", "m.3ds", "model", "m.JSON5"]


def _message_cases() -> list[Case]:
    cfg_run = ["game", "--config", "cfg.toml", *QUICK]
    cases = [
        Case(
            "cfg: 500 unknown keys",
            "H8 messages",
            cfg_run,
            _cfg("".join(f"k{i} = 1\n" for i in range(500))),
            status=(0,),
        ),
        Case(
            "cfg: a 900 KB unknown key",
            "H8 messages",
            cfg_run,
            _cfg("k" * 900_000 + " = 1\n"),
            status=(0,),
        ),
        Case(
            "cfg: unknown keys with control characters",
            "H8 messages",
            cfg_run,
            _cfg('"a\\u001b[2J" = 1\n"b\\n" = 2\n'),
            status=(0,),
        ),
        Case(
            "cfg: a UTF-8 BOM",
            "H8 messages",
            cfg_run,
            _cfg(b"\xef\xbb\xbffov = 60\n"),
            status=(0,),
            lines=0,
        ),
        Case(
            "cfg: a BOM and nothing else",
            "H8 messages",
            cfg_run,
            _cfg(b"\xef\xbb\xbf"),
            status=(0,),
            lines=0,
        ),
        Case(
            "best-practices: our own debug-utils is not a warning",
            "H8 messages",
            ["game", *QUICK, "--validation", "--validation-features", "best-practices"],
            status=(0,),
            lines=0,
        ),
    ]
    for text in (
        "fov = 1e-30",
        "fov = 0.5",
        "fov = 179.5",
        "fov = 1e30",
        "zNear = 1e-300",
        "zNear = 1e-7",
        "zNear = 0.0001\nzFar = 1e6",
        "zNear = 1e-6\nzFar = 1e30",
        "fov = -1e-30",
    ):
        cases.append(
            Case(f"cfg: {text.replace(chr(10), ', ')}", "H8 messages", cfg_run, _cfg(text + "\n"))
        )
    for name in SCENE_SUFFIXES:
        cases.append(
            Case(
                f"--scene {name}",
                "H8 messages",
                ["game", *QUICK, "--scene", name],
                lambda d, n=name: (d / n).write_text("solid x\nendsolid x\n"),
                status=(2,),
            )
        )
    return cases


# --- running and judging ----------------------------------------------------------------------


def _env(changes: dict[str, str]) -> dict[str, str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.pop("DISPLAY", None)
    env.pop("WAYLAND_DISPLAY", None)
    env.update(changes)
    return env


def _state(folder: Path) -> dict[str, str]:
    """What the user had: every regular file's digest, every other entry's kind."""
    state = {}
    for path in sorted(folder.rglob("*")):
        key = str(path.relative_to(folder))
        if path.name.startswith(".") and path.name.endswith(".tmp"):
            continue  # ours, not the user's: a killed run's leftovers (_temporaries' business)
        if path.is_symlink() or not path.exists():
            state[key] = "link"
        elif path.is_file() and path.stat().st_size < 2**26:
            state[key] = hashlib.sha256(path.read_bytes()).hexdigest()
        else:
            state[key] = "special"
    return state


def _temporaries(folder: Path) -> list[str]:
    return [
        str(p.relative_to(folder))
        for p in folder.rglob(".*")
        if p.name.endswith(".tmp") or p.name.startswith((".model_gen-", ".convert-"))
    ]


def _lines_wanted(case: Case, status: int) -> int:
    if case.lines is not None:
        return case.lines
    return 0 if status == 0 else 1


def run_case(case: Case, timeout: float) -> dict:
    with tempfile.TemporaryDirectory(prefix="zvk-adv-") as tmp:
        work = Path(tmp) / "work"
        work.mkdir()
        cache = Path(tmp) / "cache"
        case.setup(work)
        before = _state(work)
        env = {"XDG_CACHE_HOME": str(cache)} | {
            k: (str(work / v) if (work / v).exists() else v) for k, v in case.env.items()
        }
        preexec = None
        if case.memory_limit:
            limit = case.memory_limit

            def preexec():
                resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

        out_file = open(case.stdout, "w") if case.stdout else None  # noqa: SIM115
        proc = subprocess.Popen(
            [sys.executable, "-m", *case.args],
            cwd=work,
            env=_env(env),
            stdout=out_file or subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            errors="replace",
            preexec_fn=preexec,
        )
        problems = []
        try:
            if case.signal_after is not None:
                time.sleep(case.signal_after)
                proc.send_signal(case.signum)
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
            problems.append(f"hung (killed after {timeout:.0f} s)")
        if out_file is not None:
            out_file.close()
        lines = [line for line in err.splitlines() if line and not line.startswith(FOREIGN)]
        if proc.returncode not in case.status and not problems:
            problems.append(f"exit status {proc.returncode}, expected {case.status}")
        if "Traceback" in err:
            problems.append("traceback")
        elif len(lines) != (want := _lines_wanted(case, proc.returncode)) and (
            case.signal_after is None
        ):
            problems.append(f"{len(lines)} lines on stderr, expected {want}")
        elif case.signal_after is not None and len(lines) > 1:
            problems.append(f"{len(lines)} lines on stderr after Ctrl-C")
        if "VUID" in err or "Validation" in err:
            problems.append("validation message")
        after = _state(work)
        changed = [k for k, v in before.items() if after.get(k) != v]
        if changed:
            problems.append(f"user files changed: {', '.join(changed[:3])}")
        left = _temporaries(work) + (_temporaries(cache) if cache.exists() else [])
        if left:
            problems.append(f"temporary files left: {', '.join(left[:3])}")
        return {
            "name": case.name,
            "class": case.cls,
            "status": proc.returncode,
            "clean": not problems,
            "problems": problems,
            "stderr": err.strip().splitlines()[-3:],
        }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample", type=int, help="run only N cases, chosen with --seed")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("-k", dest="keyword", help="only cases whose name contains this")
    parser.add_argument("--classes", help="only these classes of the issue, e.g. 2,3,4")
    parser.add_argument("--jobs", type=int, default=2, help="cases run at once (default 2)")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per case")
    parser.add_argument("--json", action="store_true", help="print a JSON summary at the end")
    parser.add_argument("-v", "--verbose", action="store_true", help="print every case")
    args = parser.parse_args(argv)
    cases = all_cases()
    if args.keyword:
        cases = [c for c in cases if args.keyword in c.name or args.keyword in c.cls]
    if args.classes:
        wanted = set(args.classes.split(","))
        cases = [c for c in cases if c.cls.split()[0] in wanted]
    if args.sample:
        cases = random.Random(args.seed).sample(cases, min(args.sample, len(cases)))
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        results = list(pool.map(lambda c: run_case(c, args.timeout), cases))
    for r in results:
        if args.verbose or not r["clean"]:
            mark = "ok  " if r["clean"] else "FAIL"
            print(f"{mark} [{r['class']}] {r['name']}: {'; '.join(r['problems']) or 'clean'}")
            if not r["clean"]:
                for line in r["stderr"]:
                    print(f"       {line[:160]}")
    clean = sum(r["clean"] for r in results)
    print(f"{len(results)} cases tried / {clean} clean")
    if args.json:
        by_class: dict[str, list[int]] = {}
        for r in results:
            tried_clean = by_class.setdefault(r["class"], [0, 0])
            tried_clean[0] += 1
            tried_clean[1] += r["clean"]
        summary = {
            "tried": len(results),
            "clean": clean,
            "by_class": {k: {"tried": v[0], "clean": v[1]} for k, v in sorted(by_class.items())},
            "not_clean": [r for r in results if not r["clean"]],
        }
        print(json.dumps(summary, indent=2))
    return 0 if clean == len(results) else 1


if __name__ == "__main__":
    sys.exit(main())
