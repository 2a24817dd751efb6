"""Instance batches (not in the book): many copies of one model, for the scale scenes.

The book gives every entity its own model matrix, pushed before each draw. A batch keeps the
matrices of all its instances in one numpy array instead, in the memory order of GLSL's mat4
(column-major), so a game can move every instance with a few numpy operations and the renderer
can copy the visible ones into a storage buffer in one go (eng/extras/render_inst.py).
"""

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # for annotations only
    from eng.entity import Entity


class InstanceBatch:
    """`count` instances of the model `model_id`; `columns[n]` is instance n's model matrix as
    four columns (GLSL's layout: `columns[n, j, i]` is row i, column j). `version` goes up with
    every change, so the renderer knows when to move the instances' boxes again."""

    def __init__(self, batch_id: str, model_id: str, columns: np.ndarray) -> None:
        self.id = batch_id
        self.model_id = model_id
        self.columns = np.ascontiguousarray(columns, np.float32).reshape(-1, 4, 4)
        self.version = 0

    @property
    def count(self) -> int:
        return len(self.columns)

    def set_transforms(
        self,
        positions: np.ndarray,
        yaw: np.ndarray,
        scale: float = 1.0,
        base: np.ndarray | None = None,
    ) -> None:
        """All instances' matrices from positions and angles, then the (4, 4) `base` matrix
        (in columns) if given (see `write_transforms`)."""
        rows = None if base is None else np.asarray(base, np.float32)[:3, :3].T
        write_transforms(self.columns, positions, yaw, scale, rows)
        self.version += 1

    def moved(self) -> None:
        """Its matrices were written in place (through an array they share, say)."""
        self.version += 1


def write_transforms(
    columns: np.ndarray,
    positions: np.ndarray,
    yaw: np.ndarray,
    scale: float = 1.0,
    rows: np.ndarray | None = None,
) -> None:
    """Writes (N, 4, 4) matrices, as columns, in a few vector operations: translation *
    rotation about +y by `yaw` radians * uniform `scale` (the book's Entity.update for a turn
    about the vertical axis), then a resting pose's rotation-scale part if given: `rows[i, j]`
    is its row i, column j, one (3, 3) for all or a contiguous (3, 3, N) with one per instance.
    """
    cos = np.cos(yaw, dtype=np.float32) * np.float32(scale)
    sin = np.sin(yaw, dtype=np.float32) * np.float32(scale)
    rows = np.eye(3, dtype=np.float32) if rows is None else rows
    flat = columns.reshape(-1, 16)  # flat[:, 4 * j + i] is row i, column j
    for j in range(3):  # contiguous vectors, one per element: broadcasting over the small
        # axes of (N, 4, 4) would be several times slower
        flat[:, 4 * j] = cos * rows[0, j] + sin * rows[2, j]
        flat[:, 4 * j + 1] = scale * rows[1, j]
        flat[:, 4 * j + 2] = cos * rows[2, j] - sin * rows[0, j]
        flat[:, 4 * j + 3] = 0.0
    flat[:, 12:15] = positions
    flat[:, 15] = 1.0


def batches_from_entities(entities: "list[Entity]") -> list[InstanceBatch]:
    """Entities grouped by model, each group one batch of their model matrices (`--instanced`:
    a scene of the book's kind drawn through the instanced path)."""
    groups: dict[str, list[Entity]] = {}
    for entity in entities:
        groups.setdefault(entity.model_id, []).append(entity)
    return [
        InstanceBatch(
            f"{model_id}-batch",
            model_id,
            np.array([np.frombuffer(e.model_matrix.to_bytes(), np.float32) for e in group]),
        )
        for model_id, group in groups.items()
    ]
