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


def draw_clicks(image: np.ndarray, clicks: Sequence[Click], numbered: bool = True, hollow: Click | None = None) -> np.ndarray:
    """Clicks as filled disks (green positive, red negative), numbered; ``hollow``: a ring (e.g. the robot's suggestion)."""
    out = image.copy()
    r = max(4, round(max(image.shape[:2]) / 90))
    for k, c in enumerate(clicks):
        colour = POSITIVE if c.positive else NEGATIVE
        cv2.circle(out, (c.x, c.y), r, colour, -1, lineType=cv2.LINE_AA)
        cv2.circle(out, (c.x, c.y), r, (255, 255, 255), 1, lineType=cv2.LINE_AA)
        if numbered:
            cv2.putText(out, str(k + 1), (c.x + r, c.y - r), cv2.FONT_HERSHEY_SIMPLEX, r / 12, (255, 255, 255), 2, cv2.LINE_AA)
            cv2.putText(out, str(k + 1), (c.x + r, c.y - r), cv2.FONT_HERSHEY_SIMPLEX, r / 12, colour, 1, cv2.LINE_AA)
    if hollow is not None:
        colour = POSITIVE if hollow.positive else NEGATIVE
        cv2.circle(out, (hollow.x, hollow.y), r + 3, colour, 2, lineType=cv2.LINE_AA)
        cv2.drawMarker(out, (hollow.x, hollow.y), colour, cv2.MARKER_CROSS, 2 * r, 1)
    return out


def heatmap_overlay(image: np.ndarray, values: np.ndarray, alpha: float = 0.55, vmin: float | None = None, vmax: float | None = None) -> np.ndarray:
    """``values`` (``H×W`` float, NaN = transparent) as a turbo colour map over the image."""
    v = np.asarray(values, dtype=np.float64)
    finite = np.isfinite(v)
    out = image.copy()
    if not finite.any():
        return out
    lo = np.nanmin(v) if vmin is None else vmin
    hi = np.nanmax(v) if vmax is None else vmax
    norm = np.zeros(v.shape, np.uint8)
    norm[finite] = np.clip((v[finite] - lo) / max(hi - lo, 1e-12) * 255, 0, 255).astype(np.uint8)
    colour = cv2.cvtColor(cv2.applyColorMap(norm, cv2.COLORMAP_TURBO), cv2.COLOR_BGR2RGB)
    out[finite] = (out[finite] * (1 - alpha) + colour[finite] * alpha).astype(np.uint8)
    return out


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
        if biou and name in biou:
            fig.add_trace(go.Scatter(x=xs, y=list(biou[name]), mode="lines", line={"dash": "dash"}, name=f"{name} BIoU"))
    fig.add_hline(y=thr, line_dash="dot", annotation_text=f"IoU {thr:.2f}")
    fig.update_layout(title=title, xaxis_title="click", yaxis_title="IoU", yaxis_range=[0, 1.02], height=380,
                      margin={"l": 40, "r": 20, "t": 50, "b": 40}, legend={"font": {"size": 10}})
    return fig
