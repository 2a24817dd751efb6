"""Book ch.10, "Vulkan Memory Allocator", made visible: a picture of VMA's memory (not in the
book).

It reads VMA's own JSON dump (`VkVmaAlloc.stats_json`, vmaBuildStatsString with the detailed
map) and draws every VkDeviceMemory object VMA made - each block and each dedicated allocation -
grouped by memory heap and type. Every allocation is a span coloured by its kind, free space is
grey, and each object is labelled with its size and how full it is.

One layout, two pictures: `draw_map` paints it with Pillow (PNG), `draw_svg` writes it as SVG,
where every block and allocation is a shape whose <title> a browser shows when hovered. Both
go through the same drawing code, given a `_Canvas` of either kind.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Protocol
from xml.sax.saxutils import escape, quoteattr

from PIL import Image, ImageDraw, ImageFont

# VkBufferUsageFlagBits / VkImageUsageFlagBits, as VMA writes them in each allocation's "Usage"
_BUFFER_KINDS = (
    (0x80, "vertex buffer"),
    (0x40, "index buffer"),
    (0x20, "material buffer"),  # the only storage buffer of the chapter
    (0x10, "camera uniform"),
    (0x01 | 0x02, "staging"),  # transfer source (uploads) or destination (screenshots)
)
_IMAGE_KINDS = ((0x20, "depth attachment"), (0x10, "colour attachment"), (0x04, "texture"))

COLOURS = {
    "vertex buffer": (0, 114, 178),
    "index buffer": (86, 180, 233),
    "material buffer": (0, 158, 115),
    "camera uniform": (240, 228, 66),
    "texture": (230, 159, 0),
    "depth attachment": (204, 121, 167),
    "colour attachment": (213, 94, 0),
    "staging": (140, 86, 75),
    "other": (23, 190, 207),
}
FREE = (226, 226, 226)
EDGE = (32, 32, 32)
BACKGROUND = (255, 255, 255)
TEXT = (20, 20, 20)
MIN_SPAN = 3  # pixels: the smallest allocation stays visible (1 edge + 2 colour)


def kind_of(suballocation: dict) -> str:
    """The kind of one allocation of VMA's dump, from its type and Vulkan usage flags."""
    usage = int(suballocation.get("Usage", 0))
    kinds = _IMAGE_KINDS if suballocation.get("Type", "").startswith("IMAGE") else _BUFFER_KINDS
    return next((kind for bits, kind in kinds if usage & bits), "other")


@dataclass
class Span:
    offset: int
    size: int
    kind: str | None  # None: free space
    name: str = ""


@dataclass
class Memory:
    """One VkDeviceMemory object: a VMA block, or a dedicated allocation."""

    label: str
    size: int
    spans: list[Span]
    dedicated: bool

    @property
    def allocations(self) -> int:
        return sum(1 for s in self.spans if s.kind is not None)

    @property
    def used(self) -> int:
        return sum(s.size for s in self.spans if s.kind is not None)


@dataclass
class MemoryType:
    index: int
    heap: int
    flags: list[str]
    heap_flags: list[str]
    heap_size: int
    memories: list[Memory] = field(default_factory=list)

    @property
    def blocks(self) -> list[Memory]:
        return [m for m in self.memories if not m.dedicated]

    @property
    def dedicated(self) -> list[Memory]:
        return [m for m in self.memories if m.dedicated]


def _span(sub: dict) -> Span:
    free = sub.get("Type") == "FREE"
    return Span(
        int(sub.get("Offset", 0)),
        int(sub["Size"]),
        None if free else kind_of(sub),
        sub.get("Name", ""),
    )


def read_report(report: dict) -> list[MemoryType]:
    """The memory types that hold VkDeviceMemory objects, with their blocks and dedicated
    allocations, from VMA's JSON dump (default pools; the engine makes no custom pools)."""
    types = {}
    for heap_key, heap in report.get("MemoryInfo", {}).items():
        for type_key, mem_type in heap.get("MemoryPools", {}).items():
            index = int(type_key.split()[-1])
            types[index] = MemoryType(
                index,
                int(heap_key.split()[-1]),
                mem_type.get("Flags", []),
                heap.get("Flags", []),
                int(heap.get("Size", 0)),
            )
    for type_key, pool in report.get("DefaultPools", {}).items():
        mem_type = types[int(type_key.split()[-1])]
        for number, block in sorted(pool.get("Blocks", {}).items(), key=lambda b: int(b[0])):
            spans = [_span(s) for s in block.get("Suballocations", [])]
            mem_type.memories.append(
                Memory(f"block {number}", int(block["TotalBytes"]), spans, False)
            )
        for sub in pool.get("DedicatedAllocations", []):
            span = _span(sub)
            mem_type.memories.append(Memory("dedicated", span.size, [span], True))
    return [t for t in sorted(types.values(), key=lambda t: (t.heap, t.index)) if t.memories]


def mib(size: int) -> str:
    if size >= 2**30:
        return f"{size / 2**30:.1f} GiB"
    return f"{size / 2**20:.1f} MiB" if size >= 2**17 else f"{size / 2**10:.1f} KiB"


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def fill(used: int, size: int) -> str:
    return f"{used / size:.0%}" if size else "0%"


class _Layout:
    """Sizes of the picture, in pixels, for a given width."""

    def __init__(self, width: int) -> None:
        self.width = width
        self.margin = max(16, width // 80)
        self.label_w = max(160, width // 7)
        self.bar_x = self.margin + self.label_w
        self.bar_max = width - self.bar_x - self.margin
        self.bar_h = max(28, width // 45)
        self.row_h = self.bar_h + max(12, width // 120)
        self.gap = max(4, width // 320)  # between dedicated allocations
        scale = width / 1920
        self.px = {  # font sizes
            name: max(9, round(size * scale))
            for name, size in (("title", 32), ("head", 22), ("text", 17), ("small", 14))
        }
        self.fonts = {name: _font(px) for name, px in self.px.items()}


def _font(px: int) -> ImageFont.FreeTypeFont:
    font = ImageFont.load_default(size=px)
    assert isinstance(font, ImageFont.FreeTypeFont), "Pillow has FreeType (its wheels do)"
    return font


def _bar_width(memory: Memory, largest: int, layout: _Layout) -> int:
    """To scale with the largest object, but wide enough for MIN_SPAN per allocation (a
    block of thousands of allocations makes the picture wider than asked)."""
    scaled = round(memory.size / largest * layout.bar_max) if largest else 0
    return max(scaled, MIN_SPAN * memory.allocations + 2, 2 * MIN_SPAN)


def _span_edges(memory: Memory, x0: int, width: int) -> list[tuple[Span, int, int]]:
    """Pixel columns of each span: every allocation gets MIN_SPAN pixels plus its share of the
    rest by size; free space only its share."""
    spare = width - MIN_SPAN * memory.allocations
    per_byte = spare / memory.size if memory.size else 0.0
    edges, position = [], float(x0)
    for span in memory.spans:
        start = position
        position += span.size * per_byte + (MIN_SPAN if span.kind is not None else 0)
        edges.append((span, round(start), round(position)))
    return edges


def _short(name: str) -> str:
    return PurePath(name).name if "/" in name or "\\" in name else name


def _text_colour(rgb: tuple[int, int, int]) -> tuple[int, int, int]:
    return TEXT if 0.3 * rgb[0] + 0.59 * rgb[1] + 0.11 * rgb[2] > 120 else BACKGROUND


RGB = tuple[int, int, int]
Box = tuple[int, int, int, int]


class _Canvas(Protocol):
    """What the map is drawn with: Pillow's ImageDraw, or `_SvgCanvas`. `info` makes a shape
    hoverable in SVG (its <title>, and data-* attributes); Pillow ignores it."""

    def rectangle(
        self,
        box: Box,
        fill: RGB | None = None,
        outline: RGB | None = None,
        info: dict | None = None,
    ) -> None: ...

    def line(self, xy: Box, fill: RGB) -> None: ...

    def text(
        self, xy: tuple[int, int], text: str, font: ImageFont.FreeTypeFont, fill: RGB
    ) -> None: ...

    def textlength(self, text: str, font: ImageFont.FreeTypeFont) -> float: ...


class _PilCanvas:
    def __init__(self, image: Image.Image) -> None:
        self.draw = ImageDraw.Draw(image)

    def rectangle(
        self,
        box: Box,
        fill: RGB | None = None,
        outline: RGB | None = None,
        info: dict | None = None,
    ) -> None:
        self.draw.rectangle(box, fill=fill, outline=outline)

    def line(self, xy: Box, fill: RGB) -> None:
        self.draw.line(xy, fill=fill)

    def text(self, xy: tuple[int, int], text: str, font: ImageFont.FreeTypeFont, fill: RGB) -> None:
        self.draw.text(xy, text, font=font, fill=fill)

    def textlength(self, text: str, font: ImageFont.FreeTypeFont) -> float:
        return self.draw.textlength(text, font=font)


def _css(rgb: RGB | None) -> str:
    return "none" if rgb is None else f"rgb({rgb[0]},{rgb[1]},{rgb[2]})"


class _SvgCanvas:
    """SVG elements in drawing order; text is measured with the PNG's fonts."""

    def __init__(self, size: tuple[int, int]) -> None:
        self.size = size
        self.elements: list[str] = []
        self._measure = ImageDraw.Draw(Image.new("RGB", (1, 1)))

    def rectangle(
        self,
        box: Box,
        fill: RGB | None = None,
        outline: RGB | None = None,
        info: dict | None = None,
    ) -> None:
        x0, y0, x1, y1 = box
        attrs = (
            f'x="{x0}" y="{y0}" width="{x1 - x0 + 1}" height="{y1 - y0 + 1}" fill="{_css(fill)}"'
        )
        if outline is not None:
            attrs += f' stroke="{_css(outline)}" stroke-width="1"'
        if info is None:
            self.elements.append(f"<rect {attrs}/>")
            return
        data = "".join(f" data-{key}={quoteattr(str(value))}" for key, value in info.items())
        title = escape(str(info["title"]))
        self.elements.append(f"<rect {attrs}{data}><title>{title}</title></rect>")

    def line(self, xy: Box, fill: RGB) -> None:
        x0, y0, x1, y1 = xy
        self.elements.append(
            f'<line x1="{x0 + 0.5}" y1="{y0}" x2="{x1 + 0.5}" y2="{y1 + 1}" stroke="{_css(fill)}"/>'
        )

    def text(self, xy: tuple[int, int], text: str, font: ImageFont.FreeTypeFont, fill: RGB) -> None:
        x, y = xy
        self.elements.append(
            f'<text x="{x}" y="{y}" font-size="{font.size}" fill="{_css(fill)}" '
            f'dominant-baseline="hanging" pointer-events="none">{escape(text)}</text>'
        )

    def textlength(self, text: str, font: ImageFont.FreeTypeFont) -> float:
        return self._measure.textlength(text, font=font)

    def svg(self) -> str:
        width, height = self.size
        return (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" font-family="DejaVu Sans, sans-serif">\n'
            f'<rect width="{width}" height="{height}" fill="{_css(BACKGROUND)}"/>\n'
            + "\n".join(self.elements)
            + "\n</svg>\n"
        )


def _draw_bar(
    draw: _Canvas,
    memory: Memory,
    x0: int,
    y0: int,
    width: int,
    layout: _Layout,
    mem_type: "MemoryType",
) -> None:
    y1 = y0 + layout.bar_h
    flags = " ".join(mem_type.flags) or "no flags"
    what = "dedicated allocation" if memory.dedicated else memory.label
    block_info = {
        "title": f"{what}: {mib(memory.size)} ({memory.size} bytes), memory type "
        f"{mem_type.index} ({flags}), heap {mem_type.heap}; "
        f"{plural(memory.allocations, 'allocation')}, "
        f"{mib(memory.used)} used ({fill(memory.used, memory.size)})",
        "kind": "memory",
        "label": memory.label,
        "size": memory.size,
        "memory-type": mem_type.index,
    }
    draw.rectangle((x0, y0, x0 + width - 1, y1 - 1), fill=FREE, outline=EDGE, info=block_info)
    font = layout.fonts["small"]
    for span, left, right in _span_edges(memory, x0, width):
        if span.kind is None:
            continue
        colour = COLOURS[span.kind]
        info = {
            "title": f"{span.name or '(no name)'}: {span.kind}, {mib(span.size)} ({span.size} "
            f"bytes) at offset {span.offset} of {what} (memory type {mem_type.index})",
            "kind": "allocation",
            "name": span.name,
            "alloc-kind": span.kind,
            "size": span.size,
            "offset": span.offset,
        }
        draw.rectangle((left, y0, right - 1, y1 - 1), fill=colour, info=info)
        draw.line((left, y0, left, y1 - 1), fill=EDGE)  # where one allocation meets the next
        name = _short(span.name)
        if name and draw.textlength(name, font=font) + 8 <= right - left:
            draw.text((left + 4, y0 + 3), name, font=font, fill=_text_colour(colour))
    draw.rectangle((x0, y0, x0 + width - 1, y1 - 1), outline=EDGE)


def draw_map(report: dict, width: int = 1920) -> tuple[Image.Image, dict]:
    """The picture of VMA's memory, and a summary of what it shows: each VkDeviceMemory
    object's size, bytes used, allocation count and rectangle on the picture."""
    images: list[Image.Image] = []

    def make(size: tuple[int, int]) -> _Canvas:
        images.append(Image.new("RGB", size, BACKGROUND))
        return _PilCanvas(images[0])

    summary = _draw(report, width, make)
    return images[0], summary


def draw_svg(report: dict, width: int = 1920) -> tuple[str, dict]:
    """The same picture as SVG text: hovering a block or an allocation shows what it is."""
    canvases: list[_SvgCanvas] = []

    def make(size: tuple[int, int]) -> _Canvas:
        canvases.append(_SvgCanvas(size))
        return canvases[0]

    summary = _draw(report, width, make)
    return canvases[0].svg(), summary


def _draw(report: dict, width: int, make: Callable[[tuple[int, int]], _Canvas]) -> dict:
    """Lays out and draws the map on the canvas `make` returns for the picture's size."""
    layout = _Layout(width)
    types = read_report(report)
    memories = [m for t in types for m in t.memories]
    # one scale for every map of a device: VMA's full block size spans the bar's full width
    preferred = [
        int(p.get("PreferredBlockSize", 0)) for p in report.get("DefaultPools", {}).values()
    ]
    largest = max([m.size for m in memories] + preferred, default=0)
    rows = []  # (memory type, [(memory, x, y offset from the section, width)], height)
    for mem_type in types:
        placed, y = [], 0
        for memory in mem_type.blocks:
            placed.append((memory, layout.bar_x, y, _bar_width(memory, largest, layout)))
            y += layout.row_h
        x = layout.bar_x
        for memory in mem_type.dedicated:  # flowed left to right: separate objects
            bar = _bar_width(memory, largest, layout)
            if x + bar > layout.bar_x + layout.bar_max and x > layout.bar_x:
                x, y = layout.bar_x, y + layout.row_h
            placed.append((memory, x, y, bar))
            x += bar + layout.gap
        if mem_type.dedicated:
            y += layout.row_h
        rows.append((mem_type, placed, y))
    fonts = layout.fonts
    head_h = layout.px["head"] * 2 + layout.px["text"] + 24
    top = layout.margin + layout.px["title"] + layout.px["text"] * 3 + 48
    height = top + sum(head_h + h for _, _, h in rows) + layout.margin
    right = max((x + w for _, placed, _ in rows for _, x, _, w in placed), default=0)
    draw = make((max(width, right + layout.margin), height))

    used = sum(m.used for m in memories)
    total = sum(m.size for m in memories)
    allocations = sum(m.allocations for m in memories)
    blocks = sum(len(t.blocks) for t in types)
    dedicated = sum(len(t.dedicated) for t in types)
    gpu = report.get("General", {}).get("GPU", "")
    x, y = layout.margin, layout.margin
    draw.text(
        (x, y),
        f"VMA memory: {plural(allocations, 'allocation')} in "
        f"{plural(blocks + dedicated, 'VkDeviceMemory object')} ({plural(blocks, 'block')}, "
        f"{dedicated} dedicated) - {mib(used)} of {mib(total)} used"
        f" ({fill(used, total)})",
        font=fonts["title"],
        fill=TEXT,
    )
    y += layout.px["title"] + 12
    draw.text(
        (x, y),
        f"{gpu}. One bar per VkDeviceMemory object, widths to scale ({mib(largest)}, VMA's "
        f"block size, is the full width); each allocation a span, at least {MIN_SPAN} pixels "
        "wide; grey is free space.",
        font=fonts["text"],
        fill=TEXT,
    )
    y += layout.px["text"] + 16
    kinds = {s.kind for m in memories for s in m.spans if s.kind is not None}
    swatch = layout.px["text"]
    for kind, colour in [(k, c) for k, c in COLOURS.items() if k in kinds] + [("free", FREE)]:
        draw.rectangle((x, y, x + 2 * swatch, y + swatch), fill=colour, outline=EDGE)
        draw.text((x + 2 * swatch + 8, y), kind, font=fonts["text"], fill=TEXT)
        x += 2 * swatch + 24 + round(draw.textlength(kind, font=fonts["text"]))
    y = top
    shown = []
    for mem_type, placed, section_h in rows:
        x = layout.margin
        heap = (
            f"Heap {mem_type.heap} ({' '.join(mem_type.heap_flags) or 'no flags'}, "
            f"{mib(mem_type.heap_size)}) - memory type {mem_type.index}: "
            f"{' '.join(mem_type.flags) or 'no flags'}"
        )
        draw.text((x, y), heap, font=fonts["head"], fill=TEXT)
        y += layout.px["head"] + 8
        type_used = sum(m.used for m in mem_type.memories)
        type_size = sum(m.size for m in mem_type.memories)
        draw.text(
            (x, y),
            f"{plural(len(mem_type.blocks), 'block')}, "
            f"{plural(len(mem_type.dedicated), 'dedicated allocation')}, "
            f"{plural(sum(m.allocations for m in mem_type.memories), 'allocation')}: "
            f"{mib(type_used)} of {mib(type_size)} used ({fill(type_used, type_size)})",
            font=fonts["text"],
            fill=TEXT,
        )
        y += head_h - layout.px["head"] - 8
        labelled_dedicated = False
        for memory, bar_x, dy, bar_w in placed:
            bar_y = y + dy
            if not memory.dedicated or not labelled_dedicated:
                title = "dedicated" if memory.dedicated else memory.label
                detail = (
                    "each its own VkDeviceMemory"
                    if memory.dedicated
                    else f"{mib(memory.size)}, {fill(memory.used, memory.size)} used"
                )
                draw.text((x, bar_y), title, font=fonts["text"], fill=TEXT)
                draw.text(
                    (x, bar_y + layout.px["text"] + 4), detail, font=fonts["small"], fill=TEXT
                )
                labelled_dedicated = labelled_dedicated or memory.dedicated
            _draw_bar(draw, memory, bar_x, bar_y, bar_w, layout, mem_type)
            shown.append(
                {
                    "memory_type": mem_type.index,
                    "label": memory.label,
                    "size": memory.size,
                    "used": memory.used,
                    "fill": fill(memory.used, memory.size),
                    "allocations": memory.allocations,
                    "box": [bar_x, bar_y, bar_x + bar_w, bar_y + layout.bar_h],
                }
            )
        y += section_h
    summary = {
        "blocks": blocks,
        "dedicated": dedicated,
        "allocations": allocations,
        "memory_bytes": total,
        "used_bytes": used,
        "fill": fill(used, total),
        "memories": shown,
    }
    return summary
