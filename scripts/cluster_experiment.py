"""The overdraw experiment of docs/performance.md: the book's Sponza with its meshes split into
spatial clusters and drawn nearest-first from the book's camera, written as a model in the
book's format, so that the unchanged engine can render it and count its fragments.

    python scripts/cluster_experiment.py OUT_DIR [--cell 300]
    python -m game --headless --scene OUT_DIR/Sponza.json --view book --bench out.json ...

Each mesh's triangles are grouped by the grid cell (`--cell`, model units; Sponza is about
3,000 wide) that holds their centroid; every group becomes a mesh of its own, with the parent's
material and vertex range. Clusters are ordered by the distance from the book's camera to
their box's centre (the engine keeps the file's order, opaque meshes first). The
vertices, materials and textures are the book's files, linked, not copied.
"""

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

from eng.geometry_files import load_geometry  # noqa: E402
from eng.model_data import load_model  # noqa: E402
from game import book_data  # noqa: E402
from game.scenes import BOOK_CAMERA, BOOK_ENTITY_POS, BOOK_ENTITY_SCALE  # noqa: E402


def clusters(model, vertices, indices, cell: float) -> list[tuple[object, np.ndarray, np.ndarray]]:
    """(parent mesh, local indices of one cluster, its model-space centre) for every cluster."""
    out = []
    for mesh in model.meshes:
        first, count = mesh.idx_offset // 4, mesh.idx_size // 4
        local = indices[first : first + count].reshape(-1, 3)
        positions = vertices[mesh.vtx_offset // 20 : (mesh.vtx_offset + mesh.vtx_size) // 20, :3]
        centroids = positions[local].mean(axis=1)
        keys = np.floor(centroids / cell).astype(np.int64)
        _, group = np.unique(keys, axis=0, return_inverse=True)
        for g in range(group.max() + 1):
            tris = local[group.ravel() == g]
            points = positions[tris.ravel()]
            out.append((mesh, tris.ravel(), (points.min(axis=0) + points.max(axis=0)) / 2))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--cell", type=float, default=300.0, help="cluster size, model units")
    args = parser.parse_args()
    source = book_data.model_path("sponza")
    model = load_model(source)
    vertices, indices = load_geometry(model)
    camera = np.array(BOOK_CAMERA.pos)
    found = clusters(model, vertices, indices, args.cell)

    def distance(item) -> float:
        world = item[2] * BOOK_ENTITY_SCALE + np.array(BOOK_ENTITY_POS)
        return float(np.linalg.norm(world - camera))

    found.sort(key=distance)
    args.out.mkdir(parents=True, exist_ok=True)
    for f in source.parent.iterdir():  # the book's vertices, materials and textures, linked
        target = args.out / f.name
        if f.name not in (source.name, model.idx_path.name) and not target.exists():
            target.symlink_to(f)
    items, offset = [], 0
    with open(args.out / model.idx_path.name, "wb") as idx:
        for i, (mesh, tris, _) in enumerate(found):
            data = tris.astype("<u4").tobytes()
            idx.write(data)
            items.append(
                {
                    "id": f"cluster-{i}",
                    "materialId": mesh.material_id,
                    "idxOffset": offset,
                    "idxSize": len(data),
                    "vtxOffset": mesh.vtx_offset,
                    "vtxSize": mesh.vtx_size,
                }
            )
            offset += len(data)
    doc = json.loads(source.read_text())
    doc["meshes"] = {"items": items, "capacity": len(items)}
    (args.out / source.name).write_text(json.dumps(doc, indent=1))
    print(f"{len(model.meshes)} meshes -> {len(items)} clusters in {args.out / source.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
