"""Shader experiments (issue 13): `--shaders DIR` and `--watch-shaders` during a headless run."""

import logging
import shutil

import numpy as np

from eng.extras.capture import FrameCapture
from eng.extras.render_inst import Instancing
from eng.extras.shader_watch import SHADERS, ShaderSet, ShaderWatch
from game.main import Game
from game.scenes import load_spec

from .helpers import create_engine
from .test_cli import assert_one_line_error, run_game
from .test_shader_checks import MISMATCHES

QUICK = ["--headless", "--frames", "1", "--size", "32x24"]
MAGENTA = "    outFragColor = vec4(1.0, 0.0, 1.0, 1.0);\n}\n"


def shader_folder(tmp_path):
    folder = tmp_path / "shaders"
    folder.mkdir()
    for name in ("scn_vtx.glsl", "scn_frg.glsl"):
        shutil.copy(SHADERS / name, folder / name)
    return folder


def edit_main_end(folder, name: str, new_end: str) -> None:
    """Replaces the closing brace of main() in `name` by `new_end`."""
    path = folder / name
    text = path.read_text()
    path.write_text(text[: text.rindex("}")] + new_end)


class CaptureAndEdit(FrameCapture):
    """Every frame copied and read once done; after frame N, `edits[N]` is written: a new end
    of main() in a file, or a function of the folder that edits it."""

    def __init__(self, folder, edits: dict) -> None:
        super().__init__(every=True)
        self.folder, self.edits = folder, edits
        self.frames: dict[int, np.ndarray] = {}

    def after_frame(self, render, rendered: int) -> None:
        pixels = self.take()
        assert pixels is not None, "every frame is captured"
        self.frames[rendered] = pixels[..., :3]
        edit = self.edits.get(rendered)
        if callable(edit):
            edit(self.folder)
        elif edit is not None:
            edit_main_end(self.folder, *edit)


def frames_with_edits(
    constants, folder, edits: dict, count: int, instanced: bool = False
) -> dict[int, np.ndarray]:
    """Renders `count` frames of the default scene with `--watch-shaders` on `folder`, each
    captured; after frame N, `edits[N]` is made (see CaptureAndEdit; the engine polls the
    shaders before the next frame). Validation must stay silent. With `instanced` the whole
    scene is drawn through the instanced path."""
    instancing = Instancing() if instanced else None
    capture = CaptureAndEdit(folder, edits)
    extras = [] if instancing is None else [instancing]
    extras += [ShaderWatch(ShaderSet.create(folder, watch=True)), capture]
    game = Game(load_spec(None, None), instancing)
    engine = create_engine(game, constants, (160, 120), extras=extras)
    validation_log = engine.ctx.instance.validation_log
    stats = engine.run(count)
    frames = capture.frames
    assert stats.frames == count
    assert validation_log.messages == []
    return frames


def test_a_changed_shader_changes_later_frames_and_a_broken_one_keeps_the_picture(
    constants, tmp_path, caplog
):
    folder = shader_folder(tmp_path)
    broken = "    outFragColor = vec4(0.0, 1.0, 0.0, 1.0)  // no semicolon\n}\n"
    edits = {2: ("scn_frg.glsl", MAGENTA), 4: ("scn_frg.glsl", broken)}
    with caplog.at_level(logging.ERROR, logger="eng"):
        frames = frames_with_edits(constants, folder, edits, 8)
    assert np.array_equal(frames[1], frames[2])  # the committed shaders' picture
    magenta = (frames[3] == (255, 0, 255)).all(axis=2).mean()
    assert magenta > 0.2, f"only {magenta:.1%} of the pixels are magenta after the edit"
    assert (frames[2] == (255, 0, 255)).all(axis=2).mean() < 0.01
    for number in (4, 5, 8):  # after the broken edit: the last good pipeline still draws
        assert np.array_equal(frames[number], frames[3]), number
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1, [r.getMessage() for r in errors]
    message = errors[0].getMessage()
    assert "scn_frg.glsl" in message and "error" in message and "last good" in message


def test_a_changed_vertex_shader_also_rebuilds_the_instanced_path(constants, tmp_path):
    """The instanced pipelines' vertex shader is scn_vtx.glsl compiled with -DINSTANCED: an
    edit of scn_vtx.glsl moves a scene drawn entirely by the instanced path."""
    folder = shader_folder(tmp_path)
    shift = "    gl_Position.x += 0.5 * gl_Position.w;  // a quarter of the width to the right\n}\n"
    frames = frames_with_edits(constants, folder, {2: ("scn_vtx.glsl", shift)}, 3, instanced=True)
    assert np.array_equal(frames[1], frames[2])
    assert not np.array_equal(frames[2], frames[3]), "the instanced path kept its old shader"
    quarter = frames[2].shape[1] // 4
    same = (frames[3][:, quarter:] == frames[2][:, :-quarter]).all(axis=2).mean()
    assert same > 0.95, f"only {same:.1%} of the picture moved a quarter of the width"


def test_spirv_from_a_folder_and_bad_shader_folders(tmp_path):
    spv = tmp_path / "spv"
    spv.mkdir()
    for name in ("scn_vtx.spv", "scn_frg.spv"):
        shutil.copy(SHADERS / name, spv / name)
    result = run_game(*QUICK, "--shaders", str(spv))
    assert result.returncode == 0, result.stderr
    assert_one_line_error(run_game(*QUICK, "--shaders", str(tmp_path / "none")), "no such folder")
    (spv / "scn_frg.spv").unlink()
    assert_one_line_error(run_game(*QUICK, "--shaders", str(spv)), "scn_frg.glsl", "scn_frg.spv")
    (spv / "scn_frg.spv").write_bytes(b"not SPIR-V at all!!!")
    assert_one_line_error(run_game(*QUICK, "--shaders", str(spv)), "scn_frg.spv", "not SPIR-V")


def replaced(text: str, edits) -> str:
    for old, new in edits:
        assert old in text, old
        text = text.replace(old, new, 1)
    return text


def rewrite(name: str, text: str):
    """An edit of CaptureAndEdit: the watched folder's `name` gets `text`."""
    return lambda folder: (folder / name).write_text(text)


def test_shaders_that_do_not_fit_keep_the_last_good_pipelines(constants, tmp_path, caplog):
    """Each edit compiles but does not fit the pipeline: it is logged once, naming the file
    and the mismatch, and the last good pipelines keep drawing (before, lavapipe crashed on
    the set, and the others drew with validation errors)."""
    folder = shader_folder(tmp_path)
    frg, vtx = (folder / "scn_frg.glsl").read_text(), (folder / "scn_vtx.glsl").read_text()
    magenta = frg[: frg.rindex("}")] + MAGENTA
    edits = {
        2: rewrite("scn_frg.glsl", magenta),
        3: rewrite("scn_frg.glsl", replaced(magenta, MISMATCHES["push-constant size"][1])),
        4: rewrite("scn_frg.glsl", replaced(magenta, MISMATCHES["set"][1])),
        5: rewrite("scn_frg.glsl", magenta),  # good again: the same picture
        6: rewrite("scn_vtx.glsl", replaced(vtx, MISMATCHES["vertex input"][1])),
    }
    with caplog.at_level(logging.ERROR, logger="eng"):
        frames = frames_with_edits(constants, folder, edits, 8)
    magenta_share = (frames[3] == (255, 0, 255)).all(axis=2).mean()
    assert magenta_share > 0.2, f"only {magenta_share:.1%} of the pixels are magenta"
    for number in range(4, 9):
        assert np.array_equal(frames[number], frames[3]), number
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    expected = ["push-constant size", "set", "vertex input"]
    assert len(errors) == len(expected), errors
    for message, case in zip(errors, expected, strict=True):
        file, _, words = MISMATCHES[case]
        assert message.startswith(f"{folder / file}: "), message
        assert all(word in message for word in words), message
        assert message.endswith("(keeping the last good shaders)"), message


def test_a_broken_spirv_file_keeps_the_last_good_pipelines(constants, tmp_path, caplog):
    folder = tmp_path / "spv"
    folder.mkdir()
    for name in ("scn_vtx.spv", "scn_frg.spv"):
        shutil.copy(SHADERS / name, folder / name)
    good = (folder / "scn_frg.spv").read_bytes()
    edits = {
        2: lambda f: (f / "scn_frg.spv").write_bytes(good[:20] + bytes(range(256)) * 8),
        3: lambda f: (f / "scn_frg.spv").write_bytes(good[:400]),
        4: lambda f: (f / "scn_frg.spv").write_bytes((SHADERS / "scn_vtx.spv").read_bytes()),
    }
    with caplog.at_level(logging.ERROR, logger="eng"):
        frames = frames_with_edits(constants, folder, edits, 5)
    for number in range(2, 6):
        assert np.array_equal(frames[number], frames[1]), number
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 3, errors
    assert all(m.startswith(f"{folder / 'scn_frg.spv'}: ") for m in errors), errors
    assert "is not valid SPIR-V" in errors[0] and "is not valid SPIR-V" in errors[1]
    assert "is a vertex shader where a fragment shader is expected" in errors[2]
