"""The base colour textures of a model's materials (not in the book, whose modelGen.zig copies
what assimp names): found in the glTF JSON or the OBJ's .mtl, read through InputFiles and
decoded as the engine decodes them, so that every texture the converter cannot use is named
with the reason; and the names they take in the output folder."""

from __future__ import annotations

import io
import logging
import urllib.parse
import urllib.request
from collections.abc import Collection
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image

from eng.com.safe_io import FileProblemError
from eng.image_files import ImageProblemError, decode_image
from eng.model_sources import InputFiles, gltf_list, is_index

log = logging.getLogger("eng.model")

# options of an .mtl map statement and how many values each takes at most (`-s 1 1 1 a.png`)
_MTL_OPTIONS = {"-blendu": 1, "-blendv": 1, "-bm": 1, "-boost": 1, "-cc": 1, "-clamp": 1,
                "-imfchan": 1, "-mm": 2, "-o": 3, "-s": 3, "-t": 3, "-texres": 1,
                "-type": 1}  # fmt: skip


@dataclass(eq=False, slots=True)
class TextureSource:
    """One image the materials name: its bytes, or `problem` says why it cannot be used."""

    label: str  # the file as the model names it, or "image N (embedded)"
    data: bytes = b""
    problem: str = ""
    path: Path | None = None  # the file it was read from


def gltf_textures(
    path: Path, doc: dict[str, Any], files: InputFiles, binary: bytes | None
) -> dict[int, TextureSource]:
    """The base colour texture of each glTF material that names one, by material index (one
    TextureSource per texture and per image, however many materials share it)."""
    by_texture: dict[str, TextureSource] = {}
    by_image: dict[int, TextureSource] = {}
    result = {}
    for m, material in enumerate(gltf_list(path, doc, "materials")):
        info = _base_colour(material)
        if info is not None:
            texture = _dict(info).get("index")
            if repr(texture) not in by_texture:
                by_texture[repr(texture)] = _gltf_texture(
                    path, doc, files, binary, texture, by_image
                )
            result[m] = by_texture[repr(texture)]
    return result


def _gltf_texture(
    path: Path,
    doc: dict[str, Any],
    files: InputFiles,
    binary: bytes | None,
    texture: object,
    by_image: dict[int, TextureSource],
) -> TextureSource:
    textures, images = gltf_list(path, doc, "textures"), gltf_list(path, doc, "images")
    if not is_index(texture, textures) or not isinstance(textures[texture], dict):
        return TextureSource(f"#{texture!r}", problem="not one of the glTF's textures")
    # an extension's image (EXT_texture_webp ...) first, as trimesh does
    extensions = _dict(textures[texture].get("extensions")).values()
    candidates = [_dict(e).get("source") for e in extensions]
    candidates.append(textures[texture].get("source"))
    image = next((c for c in candidates if is_index(c, images)), None)
    if image is None or not isinstance(images[image], dict):
        return TextureSource(f"#{texture}", problem="it names none of the glTF's images")
    if image not in by_image:
        by_image[image] = _gltf_image(path, doc, files, binary, image, images[image])
    return by_image[image]


def _base_colour(material: object) -> object:
    """A glTF material's base colour textureInfo (KHR_materials_pbrSpecularGlossiness: its
    diffuse texture, as trimesh reads it), or None."""
    pbr = _dict(_dict(material).get("pbrMetallicRoughness"))
    if "baseColorTexture" in pbr:
        return pbr["baseColorTexture"]
    extensions = _dict(_dict(material).get("extensions"))
    return _dict(extensions.get("KHR_materials_pbrSpecularGlossiness")).get("diffuseTexture")


def _dict(value: object) -> dict[str, Any]:
    """A JSON object, or {} for anything else."""
    return value if isinstance(value, dict) else {}


def _gltf_image(
    path: Path,
    doc: dict[str, Any],
    files: InputFiles,
    binary: bytes | None,
    index: int,
    image: dict,
) -> TextureSource:
    uri = image.get("uri")
    if "uri" in image and (not isinstance(uri, str) or uri == ""):  # "": the glTF itself
        return TextureSource(f"image {index}", problem=f"its uri {uri!r} names no file")
    if isinstance(uri, str) and not uri.startswith("data:"):
        return _file_source(files, uri, urllib.parse.unquote(uri))
    if uri is None and "bufferView" not in image:
        return TextureSource(f"image {index}", problem="it has neither a uri nor a bufferView")
    label = f"image {index} ({'a data URI' if uri else 'embedded'})"
    try:
        if uri:
            return TextureSource(label, _data_uri(uri))
        return TextureSource(label, _buffer_view(path, doc, files, binary, image["bufferView"]))
    except FileProblemError as e:
        return TextureSource(label, problem=str(e))


def _file_source(files: InputFiles, name: str, label: str) -> TextureSource:
    try:
        data = files.read(name)
    except FileProblemError as e:
        return TextureSource(label, problem=str(e))
    return TextureSource(label, data, path=files.paths[name])


def _data_uri(uri: str) -> bytes:
    try:
        with urllib.request.urlopen(uri) as response:  # a data: URL is decoded, not fetched
            return bytes(response.read())
    except (ValueError, OSError) as e:
        raise FileProblemError(f"not a valid data URI ({e})") from None


def _buffer_view(
    path: Path, doc: dict[str, Any], files: InputFiles, binary: bytes | None, index: object
) -> bytes:
    views, buffers = gltf_list(path, doc, "bufferViews"), gltf_list(path, doc, "buffers")
    if not is_index(index, views):
        raise FileProblemError(f"bufferView {index!r} is not one of the glTF's")
    view = views[index]  # gltf_json has checked that it lies within its buffer
    uri = buffers[view["buffer"]].get("uri")
    if uri is None:
        if binary is None:
            raise FileProblemError("its buffer is a .glb's binary chunk, and there is none")
        data = binary
    elif isinstance(uri, str):
        data = _data_uri(uri) if uri.startswith("data:") else files.read(uri)
    else:
        raise FileProblemError(f"buffer {view['buffer']}: its uri is not a string")
    start = view.get("byteOffset", 0)
    return data[start : start + view["byteLength"]]


def mtl_textures(data: bytes, files: InputFiles) -> tuple[dict[str, TextureSource], str]:
    """The map_Kd texture of each material of an OBJ's .mtl, by material name, as trimesh
    finds them; and why the .mtl cannot be read ("" if it can, or there is none)."""
    text = data.decode("utf-8", "replace").replace("\r\n", "\n") + "\n"
    start = text.find("mtllib")  # as trimesh: the first one
    if start < 0:
        return {}, ""
    library = text[start + 6 : text.find("\n", start)].strip()
    try:
        mtl = files.read(library).decode("utf-8", "replace")
    except FileProblemError as e:
        return {}, f"material library {library}: {e}"
    textures: dict[str, TextureSource] = {}
    by_name: dict[str, TextureSource] = {}  # one per file, however many materials share it
    material = None
    for line in mtl.splitlines():
        words = line.split()
        if len(words) > 1 and words[0].lower() == "newmtl":
            material = " ".join(words[1:])
        elif len(words) > 1 and words[0].lower() == "map_kd" and material is not None:
            name = _mtl_file_name(line.strip()[len(words[0]) :].strip())
            if name not in by_name:
                by_name[name] = _file_source(files, name, name)
            textures[material] = by_name[name]
    return textures, ""


def _mtl_file_name(statement: str) -> str:
    """The file of an .mtl map statement, after its options."""
    words = statement.split()
    if not words or words[0].lower() not in _MTL_OPTIONS:
        return statement  # a name with spaces stays as it is
    while len(words) > 1 and words[0].lower() in _MTL_OPTIONS:
        most = _MTL_OPTIONS[words.pop(0).lower()]
        for _ in range(most):
            if len(words) > 1 and (most == 1 or _is_number(words[0])):
                words.pop(0)
    return " ".join(words)


def _is_number(word: str) -> bool:
    try:
        float(word)
    except ValueError:
        return False
    return True


def check_decodes(sources: Collection[TextureSource]) -> None:
    """Decodes each readable texture as the engine does (in parallel: Pillow releases the
    GIL); one that does not decode gets its problem."""
    readable = [s for s in sources if not s.problem]
    with ThreadPoolExecutor(max_workers=4) as pool:
        for source, problem in zip(readable, pool.map(_problem, readable), strict=True):
            source.problem = problem


def _problem(source: TextureSource) -> str:
    try:
        decode_image(source.data)
    except ImageProblemError as e:
        return str(e)
    return ""


class OutputTextures:
    """The name of each texture in the output folder: a file the model names keeps its name
    (then -1, -2, ... if taken), an embedded image is `<model>-tex-N`; never a hidden name, nor
    one in `avoid`, unless that file already is the texture's own (converting a model into its
    own folder)."""

    def __init__(self, output_dir: Path, name: str, avoid: Collection[str]) -> None:
        self.output_dir, self.name, self.avoid = output_dir, name, avoid
        self.targets: dict[TextureSource, Path] = {}

    def add(self, source: TextureSource) -> Path:
        if source not in self.targets:
            stem, suffix = f"{self.name}-tex-{len(self.targets)}", _suffix(source.data)
            if source.path is not None and source.path.stem.lstrip("."):
                stem, suffix = source.path.stem.lstrip("."), source.path.suffix
            candidate, n = f"{stem}{suffix}", 1
            while not self._usable(candidate, source.path):
                candidate, n = f"{stem}-{n}{suffix}", n + 1
            self.targets[source] = self.output_dir / candidate
        return self.targets[source]

    def _usable(self, name: str, path: Path | None) -> bool:
        if any(t.name == name for t in self.targets.values()):
            return False
        target = self.output_dir / name
        return name not in self.avoid or (
            path is not None and target.exists() and target.samefile(path)
        )

    def unchanged(self) -> set[Path]:
        """Outputs that already are the file the model names: left as they are."""
        return {
            target
            for source, target in self.targets.items()
            if source.path is not None and target.exists() and target.samefile(source.path)
        }

    def write(self, folder: Path) -> None:
        """Writes the textures into `folder` under the names they take in the output folder,
        except the `unchanged()` ones."""
        unchanged = self.unchanged()
        for source, target in self.targets.items():
            if target not in unchanged:
                (folder / target.name).write_bytes(source.data)
                log.info("texture %s", target.name)


def _suffix(data: bytes) -> str:
    """The file suffix of an embedded image's format."""
    with Image.open(io.BytesIO(data)) as img:
        return {"JPEG": ".jpg"}.get(str(img.format), f".{str(img.format).lower()}")
