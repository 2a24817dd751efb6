"""A model's .vtx and .idx files read and every mesh checked against them (not in the book:
its ModelsCache.init loads both files with utils.zig's loadFile and copies each mesh's byte
range unchecked; book ch.9/10)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from eng.com.safe_io import GEOMETRY_LIMIT, FileProblemError, read_file
from eng.json_fields import COORD_LIMIT, ModelError
from eng.model_data import IDX_BYTES, VTX_BYTES, VTX_FLOATS, ModelData


def _read_array(path: Path, dtype: str, item_bytes: int) -> np.ndarray:
    try:
        data = read_file(path, GEOMETRY_LIMIT, "a geometry file")
    except FileProblemError as e:
        raise ModelError(path, str(e)) from None
    if len(data) % item_bytes:
        raise ModelError(path, f"size {len(data)} bytes is not a multiple of {item_bytes}")
    return np.frombuffer(data, dtype=dtype)


def load_geometry(model: ModelData) -> tuple[np.ndarray, np.ndarray]:
    """Read a model's .vtx and .idx files whole and check every mesh against them.

    Returns the vertices as float32 (N, 5) and the indices as uint32 (M,), both read-only
    views of the files' bytes (indices are local to each mesh). A model with no triangle to
    draw is refused.
    """
    vtx = _read_array(model.vtx_path, "<f4", VTX_BYTES)
    idx = _read_array(model.idx_path, "<u4", IDX_BYTES)
    src = model.source
    for mesh in model.meshes:
        for kind, offset, size, unit, file, file_size in (
            ("vtx", mesh.vtx_offset, mesh.vtx_size, VTX_BYTES, model.vtx_path, vtx.nbytes),
            ("idx", mesh.idx_offset, mesh.idx_size, IDX_BYTES, model.idx_path, idx.nbytes),
        ):
            for key, value in ((f"{kind}Offset", offset), (f"{kind}Size", size)):
                if value % unit:
                    raise ModelError(
                        src, f"mesh '{mesh.id}' {key} ({value}) is not a multiple of {unit}"
                    )
            if offset + size > file_size:
                raise ModelError(
                    src,
                    f"mesh '{mesh.id}' {kind}Offset+{kind}Size ({offset + size}) is past the end"
                    f" of {file.name} ({file_size} bytes)",
                )
        if mesh.idx_size % (3 * IDX_BYTES):
            count = mesh.idx_size // IDX_BYTES
            raise ModelError(src, f"mesh '{mesh.id}' has {count} indices, not a multiple of 3")
    if not any(m.idx_size for m in model.meshes):  # an index buffer of 0 bytes: VMA refuses
        raise ModelError(src, f"has no triangles to draw ({len(model.meshes)} meshes)")
    # All indices of all meshes at once, each against its own mesh's vertex count.
    starts = np.array([m.idx_offset // IDX_BYTES for m in model.meshes])
    counts = np.array([m.idx_size // IDX_BYTES for m in model.meshes])
    limits = np.array([m.vtx_size // VTX_BYTES for m in model.meshes])
    used = np.concatenate([idx[s : s + c] for s, c in zip(starts, counts, strict=True)])
    bad = np.flatnonzero(used >= np.repeat(limits, counts))
    if bad.size:
        k = int(np.searchsorted(np.cumsum(counts), bad[0], side="right"))
        mesh = model.meshes[k]
        raise ModelError(
            src,
            f"mesh '{mesh.id}' index {int(used[bad[0]])} is out of range "
            f"(the mesh has {limits[k]} vertices) in {model.idx_path.name}",
        )
    vertices = vtx.reshape(-1, VTX_FLOATS)
    # NaN, infinity or beyond COORD_LIMIT (the comparison is False for NaN): bit rot, or
    # not a .vtx file at all
    bad_rows = np.flatnonzero(~(np.abs(vertices) <= COORD_LIMIT).all(axis=1))
    if bad_rows.size:
        raise ModelError(
            model.vtx_path,
            f"vertex {int(bad_rows[0])} has a value that is not a finite number within "
            f"+-{COORD_LIMIT:g} ({bad_rows.size} such vertices)",
        )
    return vertices, idx
