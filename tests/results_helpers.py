"""Build results tables in the full results contract from IoU sequences, for metric tests."""

from __future__ import annotations

import re
from typing import Mapping, Sequence

import pandas as pd

from rclicks.results import SCHEMA, validate_results

_GROUP = re.compile(r"^g(\d+)(?:@(.+))?$")


def results_table(
    trajectories: Mapping[tuple[str, str], Sequence[float]],
    *,
    max_clicks: int | None = None,
    model: str = "m",
    dataset: str = "d",
    policy: str = "single",
    seed: int = 0,
    pixels: int = 1000,
    biou: Mapping[tuple[str, str], Sequence[float]] | None = None,
) -> pd.DataFrame:
    """Rows for ``{(clicker, instance): ious}``; ``max_clicks`` defaults to the longest sequence.

    Confusion counts are made consistent with each IoU on ``pixels`` valid pixels
    (object of 100 pixels); ``group``/``clickmap`` follow the clicker name (``g3@saliency``).
    """
    mc = max_clicks or max(len(v) for v in trajectories.values())
    rows = []
    for (clicker, inst), ious in trajectories.items():
        m = _GROUP.match(clicker)
        group = int(m.group(1)) if m else 0
        clickmap = (m.group(2) or "distance") if m else ""
        for k, v in enumerate(ious, 1):
            tp = round(100 * v)
            fn = 100 - tp
            rows.append({
                "dataset": dataset, "instance": inst, "model": model, "clicker": clicker, "seed": seed, "click": k,
                "x": 0, "y": 0, "positive": True, "iou": float(v),
                "biou": float(biou[(clicker, inst)][k - 1]) if biou else float(v), "time_s": 0.01, "policy": policy,
                "model_sha256": "x", "dataset_fingerprint": "y", "max_clicks": mc, "target_iou": float("nan"),
                "protocol": "groups" if group or clicker == "baseline" else clicker, "clickmap": clickmap, "group": group,
                "tp": tp, "fp": 0, "fn": fn, "tn": pixels - 100,
            })
    return validate_results(pd.DataFrame(rows)[list(SCHEMA)])
