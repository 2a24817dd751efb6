"""What `--scene` can name, turned into models, materials, entities and a camera.

- a scene file of ours (resources/scene/scene.json: models, entities, camera);
- one model in the book's format (`X.json` with `X-mat.json` beside it), placed as main.zig
  places Sponza (`--view book`) or framed by its bounds (`--view fit`);
- a glTF/GLB/OBJ file, converted once into a cache folder and then loaded as a model (one
  line on stdout says where the conversion is);
- `sponza` or `cube`: the book's own models, wherever `python -m game.book_data` (`make
  book-data`) or ZVK_BOOK_RES put them.
"""

from dataclasses import dataclass
from pathlib import Path

from eng.com.paths import CACHE_DIR, RES_DIR
from eng.json_fields import read_json
from eng.model_data import (
    MaterialData,
    ModelData,
    check_materials,
    load_materials,
    load_model,
    materials_path_for,
)
from eng.scene_data import CameraData, EntityData, load_scene
from game import book_data

DEFAULT_SCENE = RES_DIR / "scene" / "scene.json"
MODEL_CACHE = CACHE_DIR / "models"
CONVERTIBLE = {".gltf", ".glb", ".obj"}
# main.zig: Sponza at (0, 0, -4) scaled by 0.01; the camera at (0, 3, -4), turned 90 degrees
BOOK_ENTITY_POS = (0.0, 0.0, -4.0)
BOOK_ENTITY_SCALE = 0.01
BOOK_CAMERA = CameraData(pos=(0.0, 3.0, -4.0), pitch=0.0, yaw=0.0)


@dataclass
class SceneSpec:
    models: list[ModelData]
    materials: list[MaterialData]
    entities: list[EntityData]
    camera: CameraData
    view: str  # "scene" (as the file says), "book" or "fit"


def load_spec(path: Path | None, view: str | None) -> SceneSpec:
    """The scene to render for `--scene PATH` (None: the project's default scene)."""
    path = DEFAULT_SCENE if path is None else Path(path)
    if str(path) in book_data.MODELS and not path.exists():
        path = book_data.model_path(str(path))
    if path.suffix.lower() not in CONVERTIBLE | {".json"}:  # an STL is not "malformed JSON"
        from game.options import UsageError

        known = ", ".join(sorted(CONVERTIBLE | {".json"}))
        what = f"'{path.suffix}' files" if path.suffix else "a file without a suffix"
        raise UsageError(f"--scene {path}: {what} cannot be read; it takes {known}")
    if path.suffix.lower() in CONVERTIBLE:
        from eng.extras.convert_cache import (
            convert_cached,  # here: trimesh takes a second to import
        )

        converted = convert_cached(path, MODEL_CACHE)
        print(f"{path}: converted into {converted.absolute()}", flush=True)
        path = converted
    if _is_scene_file(path):
        data = load_scene(path)
        return SceneSpec(data.models, data.materials, data.entities, data.camera, view or "scene")
    model = load_model(path)
    materials = load_materials(materials_path_for(path))
    check_materials(model, materials)
    view = view or ("book" if model.id == "Sponza" else "fit")
    if view == "book":
        entity = EntityData(f"{model.id}Entity", model.id, BOOK_ENTITY_POS, scale=BOOK_ENTITY_SCALE)
        camera = BOOK_CAMERA
    else:
        entity = EntityData(f"{model.id}Entity", model.id, (0.0, 0.0, 0.0))
        camera = CameraData()
    return SceneSpec([model], materials, [entity], camera, view)


def _is_scene_file(path: Path) -> bool:
    doc = read_json(path)
    return isinstance(doc, dict) and "entities" in doc
