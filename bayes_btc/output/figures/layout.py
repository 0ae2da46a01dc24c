"""Saving a figure with a layout check: tick labels that overlap each other and a legend
drawn over plotted data (lines, markers, bands) are found from the renderer's bounding boxes
in display coordinates (pixels) and returned as sentences."""

from __future__ import annotations

import itertools
import warnings
from collections import defaultdict
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.collections import Collection
from matplotlib.figure import Figure
from matplotlib.legend import Legend
from matplotlib.lines import Line2D
from matplotlib.path import Path as Path_
from matplotlib.ticker import NullFormatter
from matplotlib.transforms import Bbox
from PIL import Image
from PIL.PngImagePlugin import PngInfo


class FigureLayoutWarning(UserWarning):
    """A drawn figure has overlapping tick labels or a legend over its data."""


def _tick_overlaps(fig: Figure, renderer: object) -> list[str]:
    out = []
    for ax in fig.axes:
        for name, axis in (("x", ax.xaxis), ("y", ax.yaxis)):
            # minor labels of a NullFormatter are all empty: not asked for (each request
            # places every tick again)
            which = "major" if isinstance(axis.get_minor_formatter(), NullFormatter) else "both"
            boxes = [
                (t.get_text(), t.get_window_extent(renderer))
                for t in axis.get_ticklabels(which=which)
                if t.get_visible() and t.get_text().strip()
            ]
            for (ta, a), (tb, b) in itertools.pairwise(boxes):
                inter = Bbox.intersection(a, b)
                if inter is not None and inter.width > 0.5 and inter.height > 0.5:
                    out.append(f"{name} tick labels '{ta}' and '{tb}' overlap")
    return out


def _data_points(ax: matplotlib.axes.Axes) -> np.ndarray:
    """Display coordinates of every plotted vertex (lines with markers or line segments, and
    the paths of collections such as scatter points, error bars and bands)."""
    pts = []
    for line in ax.get_lines():
        if not line.get_visible() or line.get_label().startswith("_ref"):
            continue
        xy = np.column_stack([np.asarray(d, float) for d in line.get_data()])
        if len(xy) and _is_reference(line):
            continue
        pts.append(line.get_transform().transform(xy))
    for c in ax.collections:
        if not isinstance(c, Collection) or not c.get_visible():
            continue
        offsets = c.get_offsets()
        if len(offsets) and c.get_offset_transform() is not None:
            pts.append(c.get_offset_transform().transform(offsets))
        v = _interpolated(c.get_paths())
        if len(v):
            pts.append(c.get_transform().transform(v))
    pts = [p[np.isfinite(p).all(axis=1)] for p in pts if len(p)]
    return np.vstack(pts) if pts else np.empty((0, 2))


def _interpolated(paths: list[Path_], steps: int = 8) -> np.ndarray:
    """The vertices of `paths`, with `steps` points per segment on paths under 200 vertices
    (as `Path.interpolated`); paths without codes are interpolated together, per length, in
    one array operation (a heat map has a path per cell)."""
    out = []
    plain: dict[int, list[np.ndarray]] = defaultdict(list)
    for p in paths:
        n = len(p.vertices)
        if n >= 200:
            out.append(p.vertices)
        elif p.codes is None and n >= 2:
            plain[n].append(p.vertices)
        elif n:
            out.append(p.interpolated(steps).vertices)
    t = (np.arange(steps) / steps)[None, None, :, None]
    for group in plain.values():
        v = np.asarray(group, dtype=float)  # paths x vertices x 2
        seg = v[:, :-1, None, :] + (v[:, 1:, None, :] - v[:, :-1, None, :]) * t
        seg[:, :, 0, :] = v[:, :-1, :]
        out += [seg.reshape(-1, 2), v[:, -1, :]]
    return np.vstack(out) if out else np.empty((0, 2))


def _is_reference(line: Line2D) -> bool:
    """Horizontal or vertical reference lines spanning the axes (thresholds, margins): a
    legend may sit over them."""
    x, y = (np.asarray(d, float) for d in line.get_data())
    return len(x) == 2 and (x[0] == x[1] or y[0] == y[1])


def _legend_overlaps(fig: Figure, renderer: object) -> list[str]:
    out = []
    for ax in fig.axes:
        legend = ax.get_legend()
        if not isinstance(legend, Legend) or not legend.get_visible():
            continue
        box = legend.get_window_extent(renderer)
        axbox = ax.get_window_extent(renderer)
        if box.x0 >= axbox.x1 or box.x1 <= axbox.x0 or box.y0 >= axbox.y1 or box.y1 <= axbox.y0:
            continue  # a legend outside the axes covers none of the data inside them
        pts = _data_points(ax)
        inside = pts[
            (pts[:, 0] >= axbox.x0)
            & (pts[:, 0] <= axbox.x1)
            & (pts[:, 1] >= axbox.y0)
            & (pts[:, 1] <= axbox.y1)
        ]
        hit = (
            (inside[:, 0] > box.x0)
            & (inside[:, 0] < box.x1)
            & (inside[:, 1] > box.y0)
            & (inside[:, 1] < box.y1)
        )
        if hit.any():
            out.append(f"legend of '{ax.get_title()}' covers {int(hit.sum())} data points")
    return out


def layout_problems(fig: Figure) -> list[str]:
    """Overlapping tick labels and legends over data in a figure (empty when clean); draws it."""
    fig.canvas.draw()
    return _problems(fig)


def _problems(fig: Figure) -> list[str]:
    """The layout problems of a figure as last drawn (by `canvas.draw` or `savefig`)."""
    renderer = fig.canvas.get_renderer()
    return _tick_overlaps(fig, renderer) + _legend_overlaps(fig, renderer)


def write_png(fig: Figure, path: Path) -> None:
    """The figure as last drawn, as an RGB PNG (its alpha, if any, composited over white):
    a third smaller than matplotlib's RGBA and cheaper for the report and its PDF to embed;
    the same metadata as `savefig` (no timestamp). zlib level 3: a third less CPU than the
    default 6 for files about 1% larger."""
    rgba = np.asarray(fig.canvas.buffer_rgba())
    image = Image.fromarray(rgba, "RGBA")
    if image.getextrema()[3][0] == 255:  # opaque: drop alpha (in PIL, no numpy copies)
        image = image.convert("RGB")
    else:
        alpha = rgba[..., 3:].astype(float) / 255
        rgb = np.round(rgba[..., :3] * alpha + 255 * (1 - alpha)).astype(np.uint8)
        image = Image.fromarray(rgb, "RGB")
    info = PngInfo()
    info.add_text(
        "Software", f"Matplotlib version{matplotlib.__version__}, https://matplotlib.org/"
    )
    image.save(path, format="png", pnginfo=info, dpi=(fig.dpi, fig.dpi), compress_level=3)


def save(fig: Figure, path: Path) -> Path:
    """Save and close a figure; a layout problem is reported as a `FigureLayoutWarning`. The
    check reads the bounding boxes of the very drawing that is saved (one draw, not two)."""
    fig.canvas.draw()
    problems = _problems(fig)
    write_png(fig, path)
    plt.close(fig)
    for problem in problems:
        warnings.warn(f"{Path(path).name}: {problem}", FigureLayoutWarning, stacklevel=2)
    return Path(path)
