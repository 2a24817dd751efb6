"""Fuzzing the model loader: 200 seeded mutations of a copy of the project's crate, a textured
box in the book's format (.json, .vtx, .idx, -mat.json) - bit flips, truncations, wrong sizes,
swapped, removed and retyped keys, huge and negative numbers. Each must end in a clean ModelError
or load; the mutations that load are rendered (up to RENDER_AT_MOST of them, 32x32, validation
on) and must render without a validation message or a leak. Never a crash, a hang or another
exception."""

import json
import os
import random
import shutil
import signal
from contextlib import contextmanager
from pathlib import Path

import pytest

from eng.geometry_files import load_geometry
from eng.json_fields import ModelError
from game.main import Game
from game.scenes import load_spec

from .helpers import CRATE, create_engine, run_engine

MODEL = CRATE.parent
FILES = ("crate.json", "crate.vtx", "crate.idx", "crate-mat.json")
MUTATIONS = int(os.environ.get("ZVK_FUZZ_MUTATIONS", "200"))  # `make fuzz` runs many more
RENDER_AT_MOST = 20
SEED = int(os.environ.get("ZVK_FUZZ_SEED", "6"))
# numpy warnings about NaN or overflow while loading or placing a model are failures here
pytestmark = pytest.mark.filterwarnings("error::RuntimeWarning")


@contextmanager
def deadline(seconds: int, what: str):
    """Fails instead of hanging (SIGALRM; the tests run on the main thread)."""

    def expired(signum, frame):
        raise AssertionError(f"{what} took more than {seconds} s (a hang?)")

    old = signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


# --- mutations --------------------------------------------------------------------------------

HUGE = [2**31, 2**32 + 4, 2**63, 2**64 + 12, 10**30, 1e308, -(2**63), 1.5e38]
ODD_VALUES = [None, True, "", "x", [], {}, [1, 2], -1, -12, 0, 0.5, 3.0, "12", float("1e-300")]


def _paths(node, prefix=()):
    """Every (path, value) inside a parsed JSON document."""
    yield prefix, node
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _paths(v, (*prefix, i))


def _parent(doc, path):
    node = doc
    for key in path[:-1]:
        node = node[key]
    return node


def mutate_json(doc, rng: random.Random) -> tuple[object, str]:
    """One structural change to a JSON document; returns (document, description)."""
    candidates = [p for p, _ in _paths(doc) if p]
    path = rng.choice(candidates)
    parent, key = _parent(doc, path), path[-1]
    op = rng.choice(["remove", "swap", "huge", "negative", "retype", "rename", "duplicate"])
    if op == "remove":
        del parent[key]
    elif op == "swap" and isinstance(parent, dict) and len(parent) > 1:
        other = rng.choice([k for k in parent if k != key])
        parent[key], parent[other] = parent[other], parent[key]
    elif op == "huge":
        parent[key] = rng.choice(HUGE)
    elif op == "negative":
        value = parent[key]
        parent[key] = -value if isinstance(value, int | float) and value else -rng.randint(1, 99)
    elif op == "rename" and isinstance(parent, dict):
        parent[key + "X"] = parent.pop(key)
    elif op == "duplicate" and isinstance(parent, list):
        parent.append(parent[key])
    else:
        parent[key] = rng.choice(ODD_VALUES)
    return doc, f"{op} {'/'.join(map(str, path))}"


def mutate_bytes(data: bytes, rng: random.Random, unit: int) -> tuple[bytes, str]:
    op = rng.choice(["flip", "flip", "truncate", "cut-items", "add-items", "empty", "garbage"])
    if op == "flip" and data:
        buf = bytearray(data)
        for _ in range(rng.randint(1, 8)):
            i = rng.randrange(len(buf))
            buf[i] ^= 1 << rng.randrange(8)
        return bytes(buf), f"flip bits of {len(data)} bytes"
    if op == "truncate":
        n = rng.randrange(len(data) + 1)
        return data[:n], f"truncate to {n}"
    if op == "cut-items":
        n = rng.randint(1, 6) * unit
        return data[:-n], f"cut {n} bytes"
    if op == "add-items":
        n = rng.randint(1, 6) * unit
        return data + rng.randbytes(n), f"add {n} bytes"
    if op == "empty":
        return b"", "empty"
    return rng.randbytes(rng.randint(1, 200)), "garbage"


def make_mutation(folder: Path, rng: random.Random) -> str:
    """Writes a fresh copy of the model into `folder` with one or two mutations."""
    originals = {name: (MODEL / name).read_bytes() for name in FILES}
    for name, data in originals.items():
        (folder / name).write_bytes(data)
    described = []
    for _ in range(rng.choice([1, 1, 1, 2])):
        name = rng.choice(FILES)
        path = folder / name
        data = path.read_bytes()
        if name.endswith(".json") and rng.random() < 0.75:
            try:
                doc = json.loads(data)
            except ValueError:
                doc = None
            if doc is not None:
                doc, what = mutate_json(doc, rng)
                path.write_text(json.dumps(doc))
                described.append(f"{name}: {what}")
                continue
        data, what = mutate_bytes(data, rng, 20 if name.endswith(".vtx") else 4)
        path.write_bytes(data)
        described.append(f"{name}: {what}")
    return "; ".join(described)


def load_checked(model_json: Path):
    """What the engine does with a model before the GPU sees it: the scene spec (model,
    materials, their cross-check) and the geometry checks of the upload."""
    spec = load_spec(model_json, "fit")
    for model in spec.models:
        load_geometry(model)
    return spec


# --- the test ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory):
    """Runs the 200 mutations through the loader: (description, folder or None, error)."""
    root = tmp_path_factory.mktemp("fuzz")
    work = root / "work"
    work.mkdir()
    for extra in MODEL.iterdir():  # the textures and the rest, never mutated
        if extra.name not in FILES:
            shutil.copy(extra, work / extra.name)
    rng = random.Random(SEED)
    results = []
    with deadline(max(120, MUTATIONS // 2), f"loading {MUTATIONS} mutated models"):
        for i in range(MUTATIONS):
            what = make_mutation(work, rng)
            try:
                load_checked(work / "crate.json")
            except ModelError as exc:
                message = str(exc)
                assert "\n" not in message and message.strip(), (what, message)
                results.append((what, None, message))
                continue
            except Exception as exc:  # anything else is a bug in the loader
                raise AssertionError(f"mutation {i} ({what}): {type(exc).__name__}: {exc}") from exc
            kept = root / f"accepted-{i}"
            shutil.copytree(work, kept)
            results.append((what, kept, None))
    return results


def test_every_mutation_is_rejected_cleanly_or_loads(outcomes):
    assert len(outcomes) == MUTATIONS
    rejected = [o for o in outcomes if o[1] is None]
    accepted = [o for o in outcomes if o[1] is not None]
    # a fuzz run that rejects everything (or nothing) tests little: both must occur
    assert len(rejected) >= MUTATIONS // 2, len(rejected)
    assert accepted, "no mutation loaded; the fuzzer is too blunt"
    # every rejection names a file of the model
    for what, _, message in rejected:
        assert any(name in message for name in (*FILES, "crate")), (what, message)


def test_accepted_mutations_render_without_a_validation_message(constants, outcomes):
    accepted = [o for o in outcomes if o[1] is not None][:RENDER_AT_MOST]
    assert accepted
    with deadline(20 * len(accepted), f"rendering {len(accepted)} accepted mutations"):
        for what, folder, _ in accepted:
            game = Game(load_spec(folder / "crate.json", "fit"))
            engine = create_engine(game, constants, (32, 32), capture=True)
            validation_log = engine.ctx.instance.validation_log
            vma = engine.ctx.vma
            stats, image = run_engine(engine, 2)  # cleanup raises on a VMA leak
            assert stats.frames == 2, what
            assert image.shape == (32, 32, 4), what
            assert vma.live_at_destroy == 0, what
            assert validation_log.messages == [], (what, validation_log.messages)
