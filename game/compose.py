"""Which extras a run's options ask for (not in the book): each is imported only when its
option is given, so a run with none loads no module of eng/extras."""

import argparse
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from eng.hooks import Extra, OwnTarget
from game.options import BENCH_WARMUP

if TYPE_CHECKING:  # for annotations only: imported below when an option asks for them
    from eng.extras.capture import FrameCapture
    from eng.extras.profile import Profiler
    from eng.extras.render_inst import Instancing
    from eng.extras.trace import Tracer


@dataclass
class Composition:
    extras: list[Extra] = field(default_factory=list)  # in the order they join
    offscreen: OwnTarget | None = None
    capture: "FrameCapture | None" = None
    profiler: "Profiler | None" = None
    instancing: "Instancing | None" = None
    tracer: "Tracer | None" = None


def compose(
    args: argparse.Namespace,
    size: tuple[int, int],
    headless: bool,
    screenshot: Path | None,
    out_dir: Path,
) -> Composition:
    """The extras of `args` (see game/options.py), in the order their hooks must run:
    culling before what uses its frustum, the instanced shaders before `--shaders`'; the
    keys M and F12 write into `out_dir`."""
    made = Composition()
    extras = made.extras
    culling = None
    if args.culling:
        from eng.extras.culling import Culling

        culling = Culling()
        extras.append(culling)
    if args.depth_prepass:
        from eng.extras.depth_prepass import DepthPrepass

        extras.append(DepthPrepass())
    if args.instanced or args.stress or args.stress_static:
        from eng.extras.render_inst import Instancing

        made.instancing = Instancing(culling, args.depth_prepass)
        extras.append(made.instancing)
    if args.handoffs:
        from eng.extras.handoff import HandOffs

        extras.append(HandOffs())
    if args.bench is not None:
        from eng.extras.profile import Profiler

        made.profiler = Profiler(BENCH_WARMUP if args.warmup is None else args.warmup, args.seconds)
        extras.append(made.profiler)
    if args.trace is not None:
        from eng.extras.trace import Tracer
        from game.bench import process_age

        made.tracer = Tracer(args.trace, args.trace_frames, time.perf_counter() - process_age())
        extras.append(made.tracer)
    if screenshot is not None:
        from eng.extras.capture import FrameCapture

        # a window can close at any frame: then every frame is copied, the last shown kept
        made.capture = FrameCapture(last=headless, every=not headless)
        extras.append(made.capture)
    if args.vma_report is not None or args.vma_map is not None:
        from eng.extras.snapshots import Snapshots

        extras.append(Snapshots(args.vma_report, args.vma_map))
    if args.shaders is not None or args.watch_shaders:
        from eng.extras.shader_watch import ShaderSet, ShaderWatch

        extras.append(ShaderWatch(ShaderSet.create(args.shaders, args.watch_shaders)))
    if headless:
        from eng.extras.offscreen import OffscreenTarget

        made.offscreen = OffscreenTarget(*size)
    else:
        from game.keys import Keys

        extras.append(Keys(out_dir, made.tracer))
    return made
