"""Score clickability models against real human input: recorded clicks (RClicks table) or GrabCut scribbles.

Every instance's map is computed for its first click (error region = object mask minus
ignored pixels). Random draws (PL1, WD, KS) use one ``numpy`` generator per
(seed, model, instance), so each score depends only on the seed.
"""

from __future__ import annotations

import zlib
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from rclicks.clickmaps.base import ClickMap
from rclicks.errors import RClicksError
from rclicks.metrics.clickmap_metrics import DRAWS, clickmap_scores, instance_size, nss, pde
from rclicks.types import Sample

METRICS = ("ks", "pl1", "wd", "nss", "pde")


def instance_rng(seed: int, model: str, instance: str) -> np.random.Generator:
    """The generator of one (model, instance) pair: ``default_rng([seed, crc32(model), crc32(instance)])``."""
    return np.random.default_rng([seed, zlib.crc32(model.encode()), zlib.crc32(instance.encode())])


def _models(names: Sequence[str], kwargs: dict[str, dict] | None) -> dict[str, ClickMap]:
    from rclicks.registry import build_clickmap

    return {n: build_clickmap(n.removesuffix("+blur"), blur=n.endswith("+blur"), cache_size=0, **(kwargs or {}).get(n, {})) for n in names}


def evaluate_on_clicks(
    names: Sequence[str],
    samples: Sequence[Sample],
    table: pd.DataFrame,
    *,
    seed: int = 0,
    draws: int = DRAWS,
    device: str | None = None,
    clickmap_kwargs: dict[str, dict] | None = None,
) -> pd.DataFrame:
    """Per (model, instance) KS, PL1, WD, NSS, PDE against the table's first clicks; one row each.

    ``names`` are click-map registry names, optionally suffixed ``+blur`` (the RClicks blur).
    """
    from rclicks.clicks import clicks_for_sample

    models = _models(names, clickmap_kwargs)
    rows = []
    for s in samples:
        xs, ys = clicks_for_sample(table, s, "first", device)
        if xs.size == 0:
            continue
        region = s.mask & s.valid
        size = instance_size(s.mask)
        for name, model in models.items():
            cmap = model.click_map(s.image, s.mask, region)
            scores = clickmap_scores(cmap, xs, ys, size, instance_rng(seed, name, s.instance), draws)
            rows.append({"model": name, "dataset": s.dataset, "instance": s.instance, "clicks": int(xs.size), **scores})
    if not rows:
        raise RClicksError("no first clicks in the clicks table match the dataset's instances (check dataset / image_stem / object_stem)")
    return pd.DataFrame(rows)


def scribble_points(path: str | Path, label: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Pixels of a palette scribble PNG with value ``label`` (1 = foreground stroke): ``(xs, ys)`` int64."""
    from PIL import Image

    path = Path(path)
    try:
        with Image.open(path) as im:
            if im.mode != "P":
                raise RClicksError(f"{path}: expected a palette PNG (mode P) with 1 = foreground, 2 = background stroke; got mode {im.mode}")
            a = np.asarray(im)
    except FileNotFoundError as exc:
        raise RClicksError(f"{path}: scribble file not found") from exc
    except OSError as exc:
        raise RClicksError(f"{path}: not a readable image ({exc})") from exc
    ys, xs = np.nonzero(a == label)
    return xs.astype(np.int64), ys.astype(np.int64)


def evaluate_on_scribbles(
    names: Sequence[str],
    samples: Sequence[Sample],
    scribble_dirs: Sequence[str | Path],
    *,
    clickmap_kwargs: dict[str, dict] | None = None,
) -> pd.DataFrame:
    """Per (model, scribble set, image): NSS and PDE of the map at the foreground stroke pixels.

    Each folder holds ``<image name>-anno.png``; a missing file for an image raises RClicksError.
    """
    models = _models(names, clickmap_kwargs)
    rows = []
    for s in samples:
        region = s.mask & s.valid
        maps = {name: m.click_map(s.image, s.mask, region) for name, m in models.items()}
        for d in scribble_dirs:
            d = Path(d)
            xs, ys = scribble_points(d / f"{s.name}-anno.png")
            if xs.size == 0:
                continue
            if (xs.max() >= s.mask.shape[1]) or (ys.max() >= s.mask.shape[0]):
                raise RClicksError(f"{d / (s.name + '-anno.png')}: scribble larger than the {s.mask.shape[1]}×{s.mask.shape[0]} image")
            for name, cmap in maps.items():
                rows.append(
                    {"model": name, "set": d.name, "instance": s.instance, "points": int(xs.size),
                     "nss": nss(cmap, xs, ys), "pde": pde(cmap, xs, ys)}
                )
    if not rows:
        raise RClicksError(f"no scribbles found in {[str(d) for d in scribble_dirs]}")
    return pd.DataFrame(rows)


def summary(per_instance: pd.DataFrame, by: Sequence[str] = ("model",)) -> pd.DataFrame:
    """Mean of every metric column per ``by`` (e.g. model, or model and set), with the instance count."""
    cols = [c for c in METRICS if c in per_instance.columns]
    out = per_instance.groupby(list(by), sort=True)[cols].mean()
    out["instances"] = per_instance.groupby(list(by), sort=True).size()
    return out.reset_index()
