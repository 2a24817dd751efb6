"""Frustum culling (not in the book).

Each mesh's bounding box, moved into world space by its entity's model matrix, is tested against
the six planes of the camera's frustum; what cannot be seen is not drawn.
"""

import numpy as np
from pyglm import glm

# the 8 corners of a unit box, as 0/1 selectors between min and max
_CORNERS = np.array([[x, y, z] for x in (0, 1) for y in (0, 1) for z in (0, 1)], np.float32)


def frustum_planes(view_proj: glm.mat4) -> np.ndarray:
    """The (6, 4) planes a*x + b*y + c*z + d >= 0 of a right-handed, depth 0..1 frustum."""
    m = np.frombuffer(view_proj.to_bytes(), np.float32).reshape(4, 4).T  # row-major
    planes = np.stack([m[3] + m[0], m[3] - m[0], m[3] + m[1], m[3] - m[1], m[2], m[3] - m[2]])
    return planes / np.linalg.norm(planes[:, :3], axis=1, keepdims=True)


def world_boxes(
    local_min: np.ndarray, local_max: np.ndarray, matrices: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Centres and half-extents of the world-space boxes around (N, 3) local boxes moved by
    (N, 4, 4) row-major model matrices."""
    corners = local_min[:, None, :] + _CORNERS[None] * (local_max - local_min)[:, None, :]
    world = np.einsum("nij,nkj->nki", matrices[:, :3, :3], corners) + matrices[:, None, :3, 3]
    low, high = world.min(axis=1), world.max(axis=1)
    return (low + high) / 2, (high - low) / 2


def instance_boxes(
    low: np.ndarray,
    high: np.ndarray,
    columns: np.ndarray,
    out: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Centres and half-extents of the world-space boxes around one local box (low, high)
    moved by (N, 4, 4) matrices stored as columns (GLSL's order, eng/instances.py). The same
    boxes as `world_boxes` gives, from the centre and the absolute rotation-scale part instead
    of eight corners. Written into `out` (two (N, 3) arrays) if given."""
    center, half = (low + high) / 2, (high - low) / 2
    flat = columns.reshape(-1, 16)  # flat[:, 4 * j + i] is row i, column j
    # (N, 3) views of (3, N) arrays: each axis is one contiguous vector, to write here and
    # to multiply in `visible` (much faster than stacked 3x3 products or strided columns)
    centers, extents = out if out is not None else (new_boxes(len(flat)), new_boxes(len(flat)))
    for i in range(3):
        row = [flat[:, 4 * j + i] for j in range(3)]
        centers[:, i] = flat[:, 12 + i] + row[0] * center[0] + row[1] * center[1]
        centers[:, i] += row[2] * center[2]
        extents[:, i] = np.abs(row[0]) * half[0] + np.abs(row[1]) * half[1]
        extents[:, i] += np.abs(row[2]) * half[2]
    return centers, extents


def new_boxes(count: int) -> np.ndarray:
    """An (N, 3) array of `count` box centres or extents, each axis one contiguous vector."""
    return np.empty((3, count), np.float32).T


def visible(planes: np.ndarray, centers: np.ndarray, extents: np.ndarray) -> np.ndarray:
    """Which boxes are at least partly inside all six planes."""
    inside = np.ones(len(centers), bool)
    dtype = centers.dtype
    for a, b, c, d in planes.astype(dtype):
        # the plane's signed distance to each centre plus the box's reach towards it, one
        # axis at a time: (N, 3) views of (3, N) arrays make every column one contiguous
        # vector; a (6, 3) @ (3, N) product goes to BLAS, whose threads fight lavapipe's
        # for two cores (100,000 boxes: 15 ms against 1.2 ms)
        reach = centers[:, 0] * a
        reach += centers[:, 1] * b
        reach += centers[:, 2] * c
        reach += extents[:, 0] * abs(a)
        reach += extents[:, 1] * abs(b)
        reach += extents[:, 2] * abs(c)
        inside &= reach >= -d
    return inside


def matrix_rows(m: glm.mat4) -> np.ndarray:
    """A glm matrix as a row-major (4, 4) numpy array."""
    return np.frombuffer(m.to_bytes(), np.float32).reshape(4, 4).T
