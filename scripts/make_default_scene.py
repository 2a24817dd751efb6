"""Generate the project's own default scene into resources/scene/ (deterministic).

    python scripts/make_default_scene.py [--out resources/scene]

Models are built with numpy (and trimesh for the sphere), textures with numpy + Pillow from a
fixed seed, and everything is written through eng.model_write.write_model in the book's format:
a large ground with a repeating checker (uv up to 40, so it needs a repeat sampler and shows
mipmapping in the distance), crates, columns, and two untextured coloured models.
Trigonometry uses the math module, so the .vtx files do not depend on numpy's SIMD code paths.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np
import trimesh
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from eng.model_data import MaterialData  # noqa: E402
from eng.model_write import MeshArrays, write_model  # noqa: E402

SEED = 10
WHITE = (1.0, 1.0, 1.0, 1.0)


# --- geometry: float (N, 5) xyz + uv (v = 0 at the image top), triangles counter-clockwise ---


def _quads(corners: np.ndarray, uvs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Quads given as (Q, 4, 3) corners and (Q, 4, 2) uvs, each wound counter-clockwise."""
    vertices = np.concatenate([corners, uvs], axis=2).reshape(-1, 5)
    base = np.arange(len(corners))[:, None] * 4
    indices = (base + np.array([0, 1, 2, 0, 2, 3])).reshape(-1)
    return vertices, indices


def plane(half: float, tiles: float) -> tuple[np.ndarray, np.ndarray]:
    """A square on y = 0 facing +y, its texture repeated `tiles` times along each side."""
    corners = np.array([[[-half, 0, half], [half, 0, half], [half, 0, -half], [-half, 0, -half]]])
    uvs = np.array([[[0, tiles], [tiles, tiles], [tiles, 0], [0, 0]]])
    return _quads(corners, uvs)


def box(size: tuple[float, float, float]) -> tuple[np.ndarray, np.ndarray]:
    """A box centred on the origin, the whole texture on each face."""
    half = np.array(size) / 2
    # (normal, u axis, v axis) with u x v = normal, so each face is counter-clockwise.
    axes = np.eye(3)
    x, y, z = axes
    faces = [(x, -z, y), (-x, z, y), (y, x, -z), (-y, x, z), (z, x, y), (-z, -x, y)]
    square = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]])
    corners = np.array([[(n + su * u + sv * v) * half for su, sv in square] for n, u, v in faces])
    uvs = np.tile((square + 1) / 2 * [1, -1] + [0, 1], (6, 1, 1))
    return _quads(corners, uvs)


def revolve(
    profile: list[tuple[float, float]], segments: int, u_tiles: float = 1.0
) -> tuple[np.ndarray, np.ndarray]:
    """A surface of revolution about +y of (radius, y) points listed from top to bottom.

    u goes once (or `u_tiles` times) around, v along the profile; the seam is duplicated.
    """
    lengths = [0.0]
    for (r0, y0), (r1, y1) in zip(profile, profile[1:], strict=False):
        lengths.append(lengths[-1] + math.hypot(r1 - r0, y1 - y0))
    angles = [2 * math.pi * j / segments for j in range(segments + 1)]
    vertices = np.array(
        [
            [r * math.cos(a), y, -r * math.sin(a), u_tiles * j / segments, s / lengths[-1]]
            for (r, y), s in zip(profile, lengths, strict=True)
            for j, a in enumerate(angles)
        ]
    )
    row = segments + 1
    quads = [
        (i * row + j, (i + 1) * row + j, (i + 1) * row + j + 1, i * row + j + 1)
        for i in range(len(profile) - 1)
        for j in range(segments)
    ]
    indices = np.array([[a, b, c, a, c, d] for a, b, c, d in quads]).reshape(-1)
    return vertices, indices


def sphere(radius: float) -> tuple[np.ndarray, np.ndarray]:
    """An icosphere (untextured, so uv 0)."""
    mesh = trimesh.creation.icosphere(subdivisions=3, radius=radius)
    vertices = np.zeros((len(mesh.vertices), 5))
    vertices[:, :3] = mesh.vertices
    return vertices, mesh.faces.reshape(-1)


def torus(
    major: float, minor: float, rings: int = 24, segments: int = 48
) -> tuple[np.ndarray, np.ndarray]:
    """A torus about +y (untextured)."""
    profile = [
        (
            major + minor * math.cos(2 * math.pi * i / rings),
            -minor * math.sin(2 * math.pi * i / rings),
        )
        for i in range(rings + 1)
    ]
    return revolve(profile, segments)


def moved(geometry: tuple[np.ndarray, np.ndarray], dy: float) -> tuple[np.ndarray, np.ndarray]:
    vertices, indices = geometry
    return vertices + [0, dy, 0, 0, 0], indices


# --- textures: seeded numpy noise, tileable, power-of-two sizes ----------------------------


def _noise(rng: np.random.Generator, size: int, cells: int) -> np.ndarray:
    """Smooth value noise in [0, 1] that tiles: a random grid upscaled with wrap-around."""
    grid = np.tile(rng.random((cells, cells)), (3, 3))
    image = Image.fromarray((grid * 255).astype(np.uint8)).resize(
        (3 * size, 3 * size), Image.BICUBIC
    )
    return np.asarray(image, dtype=np.float64)[size : 2 * size, size : 2 * size] / 255


def _rgb(shade: np.ndarray, dark: tuple[int, int, int], light: tuple[int, int, int]) -> Image.Image:
    t = np.clip(shade, 0, 1)[..., None]
    pixels = np.array(dark) * (1 - t) + np.array(light) * t
    return Image.fromarray(pixels.round().astype(np.uint8))


def checker_texture(rng: np.random.Generator, size: int = 512, squares: int = 4) -> Image.Image:
    """Flag-stone checker with grout lines: sharp edges that alias without mipmaps."""
    yy, xx = np.mgrid[0:size, 0:size]
    cell = size // squares
    squares_on = ((xx // cell + yy // cell) % 2).astype(float)
    grout = (xx % cell < 3) | (yy % cell < 3)
    shade = 0.25 + 0.5 * squares_on + 0.25 * (_noise(rng, size, 16) - 0.5)
    shade = np.where(grout, 0.05, shade)
    return _rgb(shade, (40, 38, 36), (205, 196, 180))


def crate_texture(rng: np.random.Generator, size: int = 256) -> Image.Image:
    """Wooden planks with a dark frame and a diagonal brace."""
    yy, xx = np.mgrid[0:size, 0:size]
    planks = size // 4
    grain = 0.5 + 0.3 * _noise(rng, size, 8) + 0.2 * np.sin(yy / 3.0 + 8 * _noise(rng, size, 4))
    shade = grain * (0.85 + 0.15 * ((yy // planks) % 2)) - 0.4 * (yy % planks < 2)
    border = size // 10
    frame = (xx < border) | (yy < border) | (xx >= size - border) | (yy >= size - border)
    brace = np.abs(xx - yy) < border * 0.7
    shade = np.where(frame | brace, 0.35 * grain, shade)
    return _rgb(shade, (50, 30, 12), (200, 150, 90))


def stone_texture(rng: np.random.Generator, size: int = 256) -> Image.Image:
    """Staggered stone blocks."""
    yy, xx = np.mgrid[0:size, 0:size]
    rows, cols = 8, 4
    h, w = size // rows, size // cols
    xs = (xx + (yy // h % 2) * (w // 2)) % size
    mortar = (yy % h < 2) | (xs % w < 2)
    block = rng.random((rows, cols))[yy // h, xs // w]
    shade = 0.55 + 0.25 * block + 0.25 * (_noise(rng, size, 32) - 0.5)
    return _rgb(np.where(mortar, 0.1, shade), (60, 58, 55), (190, 185, 175))


def marble_texture(rng: np.random.Generator, size: int = 256) -> Image.Image:
    """White marble with dark veins."""
    xx = np.mgrid[0:size, 0:size][1]
    turbulence = _noise(rng, size, 4) + 0.5 * _noise(rng, size, 8)
    veins = np.abs(np.sin(2 * math.pi * (2 * xx / size + 1.5 * turbulence)))
    return _rgb(0.55 + 0.45 * veins**0.3, (70, 70, 80), (240, 238, 232))


# --- models and the scene ------------------------------------------------------------------


def _write(
    out: Path, name: str, parts: list[tuple[str, tuple[np.ndarray, np.ndarray]]], materials: dict
) -> str:
    """Write a model into out/name/ from (material key, geometry) parts; returns its path."""
    folder = out / name
    folder.mkdir(parents=True, exist_ok=True)
    mats = {}
    for i, (key, (texture, color)) in enumerate(materials.items()):
        path = None
        if texture is not None:
            path = folder / f"{key}.png"
            texture.save(path, optimize=True)
        mats[key] = MaterialData(f"{name}-mat-{i}", path, color)
    meshes = [
        MeshArrays(f"{name}-{i}", mats[key].id, vertices, indices)
        for i, (key, (vertices, indices)) in enumerate(parts)
    ]
    write_model(folder, name, meshes, list(mats.values()))
    return f"{name}/{name}.json"


def make_scene(out: Path) -> Path:
    """Generate every model, texture and scene.json into `out`; returns the scene.json path."""
    rng = np.random.default_rng(SEED)
    column_profile = [(0.30, 4.4), (0.33, 2.4), (0.36, 0.4)]
    models = [
        _write(
            out, "ground", [("checker", plane(30, 40))], {"checker": (checker_texture(rng), WHITE)}
        ),
        _write(out, "crate", [("crate", box((1, 1, 1)))], {"crate": (crate_texture(rng), WHITE)}),
        _write(
            out,
            "column",
            [
                ("stone", moved(box((1, 0.4, 1)), 0.2)),
                ("marble", revolve(column_profile, 32, u_tiles=2)),
                ("stone", moved(box((1, 0.3, 1)), 4.55)),
            ],
            {"stone": (stone_texture(rng), WHITE), "marble": (marble_texture(rng), WHITE)},
        ),
        _write(out, "ball", [("red", sphere(0.8))], {"red": (None, (0.8, 0.1, 0.1, 1.0))}),
        _write(out, "ring", [("gold", torus(0.7, 0.2))], {"gold": (None, (0.95, 0.7, 0.2, 1.0))}),
    ]
    entities = [
        {"id": "ground", "model": "ground", "pos": [0, 0, 0]},
        {"id": "crate-0", "model": "crate", "pos": [-3, 0.5, 0]},
        {"id": "crate-1", "model": "crate", "pos": [-1.8, 0.5, 0.3], "rotation": [0, 20, 0]},
        {"id": "crate-2", "model": "crate", "pos": [-2.4, 1.5, 0.1], "rotation": [0, -10, 0]},
        {"id": "crate-big", "model": "crate", "pos": [3.5, 1, -3], "scale": 2},
        {"id": "ball", "model": "ball", "pos": [1.5, 0.8, 0.5]},
        {"id": "ring", "model": "ring", "pos": [0, 1.2, -2], "rotation": [90, 0, 0]},
    ]
    for i, z in enumerate(range(0, -25, -6)):
        entities.append({"id": f"column-l{i}", "model": "column", "pos": [-6, 0, z]})
        entities.append({"id": f"column-r{i}", "model": "column", "pos": [6, 0, z]})
    scene = {
        "models": models,
        "entities": entities,
        "camera": {"pos": [0, 2.5, 9], "pitch": -10, "yaw": -90},
    }
    scene_path = out / "scene.json"
    scene_path.write_text(json.dumps(scene, indent=2) + "\n", encoding="utf-8")
    return scene_path


def main() -> None:
    parser = argparse.ArgumentParser(description="Generate the default scene (deterministic).")
    parser.add_argument("--out", type=Path, default=ROOT / "resources" / "scene")
    args = parser.parse_args()
    print(make_scene(args.out))


if __name__ == "__main__":
    main()
