"""The window path under Xvfb: present frames, resize twice, close, leak nothing."""

import eng.platform_x11
from game.main import Game
from game.scenes import load_spec

from .helpers import create_engine, run_engine


class ResizingGame(Game):
    """Resizes the window at frames 20 and 40 and records the swapchain extent each frame."""

    def __init__(self, spec, sizes) -> None:
        super().__init__(spec)
        self.sizes = sizes
        self.frame = 0
        self.extents: list[tuple[int, int]] = []
        self.engine = None

    def input(self, eng_ctx, delta_sec):
        super().input(eng_ctx, delta_sec)
        self.frame += 1
        if self.frame in self.sizes:
            eng_ctx.wnd.set_size(*self.sizes[self.frame])
        extent = self.engine.render.target.extent
        self.extents.append((extent.width, extent.height))


def test_window_presents_resizes_and_closes_cleanly(xvfb_display, constants):
    game = ResizingGame(load_spec(None, None), {20: (400, 300), 40: (200, 150)})
    constants = constants.with_overrides(vsync=False)
    engine = create_engine(game, constants, (320, 240), headless=False, capture=True)
    game.engine = engine
    validation_log = engine.ctx.instance.validation_log
    assert validation_log is not None
    stats, image = run_engine(engine, 60)  # cleanup fails on a VMA leak
    assert stats.frames == 60
    assert {(320, 240), (400, 300), (200, 150)} <= set(game.extents)
    assert image.shape == (150, 200, 4)
    assert image[..., :3].max() > 0
    assert validation_log.messages == []


def test_escape_closes_the_window(xvfb_display, constants):
    """A key press of Escape ends the run before the frame limit."""

    class EscapeGame(Game):
        frame = 0

        def input(self, eng_ctx, delta_sec):
            self.frame += 1
            if self.frame == 5:
                sdl = eng_ctx.wnd.sdl
                event = sdl.SDL_Event()
                event.type = sdl.SDL_EVENT_KEY_DOWN
                event.key.scancode = sdl.SDL_SCANCODE_ESCAPE
                sdl.SDL_PushEvent(event)

    engine = create_engine(EscapeGame(load_spec(None, None)), constants, (160, 120), False)
    stats, _ = run_engine(engine, 1000)
    assert 3 <= stats.frames < 20


def test_one_poll_takes_every_queued_event(xvfb_display):
    """Wnd.poll_events pumps once and drains SDL's queue in batches: more key presses than
    one batch holds, and mouse motion between them, all arrive in a single poll."""
    from eng.wnd import _EVENT_BATCH, Wnd

    wnd = Wnd.create("events", 160, 120)
    try:
        sdl = wnd.sdl
        wnd.poll_events()  # whatever the window manager sent first
        # A, B, ... : more than a batch, and short of Escape (which closes the window)
        scancodes = list(range(sdl.SDL_SCANCODE_A, sdl.SDL_SCANCODE_A + _EVENT_BATCH + 4))
        assert sdl.SDL_SCANCODE_ESCAPE not in scancodes
        for scancode in scancodes:
            key = sdl.SDL_Event()
            key.type = sdl.SDL_EVENT_KEY_DOWN
            key.key.scancode = scancode
            sdl.SDL_PushEvent(key)
            motion = sdl.SDL_Event()
            motion.type = sdl.SDL_EVENT_MOUSE_MOTION
            motion.motion.xrel = 1.0
            sdl.SDL_PushEvent(motion)
        wnd.poll_events()
        assert wnd.key_presses == set(scancodes)
        assert wnd.mouse.delta_x == len(scancodes)
        wnd.poll_events()
        assert wnd.key_presses == set() and wnd.mouse.delta_x == 0
    finally:
        wnd.cleanup()


def _sdl_display(wnd) -> int:
    sdl = wnd.sdl
    props = sdl.SDL_GetWindowProperties(wnd.window)
    return sdl.SDL_GetPointerProperty(props, sdl.SDL_PROP_WINDOW_X11_DISPLAY_POINTER, None)


def test_vulkan_presents_through_an_x_connection_of_its_own(xvfb_display, constants):
    """On X11 the surface is made on a second X connection, so that SDL's event pump does
    not wait while the driver sends each image through SDL's; it is closed at cleanup."""
    engine = create_engine(Game(load_spec(None, None)), constants, (320, 240), False, capture=True)
    x_display = engine.ctx.surface.x_display
    assert x_display is not None and x_display.pointer
    assert x_display.pointer != _sdl_display(engine.eng_ctx.wnd)
    validation_log = engine.ctx.instance.validation_log
    stats, image = run_engine(engine, 10)
    assert stats.frames == 10 and image[..., :3].max() > 0
    assert validation_log.messages == []
    assert x_display.pointer is None, "closed with the surface"


def test_without_a_second_x_connection_sdl_makes_the_surface(xvfb_display, constants, monkeypatch):
    """If no second connection can be opened, the surface is SDL's, on its connection."""
    real_load = eng.platform_x11._load_xlib

    class NoNewConnections:
        def __init__(self) -> None:
            self.real = real_load()

        def __getattr__(self, name):
            return getattr(self.real, name)

        def XOpenDisplay(self, name):  # noqa: N802 (Xlib's name)
            return None

    monkeypatch.setattr(eng.platform_x11, "_load_xlib", NoNewConnections)
    engine = create_engine(Game(load_spec(None, None)), constants, (160, 120), False, capture=True)
    assert engine.ctx.surface.x_display is None
    validation_log = engine.ctx.instance.validation_log
    stats, image = run_engine(engine, 5)
    assert stats.frames == 5 and image[..., :3].max() > 0
    assert validation_log.messages == []


def test_fullscreen_asks_sdl_for_a_fullscreen_window(xvfb_display, monkeypatch):
    """`--fullscreen` reaches SDL_CreateWindow through EngineOptions and Wnd.create (Xvfb has
    no window manager to make the window fullscreen, so the flag asked for is what is seen)."""
    import sdl3

    from eng.sdl_loader import import_sdl
    from game import cli

    import_sdl()
    flags = []
    real = sdl3.SDL_CreateWindow

    def create_window(title, width, height, window_flags):
        flags.append(window_flags)
        return real(title, width, height, window_flags)

    monkeypatch.setattr(sdl3, "SDL_CreateWindow", create_window)
    assert cli.main(["--fullscreen", "--frames", "2", "--size", "64x48"]) == 0
    assert cli.main(["--frames", "2", "--size", "64x48"]) == 0
    assert [bool(f & sdl3.SDL_WINDOW_FULLSCREEN) for f in flags] == [True, False]
