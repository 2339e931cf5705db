"""Box-and-arrow diagrams as plain data, measured text, and SVG drawn by hand (no browser, no graphviz).

Pure: a report lays out a :class:`Diagram` (boxes holding lines of text, arrows as polylines) and
this module renders it as SVG, every word a ``<text>`` element in a generic sans-serif font (so a
diagram can be searched, copied, read aloud and checked). :func:`place_text` says where each line
goes, so a PNG drawn with matplotlib from the same diagram puts its text in the same places.

Text is measured with the advance widths of DejaVu Sans, the widest of the common sans-serif
faces (and the one matplotlib draws with), so text wrapped to fit here also fits in Arial,
Helvetica or Liberation Sans, whichever a viewer substitutes for ``sans-serif``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from xml.sax.saxutils import escape, quoteattr

FONT_FAMILY = "sans-serif"

# advance widths (in em) of the printable ASCII characters, space (32) to tilde (126), in DejaVu Sans
_REGULAR = (
    0.318, 0.401, 0.46, 0.838, 0.636, 0.95, 0.78, 0.275, 0.39, 0.39, 0.5, 0.838, 0.318, 0.361, 0.318, 0.337,
    0.636, 0.636, 0.636, 0.636, 0.636, 0.636, 0.636, 0.636, 0.636, 0.636, 0.337, 0.337, 0.838, 0.838, 0.838,
    0.531, 1.0, 0.684, 0.686, 0.698, 0.77, 0.632, 0.575, 0.775, 0.752, 0.295, 0.295, 0.656, 0.557, 0.863,
    0.748, 0.787, 0.603, 0.787, 0.695, 0.635, 0.611, 0.732, 0.684, 0.989, 0.685, 0.611, 0.685, 0.39, 0.337,
    0.39, 0.838, 0.5, 0.5, 0.613, 0.635, 0.55, 0.635, 0.615, 0.352, 0.635, 0.634, 0.278, 0.278, 0.579, 0.278,
    0.974, 0.634, 0.612, 0.635, 0.635, 0.411, 0.521, 0.392, 0.634, 0.592, 0.818, 0.592, 0.592, 0.525, 0.636,
    0.337, 0.636, 0.838,
)
_BOLD = (
    0.348, 0.456, 0.521, 0.838, 0.696, 1.002, 0.872, 0.306, 0.457, 0.457, 0.523, 0.838, 0.38, 0.415, 0.38, 0.365,
    0.696, 0.696, 0.696, 0.696, 0.696, 0.696, 0.696, 0.696, 0.696, 0.696, 0.4, 0.4, 0.838, 0.838, 0.838, 0.58,
    1.0, 0.774, 0.762, 0.734, 0.83, 0.683, 0.683, 0.821, 0.837, 0.372, 0.372, 0.775, 0.637, 0.995, 0.837, 0.85,
    0.733, 0.85, 0.77, 0.72, 0.682, 0.812, 0.774, 1.103, 0.771, 0.724, 0.725, 0.457, 0.365, 0.457, 0.838, 0.5,
    0.5, 0.675, 0.716, 0.593, 0.716, 0.678, 0.435, 0.716, 0.712, 0.343, 0.343, 0.665, 0.343, 1.042, 0.712,
    0.687, 0.716, 0.716, 0.493, 0.595, 0.478, 0.712, 0.652, 0.924, 0.645, 0.652, 0.582, 0.712, 0.365, 0.712,
    0.838,
)
_OTHER = 0.75  # any other character: about a capital letter (accented letters, dashes, CJK a little over)
BASELINE = 0.35  # a line's baseline sits this many em below the middle of its line box


def text_width(text: str, size: float, *, bold: bool = False) -> float:
    """The width of ``text`` at ``size`` (px), as DejaVu Sans sets it."""
    table = _BOLD if bold else _REGULAR
    return size * sum(table[ord(c) - 32] if 32 <= ord(c) < 127 else (1.0 if ord(c) > 0x2E80 else _OTHER)
                      for c in text)


_WORD_RE = re.compile(r"\(n = [^)]*\)\S*|\S+")  # a count, "(n = 1,234)", is kept on one line


def wrap(text: str, width: float, size: float, *, bold: bool = False) -> list[str]:
    """``text`` cut at spaces into lines no wider than ``width`` (a word longer than that is cut)."""
    lines: list[str] = []
    line = ""
    for word in _WORD_RE.findall(text):
        trial = f"{line} {word}" if line else word
        if text_width(trial, size, bold=bold) <= width:
            line = trial
            continue
        if line:
            lines.append(line)
        line = ""
        while len(word) > 1 and text_width(word, size, bold=bold) > width:  # a very long word: cut it
            cut = 1
            while cut < len(word) - 1 and text_width(word[:cut + 1], size, bold=bold) <= width:
                cut += 1
            lines.append(word[:cut])
            word = word[cut:]
        line = word
    if line or not lines:
        lines.append(line)
    return lines


@dataclass(frozen=True)
class Line:
    """One line of a box: its text, weight and indent (px from the box's padding)."""

    text: str
    bold: bool = False
    indent: float = 0.0


@dataclass
class Box:
    """A rectangle with lines of text; ``vertical`` boxes hold one line read bottom to top."""

    id: str
    x: float
    y: float
    w: float
    h: float
    lines: list[Line]
    fill: str = "#ffffff"
    stroke: str = "#000000"
    align: str = "start"  # "start" (left, with padding) or "middle"
    vertical: bool = False
    radius: float = 0.0

    @property
    def cx(self) -> float:
        return self.x + self.w / 2

    @property
    def cy(self) -> float:
        return self.y + self.h / 2

    @property
    def right(self) -> float:
        return self.x + self.w

    @property
    def bottom(self) -> float:
        return self.y + self.h


@dataclass
class Arrow:
    """A polyline with an arrowhead at its last point."""

    points: list[tuple[float, float]]


@dataclass
class Diagram:
    width: float
    height: float
    title: str
    description: str = ""
    boxes: list[Box] = field(default_factory=list)
    arrows: list[Arrow] = field(default_factory=list)
    font_size: float = 12.0
    padding: float = 8.0

    @property
    def line_height(self) -> float:
        return round(self.font_size * 1.3, 2)

    def height_for(self, n_lines: int) -> float:
        """The height of a box holding ``n_lines`` lines."""
        return 2 * self.padding + n_lines * self.line_height

    def wrap_lines(self, lines: list[Line], width: float) -> list[Line]:
        """Each line wrapped to a box ``width`` wide (less padding and indent); continuations keep the indent."""
        out = []
        for line in lines:
            room = width - 2 * self.padding - line.indent
            out += [Line(t, line.bold, line.indent) for t in wrap(line.text, room, self.font_size, bold=line.bold)]
        return out


@dataclass(frozen=True)
class PlacedText:
    """A line of text where it is drawn: ``y`` is its baseline; ``rotate`` -90 reads bottom to top."""

    x: float
    y: float
    text: str
    bold: bool
    anchor: str  # "start" / "middle"
    rotate: int


def place_text(d: Diagram, box: Box) -> list[PlacedText]:
    """Where each line of ``box`` goes: the block of lines centred vertically in the box."""
    size, lh = d.font_size, d.line_height
    if box.vertical:
        n = len(box.lines)
        return [PlacedText(round(box.cx + (i - (n - 1) / 2) * lh + BASELINE * size, 2), round(box.cy, 2),
                           line.text, line.bold, "middle", -90) for i, line in enumerate(box.lines)]
    top = box.y + (box.h - len(box.lines) * lh) / 2
    out = []
    for i, line in enumerate(box.lines):
        y = top + i * lh + lh / 2 + BASELINE * size
        x = box.cx if box.align == "middle" else box.x + d.padding + line.indent
        out.append(PlacedText(round(x, 2), round(y, 2), line.text, line.bold, box.align, 0))
    return out


def _num(v: float) -> str:
    return f"{v:.2f}".rstrip("0").rstrip(".")


def render_svg(d: Diagram) -> str:
    """The diagram as a standalone SVG document (UTF-8 XML)."""
    w, h = _num(d.width), _num(d.height)
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" role="img" '
        f'aria-labelledby="diagram-title diagram-desc" font-family="{FONT_FAMILY}" font-size="{_num(d.font_size)}">',
        f'<title id="diagram-title">{escape(d.title)}</title>',
        f'<desc id="diagram-desc">{escape(d.description or d.title)}</desc>',
        '<defs><marker id="arrowhead" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" '
        'markerUnits="strokeWidth" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#000000"/></marker></defs>',
        f'<rect x="0" y="0" width="{w}" height="{h}" fill="#ffffff"/>',
    ]
    for box in d.boxes:
        out.append(f"<g id={quoteattr('box-' + box.id)}>")
        if box.stroke != "none" or box.fill != "none":
            rx = f' rx="{_num(box.radius)}"' if box.radius else ""
            out.append(f'<rect x="{_num(box.x)}" y="{_num(box.y)}" width="{_num(box.w)}" height="{_num(box.h)}"{rx} '
                       f'fill="{box.fill}" stroke="{box.stroke}" stroke-width="1"/>')
        for t in place_text(d, box):
            attrs = f'x="{_num(t.x)}" y="{_num(t.y)}"'
            if t.anchor != "start":
                attrs += f' text-anchor="{t.anchor}"'
            if t.bold:
                attrs += ' font-weight="bold"'
            if t.rotate:
                attrs += f' transform="rotate({t.rotate} {_num(t.x)} {_num(t.y)})"'
            out.append(f"<text {attrs}>{escape(t.text)}</text>")
        out.append("</g>")
    for arrow in d.arrows:
        path = " ".join(f"{'M' if i == 0 else 'L'}{_num(x)},{_num(y)}" for i, (x, y) in enumerate(arrow.points))
        out.append(f'<path d="{path}" fill="none" stroke="#000000" stroke-width="1.2" '
                   'marker-end="url(#arrowhead)"/>')
    out.append("</svg>")
    return "\n".join(out) + "\n"
