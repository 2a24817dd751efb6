"""Frustum culling (not in the book; `--culling`).

Each mesh's bounding box, moved into world space by its entity's model matrix, is tested against
the six planes of the camera's frustum; what cannot be seen is not drawn. The picture is the
same as the book's, which draws every mesh.
"""

import numpy as np
from pyglm import glm

from eng.draw_list import DrawItem
from eng.hooks import Extra, PassFrame
from eng.render_scn import RenderScn

# the 8 corners of a unit box, as 0/1 selectors between min and max
_CORNERS = np.array([[x, y, z] for x in (0, 1) for y in (0, 1) for z in (0, 1)], np.float32)


def frustum_planes(view_proj: glm.mat4) -> np.ndarray:
    """The (6, 4) planes a*x + b*y + c*z + d >= 0 of a right-handed, depth 0..1 frustum."""
    m = np.frombuffer(view_proj.to_bytes(), np.float32).reshape(4, 4).T  # row-major
    planes = np.stack([m[3] + m[0], m[3] - m[0], m[3] + m[1], m[3] - m[1], m[2], m[3] - m[2]])
    return planes / np.linalg.norm(planes[:, :3], axis=1, keepdims=True)


def world_boxes(local_min: np.ndarray, local_max: np.ndarray, matrices: np.ndarray) -> np.ndarray:
    """The world-space boxes (see `new_boxes`) around (N, 3) local boxes moved by (N, 4, 4)
    row-major model matrices."""
    corners = local_min[:, None, :] + _CORNERS[None] * (local_max - local_min)[:, None, :]
    world = np.einsum("nij,nkj->nki", matrices[:, :3, :3], corners) + matrices[:, None, :3, 3]
    low, high = world.min(axis=1), world.max(axis=1)
    boxes = new_boxes(len(matrices))
    boxes[:3], boxes[3:] = ((low + high) / 2).T, ((high - low) / 2).T
    return boxes


def new_boxes(count: int) -> np.ndarray:
    """Room for `count` world boxes: a (6, N) array whose rows 0-2 are the centres' x, y, z
    and rows 3-5 the half-extents, so that each axis is one contiguous vector."""
    return np.empty((6, count), np.float32)


def instance_boxes(
    low: np.ndarray, high: np.ndarray, columns: np.ndarray, out: np.ndarray | None = None
) -> np.ndarray:
    """The world boxes (see `new_boxes`) around one local box (low, high) moved by (N, 4, 4)
    matrices stored as columns (GLSL's order, eng/extras/instances.py), written into `out` if given.
    The same boxes as `world_boxes` gives, from the centre and the absolute rotation-scale
    part instead of eight corners."""
    center, half = (low + high) / 2, (high - low) / 2
    flat = columns.reshape(-1, 16)  # flat[:, 4 * j + i] is row i, column j
    boxes = new_boxes(len(flat)) if out is None else out
    for i in range(3):  # whole contiguous rows: stacked 3x3 products are several times slower
        row = [flat[:, 4 * j + i] for j in range(3)]
        boxes[i] = flat[:, 12 + i] + row[0] * center[0] + row[1] * center[1]
        boxes[i] += row[2] * center[2]
        boxes[3 + i] = np.abs(row[0]) * half[0] + np.abs(row[1]) * half[1]
        boxes[3 + i] += np.abs(row[2]) * half[2]
    return boxes


def visible(planes: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """Which of the world boxes (see `new_boxes`) are at least partly inside all six planes."""
    normals = planes[:, :3].astype(boxes.dtype)
    # (6, N): each plane's signed distance to each centre plus the box's reach towards it, as
    # one (6, 6) x (6, N) product. einsum, not @: BLAS's threads would fight lavapipe's for the
    # cores (100,000 boxes: 15 ms against 1 ms)
    reach = np.einsum("pk,kn->pn", np.concatenate([normals, np.abs(normals)], axis=1), boxes)
    reach += planes[:, 3:].astype(boxes.dtype)
    return np.all(reach >= 0, axis=0)  # whole rows: a reduction over a short last axis is slow


def matrix_rows(m: glm.mat4) -> np.ndarray:
    """A glm matrix as a row-major (4, 4) numpy array."""
    return np.frombuffer(m.to_bytes(), np.float32).reshape(4, 4).T


class Culling(Extra):
    """Picks the draw list's items inside the view frustum whenever the camera or the items
    move; `planes` are the frustum's, for the instanced draws (eng/extras/render_inst.py)."""

    def __init__(self) -> None:
        self.planes: np.ndarray | None = None
        self._view_proj: glm.mat4 | None = None
        self._items: list[DrawItem] = []
        self._local: tuple[np.ndarray, np.ndarray] = (np.zeros((0, 3)), np.zeros((0, 3)))
        self._boxes = new_boxes(0)  # the items' world boxes

    def prepare(self, scn: RenderScn, pass_frame: PassFrame) -> bool:
        items = scn.draw_list.items
        camera = pass_frame.scene.camera
        # pyglm 2.8's stubs match mat4 * mat4 to their mat4x2 overload, which comes first
        view_proj: glm.mat4 = (
            camera.proj_data.proj_matrix * camera.view_data.view_matrix  # type: ignore[assignment]
        )
        moved = pass_frame.items_changed
        if items is not self._items:  # a new draw list: its meshes' local boxes, once
            self._items, moved = items, True
            low = np.array([i.bounds_min for i in items], np.float32).reshape(-1, 3)
            high = np.array([i.bounds_max for i in items], np.float32).reshape(-1, 3)
            self._local = (low, high)
        if moved:  # the draw list is new or an entity moved: the world boxes again
            matrices = np.array([matrix_rows(i.entity.model_matrix) for i in items])
            self._boxes = world_boxes(*self._local, matrices.reshape(-1, 4, 4))
        elif view_proj == self._view_proj:
            return False
        self._view_proj = view_proj
        self.planes = frustum_planes(view_proj)
        shown = np.flatnonzero(visible(self.planes, self._boxes)).tolist()
        return scn.draw_list.show([items[i] for i in shown])
