"""A clicks table (the RClicks ``clicks.csv`` columns) of first clicks drawn inside real objects, for replay tests."""

from __future__ import annotations

import numpy as np
import pandas as pd


def object_clicks(samples, per_sample: int, seed: int) -> pd.DataFrame:
    """``per_sample`` first clicks per sample at distinct object pixels, drawn with ``default_rng(seed)``; (x, y) in the
    sample's own pixels, ``w, h`` its size. Not real users' clicks: the format of theirs, for ``validate_clicks``."""
    rng = np.random.default_rng(seed)
    rows = []
    for s in samples:
        ys, xs = np.nonzero(s.mask)
        for k in rng.choice(xs.size, per_sample, replace=False):
            rows.append(dict(dataset="GrabCut", full_stem=s.name, image_stem=s.name, object_stem="", click_type="first",
                             model_type="", device="pc", x=int(xs[k]), y=int(ys[k]), w=s.mask.shape[1], h=s.mask.shape[0]))
    return pd.DataFrame(rows)
