"""Ctrl-C between any two statements of a load: the sweep behind
tests/test_reliability_engine.py, run in a child process (a double destroy can crash it).

`python -m tests.interrupt_sweep START` surveys the injection points of a headless load of
the default scene (and one captured frame), then injects a KeyboardInterrupt at each point
from index START on, in a fresh engine each time, and prints one line per point:
`INDEX START CALLERS` and then
`INDEX ok`, or `INDEX FAIL CALLERS | where: why`. The first line is `POINTS N`. A point is ok
when the KeyboardInterrupt came out as itself, every object made was cleaned up
(eng/com/live.py), the VMA allocator found no live allocation and validation said nothing.
"""

import ast
import re
import sys
from pathlib import Path

from eng.com import common
from eng.com.interrupts import teardown
from eng.com.live import live_counts
from eng.vk.validation import ValidationLog
from game.main import Game
from game.scenes import load_spec
from tests.helpers import create_engine

ROOT = Path(__file__).resolve().parents[1]
ENG = ROOT / "eng"
SWEPT_FILES = [
    *sorted((ENG / "vk").glob("*.py")),
    *(ENG / n for n in ("render.py", "render_scn.py", "texture_cache.py", "models_cache.py")),
    *(ENG / n for n in ("draw_list.py", "pass_structs.py", "attachment.py", "hooks.py")),
    *(ENG / "extras" / n for n in ("offscreen.py", "profile.py", "capture.py")),
    ENG / "engine.py",
]
CREATES = re.compile(
    r"vkCreate|vkAllocate|vmaCreate|\.create\(|_create|add_texture|add_default|add_desc_set"
    r"|staged_upload|record_upload|append\(|submit|\.begin\(|\.map\("
)

# Not injected into: functions marked `@teardown` (eng/com/interrupts.py: they hold Ctrl-C
# while they clean up), and whatever runs inside one; and `__enter__`, a `with` statement's
# hand-over (Python calls `__exit__` only once `__enter__` has returned, so no code can guard
# the `return self` in between).
TEARDOWN_CODE = teardown(lambda: None).__code__  # the wrapper every @teardown runs in


def _skipped(fn: ast.FunctionDef) -> bool:
    decorators = [ast.unparse(d) for d in fn.decorator_list]
    return "teardown" in decorators or fn.name == "__enter__"


def _in_teardown(frame) -> bool:
    while frame is not None:
        if frame.f_code is TEARDOWN_CODE:
            return True
        frame = frame.f_back
    return False


def _injection_points(path: Path) -> set[int]:
    """The lines of `path` where an interrupt is injected: the first statement of every
    function (an exception from the call as a whole), and every statement that follows the
    function's first create. Left out: cleanup functions and `except`/`finally` bodies, the
    code that runs because of an exception (an exception inside cleanup itself is beyond what
    Python code can guard against)."""
    source = path.read_text()
    lines = source.splitlines()
    tree = ast.parse(source)
    handlers = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Try):
            for stmt in [*(s for h in node.handlers for s in h.body), *node.finalbody]:
                handlers.update(s.lineno for s in ast.walk(stmt) if isinstance(s, ast.stmt))
    points = set()
    for fn in ast.walk(tree):
        if not isinstance(fn, ast.FunctionDef) or _skipped(fn):
            continue
        body = fn.body[1:] if isinstance(fn.body[0], ast.Expr) and len(fn.body) > 1 else fn.body
        points.add(body[0].lineno)
        first = next(
            (n for n in range(fn.lineno, fn.end_lineno + 1) if CREATES.search(lines[n - 1])), None
        )
        if first is not None:
            points.update(
                s.lineno
                for s in ast.walk(fn)
                if isinstance(s, ast.stmt) and s is not fn and s.lineno > first
            )
    return points - handlers


def _callers(frame) -> str:
    """`file:function` of the engine functions on the stack, innermost first."""
    names = []
    while frame is not None:
        path = Path(frame.f_code.co_filename)
        if path.is_relative_to(ROOT / "eng"):
            names.append(f"{path.relative_to(ROOT)}:{frame.f_code.co_name}")
        frame = frame.f_back
    return " ".join(names)


class Interrupter:
    """A sys.settrace tracer that raises KeyboardInterrupt at the first line event of
    `target` (a (file, line) pair), or with `target` None records the points reached."""

    def __init__(self, points: dict[str, set[int]], target=None) -> None:
        self.points, self.target = points, target
        self.reached: list[tuple[str, int, str]] = []
        self.callers: dict[tuple[str, int, str], str] = {}
        self.fired = False

    def __call__(self, frame, event, arg):
        lines = self.points.get(frame.f_code.co_filename)
        if lines is None:
            return None

        def local(frame, event, arg):
            if event == "line" and frame.f_lineno in lines and not self.fired:
                if _in_teardown(frame):  # a real Ctrl-C waits there
                    return local
                where = (frame.f_code.co_filename, frame.f_lineno, frame.f_code.co_name)
                if self.target is None:
                    if where not in self.reached:
                        self.reached.append(where)
                        self.callers[where] = _callers(frame)
                elif where == self.target:
                    self.fired = True
                    raise KeyboardInterrupt
            return local

        return local


def _load_and_render(constants, tracer) -> None:
    sys.settrace(tracer)
    try:
        game = Game(load_spec(None, None))
        with create_engine(game, constants, (16, 16), headless=True, capture=True) as engine:
            engine.run(1)
    finally:
        sys.settrace(None)


def main(start: int) -> None:
    constants = common.load().with_overrides(validation=True)
    logs: list[ValidationLog] = []
    real_init = ValidationLog.__init__

    def init(self) -> None:
        real_init(self)
        logs.append(self)

    ValidationLog.__init__ = init
    points = {str(p): _injection_points(p) for p in SWEPT_FILES}
    survey = Interrupter(points)
    _load_and_render(constants, survey)
    print(f"POINTS {len(survey.reached)}", flush=True)
    for index in range(start, len(survey.reached)):
        print(f"{index} START {survey.callers[survey.reached[index]]}", flush=True)
        logs.clear()
        alive = live_counts()
        interrupter = Interrupter(points, survey.reached[index])
        why = None
        try:
            _load_and_render(constants, interrupter)
        except KeyboardInterrupt:
            pass
        except Exception as exc:  # noqa: BLE001 - the point's failure, reported below
            why = f"{type(exc).__name__}: {exc}"
        messages = [m for v in logs for m in v.messages]
        if why is None and not interrupter.fired:
            why = "not reached again"
        if why is None and messages:
            why = messages[0][:300]
        if why is None and live_counts() != alive:
            why = f"left alive: {live_counts()} (before: {alive})"
        path, line, function = survey.reached[index]
        where = f"{Path(path).relative_to(ROOT)}:{line} {function}"
        callers = survey.callers[survey.reached[index]]
        print(
            f"{index} ok" if why is None else f"{index} FAIL {callers} | {where}: {why}", flush=True
        )


if __name__ == "__main__":
    main(int(sys.argv[1]))
