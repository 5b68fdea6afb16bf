"""Drawing helpers for the app and reports: mask overlays, click markers, heatmaps, plotly curves.

Pure functions over numpy arrays (no gradio). Images are ``uint8`` ``H×W×3`` RGB.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import cv2
import numpy as np

from rclicks.types import Click

POSITIVE = (40, 200, 60)
NEGATIVE = (230, 40, 40)
MASK_COLOUR = (30, 144, 255)


def overlay_mask(image: np.ndarray, mask: np.ndarray, colour: tuple[int, int, int] = MASK_COLOUR, alpha: float = 0.45) -> np.ndarray:
    """The image with ``mask`` tinted by ``colour`` and its outline drawn."""
    out = image.copy()
    m = mask.astype(bool)
    out[m] = (out[m] * (1 - alpha) + np.array(colour) * alpha).astype(np.uint8)
    contours, _ = cv2.findContours(m.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    cv2.drawContours(out, contours, -1, colour, max(1, round(max(image.shape[:2]) / 400)))
    return out


def draw_clicks(image: np.ndarray, clicks: Sequence[Click], numbered: bool = True, hollow: Click | None = None,
                recency: bool = False) -> np.ndarray:
    """Clicks as filled disks (green positive, red negative), numbered; ``hollow``: a ring (e.g. the robot's suggestion);
    ``recency``: the disks grow with the click number, the last click the largest (the IPOL demo's overlays)."""
    out = image.copy()
    base = max(4, round(max(image.shape[:2]) / 90))
    n = len(clicks)
    for k, c in enumerate(clicks):
        r = round(base * (0.6 + 0.9 * (k + 1) / n)) if recency and n > 1 else base
        colour = POSITIVE if c.positive else NEGATIVE
        cv2.circle(out, (c.x, c.y), r, colour, -1, lineType=cv2.LINE_AA)
        cv2.circle(out, (c.x, c.y), r, (255, 255, 255), 1, lineType=cv2.LINE_AA)
        if numbered:
            cv2.putText(out, str(k + 1), (c.x + r, c.y - r), cv2.FONT_HERSHEY_SIMPLEX, r / 12, (255, 255, 255), 2, cv2.LINE_AA)
            cv2.putText(out, str(k + 1), (c.x + r, c.y - r), cv2.FONT_HERSHEY_SIMPLEX, r / 12, colour, 1, cv2.LINE_AA)
    if hollow is not None:
        r = base
        colour = POSITIVE if hollow.positive else NEGATIVE
        cv2.circle(out, (hollow.x, hollow.y), r + 3, colour, 2, lineType=cv2.LINE_AA)
        cv2.drawMarker(out, (hollow.x, hollow.y), colour, cv2.MARKER_CROSS, 2 * r, 1)
    return out


COLOUR_MAPS = {"turbo": cv2.COLORMAP_TURBO, "viridis": cv2.COLORMAP_VIRIDIS, "magma": cv2.COLORMAP_MAGMA}


def heatmap_overlay(image: np.ndarray, values: np.ndarray, alpha: float = 0.55, vmin: float | None = None, vmax: float | None = None,
                    cmap: str = "turbo") -> np.ndarray:
    """``values`` (``H×W`` float, NaN = transparent) as a colour map (``COLOUR_MAPS``; viridis/magma are perceptually
    uniform) over the image."""
    v = np.asarray(values, dtype=np.float64)
    finite = np.isfinite(v)
    out = image.copy()
    if not finite.any():
        return out
    lo = np.nanmin(v) if vmin is None else vmin
    hi = np.nanmax(v) if vmax is None else vmax
    norm = np.zeros(v.shape, np.uint8)
    norm[finite] = np.clip((v[finite] - lo) / max(hi - lo, 1e-12) * 255, 0, 255).astype(np.uint8)
    colour = cv2.cvtColor(cv2.applyColorMap(norm, COLOUR_MAPS[cmap]), cv2.COLOR_BGR2RGB)
    out[finite] = (out[finite] * (1 - alpha) + colour[finite] * alpha).astype(np.uint8)
    return out


def with_colour_bar(image: np.ndarray, lo: float, hi: float, label: str, cmap: str = "turbo") -> np.ndarray:
    """``image`` with a vertical colour bar on its right: ``cmap`` from ``lo`` (bottom) to ``hi`` (top), five ticks
    (``label`` names the quantity; the caller puts it in the caption)."""
    h = image.shape[0]
    width, pad = max(16, h // 25), max(60, h // 7)
    ramp = np.linspace(255, 0, h).astype(np.uint8)[:, None].repeat(width, axis=1)
    bar = cv2.cvtColor(cv2.applyColorMap(ramp, COLOUR_MAPS[cmap]), cv2.COLOR_BGR2RGB)
    panel = np.full((h, width + pad, 3), 255, np.uint8)
    panel[:, :width] = bar
    scale = max(0.45, h / 800)
    for k in range(5):
        y = int(round((h - 1) * (1 - k / 4)))
        value = lo + (hi - lo) * k / 4
        cv2.line(panel, (width, y), (width + 5, y), (0, 0, 0), 1)
        cv2.putText(panel, f"{value:.2g}", (width + 7, min(max(y + 5, 12), h - 3)), cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), 1,
                    cv2.LINE_AA)
    return np.concatenate([image, panel], axis=1)  # ``label`` is for the caller's caption: text drawn on the image hid it


def draw_marker(image: np.ndarray, click: Click, colour: tuple[int, int, int], shape: str = "ring", label: str = "") -> np.ndarray:
    """A distinct marker at ``click`` (``ring``, ``square``, ``triangle`` or ``diamond``), outlined in white, with ``label``."""
    out = image.copy()
    r = max(7, round(max(image.shape[:2]) / 50))
    x, y = click.x, click.y
    if shape == "ring":
        pts = None
        for c, t in (((255, 255, 255), 5), (colour, 3)):
            cv2.circle(out, (x, y), r, c, t, lineType=cv2.LINE_AA)
    else:
        if shape == "square":
            pts = [(x - r, y - r), (x + r, y - r), (x + r, y + r), (x - r, y + r)]
        elif shape == "triangle":
            pts = [(x, y - r), (x + r, y + r), (x - r, y + r)]
        else:
            pts = [(x, y - r), (x + r, y), (x, y + r), (x - r, y)]
        arr = np.array(pts, np.int32)
        cv2.polylines(out, [arr], True, (255, 255, 255), 5, cv2.LINE_AA)
        cv2.polylines(out, [arr], True, colour, 3, cv2.LINE_AA)
    if label:
        cv2.putText(out, label, (x + r + 3, y + 4), cv2.FONT_HERSHEY_SIMPLEX, r / 18, (255, 255, 255), 3, cv2.LINE_AA)
        cv2.putText(out, label, (x + r + 3, y + 4), cv2.FONT_HERSHEY_SIMPLEX, r / 18, colour, 1, cv2.LINE_AA)
    return out


CONFUSION_COLOURS = {"TP": (40, 200, 60), "FP": (230, 40, 40), "FN": (255, 200, 0), "TN": None}


def confusion_overlay(image: np.ndarray, gt: np.ndarray, pred: np.ndarray, valid: np.ndarray | None = None, alpha: float = 0.5) -> np.ndarray:
    """TP green, FP red, FN yellow, TN untouched (IPOL demo's overlay); pixels outside ``valid`` are greyed."""
    out = image.astype(np.float64).copy()
    gt, pred = gt.astype(bool), pred.astype(bool)
    for name, m in (("TP", gt & pred), ("FP", ~gt & pred), ("FN", gt & ~pred)):
        out[m] = out[m] * (1 - alpha) + np.array(CONFUSION_COLOURS[name]) * alpha
    if valid is not None:
        out[~valid] = out[~valid] * 0.3 + 128 * 0.7
    return out.astype(np.uint8)


def iou_figure(curves: Mapping[str, Sequence[float]], title: str = "IoU per click", thr: float = 0.9, biou: Mapping[str, Sequence[float]] | None = None):
    """A plotly figure of IoU (and dashed BIoU) per click for each named curve, NoC@thr marked."""
    import plotly.graph_objects as go

    fig = go.Figure()
    for name, ious in curves.items():
        xs = list(range(1, len(ious) + 1))
        fig.add_trace(go.Scatter(x=xs, y=list(ious), mode="lines+markers", name=f"{name} IoU"))
        hit = next((k + 1 for k, v in enumerate(ious) if v >= thr), None)
        if hit is not None:
            fig.add_trace(go.Scatter(x=[hit], y=[ious[hit - 1]], mode="markers", marker={"size": 14, "symbol": "star"},
                                     name=f"{name} NoC@{int(thr * 100)} = {hit}", showlegend=True))
        elif len(ious):  # never reached: say so, instead of a NoC that reads like "reached on the last click"
            fig.add_trace(go.Scatter(x=[len(ious)], y=[ious[-1]], mode="markers", marker={"size": 12, "symbol": "x"},
                                     name=f"{name} NoC@{int(thr * 100)}: {len(ious)} (not reached)", showlegend=True))
        if biou and name in biou:
            fig.add_trace(go.Scatter(x=xs, y=list(biou[name]), mode="lines", line={"dash": "dash"}, name=f"{name} BIoU"))
    fig.add_hline(y=thr, line_dash="dot", annotation_text=f"IoU {thr:.2f}")
    fig.update_layout(title=title, xaxis_title="click", yaxis_title="IoU", yaxis_range=[0, 1.02], height=380,
                      margin={"l": 40, "r": 20, "t": 50, "b": 40}, legend={"font": {"size": 10}})
    return fig
