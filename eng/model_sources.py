"""What the model converter reads (not in the book, whose modelGen.zig takes what assimp gives
it): the input file, every file it names (glTF buffers and images, an .mtl and its textures),
read through one resolver that keeps them inside the model's folder and fingerprints each one
for the conversion cache, and the glTF checks that trimesh does not make."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import struct
import urllib.parse
from pathlib import Path
from typing import Any, TypeGuard

import trimesh

from eng.com.safe_io import MODEL_INPUT_LIMIT, FileProblemError, parse_json, read_file
from eng.json_fields import ModelError

log = logging.getLogger("eng.model")

GLTF_SUFFIXES = (".gltf", ".glb")
Fingerprint = list[Any] | str
"""Of a file the model names: [the file it resolved to, size, "mtime_ns", sha256], or why it
cannot be read."""
_JSON_CHUNK, _BIN_CHUNK = 0x4E4F534A, 0x004E4942  # "JSON", "BIN\0"
_MATERIAL_TAG = "zvk-material-"


class ConvertError(ModelError):
    """The input cannot be converted; str() is one line naming the file."""


class InputFiles(trimesh.resolvers.FilePathResolver):
    """The input and the files it names, for trimesh and for the converter: inside the
    model's folder (links resolved), regular files, bounded; glTF URIs percent-decoded. Each
    is read once and fingerprinted (missing ones too), so that the cache sees any change; the
    input itself is the name ""."""

    def __init__(self, source: Path) -> None:
        try:
            super().__init__(str(source))
        except ValueError:  # trimesh's: no such folder
            raise ConvertError(source, "file not found") from None
        self.source = source
        self.uris = source.suffix.lower() in GLTF_SUFFIXES
        self.fingerprints: dict[str, Fingerprint] = {}
        self.paths: dict[str, Path] = {}  # of the files read
        self._data: dict[str, bytes] = {}

    def read(self, name: str) -> bytes:
        """The bytes of the file `name` names; FileProblemError says why it cannot be used."""
        if name not in self._data:
            try:
                path = self.source if name == "" else self._locate(name)
                data = read_file(path, MODEL_INPUT_LIMIT, "a model file")
                mtime = path.stat().st_mtime_ns
            except FileProblemError as e:
                self.fingerprints[name] = str(e)
                raise
            except OSError as e:  # removed just after it was read
                self.fingerprints[name] = f"cannot read it ({e.strerror or e})"
                raise FileProblemError(self.fingerprints[name]) from None
            where = os.path.relpath(path, self.parent)
            digest = hashlib.sha256(data).hexdigest()
            self.fingerprints[name] = [where, len(data), str(mtime), digest]  # str: beyond 2**53
            self._data[name], self.paths[name] = data, path
        return self._data[name]

    def read_input(self) -> bytes:
        """The input file's bytes; ConvertError if it cannot be read."""
        try:
            return self.read("")
        except FileProblemError as e:
            raise ConvertError(self.source, str(e)) from None

    def get(self, name: str) -> bytes:
        """trimesh's way in: FileNotFoundError for a file that cannot be used."""
        try:
            return self.read(name)
        except FileProblemError as e:
            raise FileNotFoundError(f"{name}: {e}") from None

    def fingerprint(self, name: str) -> Fingerprint:
        """What `read(name)` finds now (for the cache: has the file changed?)."""
        try:
            self.read(name)
        except FileProblemError as exc:  # recorded as missing or unusable: that is the answer
            log.debug("%s", exc)
        return self.fingerprints[name]

    def _locate(self, name: str) -> Path:
        """As trimesh's resolver: the name, else its last part, inside the model's folder."""
        if self.uris:
            name = urllib.parse.unquote(name)
        problem = "file not found"
        for candidate in (name.strip(), name.replace("\\", "/").rsplit("/", 1)[-1]):
            try:
                path = self.absolute(candidate)  # links resolved
            except ValueError:  # outside the folder, or not a file name at all
                problem = "not a file inside the model's folder (a link or a path out of it)"
                continue
            if path.exists():
                return path
        raise FileProblemError(problem)


def gltf_json(path: Path, data: bytes) -> tuple[dict[str, Any], bytes | None] | None:
    """A glTF input's JSON, checked, and a .glb's binary chunk; None for other inputs."""
    suffix, binary = path.suffix.lower(), None
    if suffix not in GLTF_SUFFIXES:
        return None
    text = data
    if suffix == ".glb":
        if len(data) < 20 or data[:4] != b"glTF":
            raise ConvertError(path, "not a .glb file (no glTF header)")
        length, kind = struct.unpack_from("<II", data, 12)
        if kind != _JSON_CHUNK:
            raise ConvertError(path, "its first chunk is not JSON")
        text, rest = data[20 : 20 + length], data[20 + length :]
        if len(rest) >= 8 and struct.unpack_from("<I", rest, 4)[0] == _BIN_CHUNK:
            binary = rest[8 : 8 + struct.unpack_from("<I", rest)[0]]
    try:
        doc = parse_json(text)  # trimesh hides JSON errors behind odd ones, or recurses
    except FileProblemError as e:
        raise ConvertError(path, f"glTF JSON: {e}") from None
    if not isinstance(doc, dict):
        raise ConvertError(path, "glTF JSON: not an object")
    _check_nodes(path, doc)
    for i, accessor in enumerate(gltf_list(path, doc, "accessors")):
        count = accessor.get("count") if isinstance(accessor, dict) else None
        if not _size(count) or count < 1:
            raise ConvertError(path, f"accessor {i}: count {count!r} is not a positive integer")
    buffers = gltf_list(path, doc, "buffers")
    for i, view in enumerate(gltf_list(path, doc, "bufferViews")):
        view = view if isinstance(view, dict) else {}
        buffer, start, length = (
            view.get("buffer"),
            view.get("byteOffset", 0),
            view.get("byteLength"),
        )
        size = buffers[buffer].get("byteLength") if is_index(buffer, buffers) and isinstance(
            buffers[buffer], dict) else None  # fmt: skip
        if not (_size(start) and _size(length) and _size(size)) or start + length > size:
            raise ConvertError(
                path, f"bufferView {i} is not within a buffer (buffer {buffer!r}, byteOffset "
                f"{start!r}, byteLength {length!r}, the buffer's byteLength {size!r})"
            )  # fmt: skip
    return doc, binary


def _size(value: object) -> TypeGuard[int]:
    """Whether a JSON value is a count or byte size: an integer, 0 or more."""
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def gltf_list(path: Path, doc: dict[str, Any], key: str) -> list[Any]:
    """A top-level list of a glTF document (empty when absent)."""
    value = doc.get(key, [])
    if not isinstance(value, list):
        raise ConvertError(path, f"glTF '{key}' is not a list")
    return value


def _check_nodes(path: Path, doc: dict[str, Any]) -> None:
    """glTF's nodes are disjoint trees (trimesh loops on a cycle): every child a node index,
    no node with two parents, no cycle, and the scenes' nodes are roots; each node's mesh is
    one of the glTF's."""
    nodes, meshes = gltf_list(path, doc, "nodes"), gltf_list(path, doc, "meshes")
    parent: dict[int, int] = {}
    for i, node in enumerate(nodes):
        if not isinstance(node, dict) or not isinstance(node.get("children", []), list):
            raise ConvertError(path, f"node {i} is not an object with a list of 'children'")
        if "mesh" in node and not is_index(node["mesh"], meshes):
            raise ConvertError(path, f"node {i}: mesh {node['mesh']!r} is not a mesh index")
        for child in node.get("children", []):
            if not is_index(child, nodes):
                raise ConvertError(path, f"node {i}: child {child!r} is not a node index")
            if child in parent:
                raise ConvertError(
                    path, f"node {child} has two parents (nodes {parent[child]} and {i})"
                )
            parent[child] = i
    placed = [i for i in range(len(nodes)) if i not in parent]
    for i in placed:  # grows while it is walked: every node under a root
        placed.extend(nodes[i].get("children", []))
    if len(placed) < len(nodes):  # with one parent each, the others hang from a cycle
        node = min(set(range(len(nodes))) - set(placed))
        for _ in nodes:
            node = parent[node]  # after len(nodes) steps up, on the cycle itself
        raise ConvertError(path, f"node {node} is its own ancestor (the node graph has a cycle)")
    for s, scene in enumerate(gltf_list(path, doc, "scenes")):
        roots = scene.get("nodes", []) if isinstance(scene, dict) else None
        if not isinstance(roots, list) or not all(is_index(n, nodes) for n in roots):
            raise ConvertError(path, f"scene {s}: 'nodes' is not a list of node indices")
        if inner := [n for n in roots if n in parent]:
            raise ConvertError(path, f"scene {s}: node {inner[0]} is not a root (it has a parent)")


def is_index(value: object, items: list[Any]) -> TypeGuard[int]:
    """Whether a JSON value is an index into `items`."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < len(items)


def for_trimesh(path: Path, data: bytes, doc: dict[str, Any]) -> bytes:
    """The glTF input as trimesh is given it: each material named by its index, so that the
    material of a mesh it gives back says which of the file's materials it is
    (`material_index`), and no images, which the converter reads itself (model_textures)."""
    materials = gltf_list(path, doc, "materials")
    if not materials and "images" not in doc:
        return data
    changed = {k: v for k, v in doc.items() if k != "images"}
    changed["materials"] = [_tagged(m, i) for i, m in enumerate(materials)]
    text = json.dumps(changed).encode()
    if path.suffix.lower() == ".gltf":
        return text
    text += b" " * (-len(text) % 4)  # a .glb: the same container around the new JSON chunk
    rest = data[20 + struct.unpack_from("<I", data, 12)[0] :]
    version = struct.unpack_from("<I", data, 4)[0]
    header = struct.pack(
        "<4sIIII", b"glTF", version, 20 + len(text) + len(rest), len(text), _JSON_CHUNK
    )
    return header + text + rest


def _tagged(material: object, index: int) -> object:
    return (
        dict(material, name=f"{_MATERIAL_TAG}{index}") if isinstance(material, dict) else material
    )


def material_index(name: object) -> int | None:
    """Which of the glTF's materials a trimesh material is (see `for_trimesh`)."""
    if isinstance(name, str) and name.startswith(_MATERIAL_TAG):
        return int(name.removeprefix(_MATERIAL_TAG))
    return None
