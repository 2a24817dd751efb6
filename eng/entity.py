"""Book ch.7 (entity.zig): an instance of a model, placed in the scene."""

from pyglm import glm


class Entity:
    """Position, rotation (quaternion) and uniform scale -> `model_matrix`."""

    def __init__(self, entity_id: str, model_id: str) -> None:
        self.id = entity_id
        self.model_id = model_id
        self.pos = glm.vec3(0.0)
        self.rotation = glm.quat()  # identity
        self.scale = 1.0
        self.model_matrix = glm.mat4(1.0)
        self.version = 0  # bumped by update(), so a renderer knows when to re-read the matrix
        self.update()

    def set_pos(self, x: float, y: float, z: float) -> None:
        self.pos = glm.vec3(x, y, z)

    def set_rotation_deg(self, x: float, y: float, z: float) -> None:
        """Euler angles in degrees, applied about x, then y, then z."""
        self.rotation = (
            glm.angleAxis(glm.radians(z), glm.vec3(0, 0, 1))
            * glm.angleAxis(glm.radians(y), glm.vec3(0, 1, 0))
            * glm.angleAxis(glm.radians(x), glm.vec3(1, 0, 0))
        )

    def update(self) -> None:
        """model = translation * rotation * scale (the book's S*R*T in row-vector form)."""
        # pyglm 2.8's stubs match mat4 * mat4 to their mat4x2 overload, which comes first
        self.model_matrix = (
            glm.translate(self.pos) * glm.mat4_cast(self.rotation) * glm.scale(glm.vec3(self.scale))  # type: ignore[assignment]
        )
        self.version += 1
