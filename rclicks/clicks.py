"""Real clicks: the RClicks ``clicks.csv`` table (read, validate, write), rescaling, and replay of first clicks.

Columns (RClicks, NeurIPS 2024): ``dataset``, ``full_stem`` (unique key of one image ×
object × click type × previous-mask model), ``image_stem``, ``object_stem`` (the object's
id in a multi-object mask, empty for single-object images), ``click_type`` ∈ {first, fn,
fp}, ``model_type`` (the model whose mask the fn/fp click corrects; empty for first
clicks), ``device`` ∈ {pc, mobile}, ``x``, ``y`` (click pixel: column, row) and ``w``, ``h``
(the size of the image as it was shown when the click was recorded).

Rescaling: when ``(w, h)`` differs from the image's ``(W, H)`` the click becomes
``x' = floor(x · W / w)``, ``y' = floor(y · H / h)``, after clipping ``x`` to ``[0, w−1]``
and ``y`` to ``[0, h−1]`` (RClicks ``Clicks.clicks``), so ``x' ∈ [0, W−1]``.

The app records visitors' clicks with the same schema through ``write_clicks``: one
parquet part per write in a folder (atomic temp + rename, append-friendly, safe with
concurrent writers); ``read_clicks`` reads a CSV, a parquet file or such a folder.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from rclicks.errors import RClicksError
from rclicks.types import Click, Sample

#: column -> pandas dtype
CLICKS_SCHEMA: dict[str, str] = {
    "dataset": "string",
    "full_stem": "string",
    "image_stem": "string",
    "object_stem": "string",
    "click_type": "string",
    "model_type": "string",
    "device": "string",
    "x": "int64",
    "y": "int64",
    "w": "int64",
    "h": "int64",
}
CLICK_TYPES = ("first", "fn", "fp")
DEVICES = ("pc", "mobile")


def validate_clicks(df: pd.DataFrame, source: str = "clicks table") -> pd.DataFrame:
    """Check columns, values and types; return the table cast to ``CLICKS_SCHEMA`` or raise RClicksError naming ``source``."""
    missing = [c for c in CLICKS_SCHEMA if c not in df.columns]
    if missing:
        raise RClicksError(f"{source}: missing column(s) {missing}; expected the RClicks clicks.csv columns {list(CLICKS_SCHEMA)}")
    df = df.copy()
    for c in ("object_stem", "model_type", "full_stem"):
        df[c] = df[c].where(df[c].notna(), "")
    for c in ("object_stem",):  # ids read from CSV as numbers come back as 3.0 → "3"
        df[c] = df[c].map(lambda v: str(int(v)) if isinstance(v, float) and float(v).is_integer() else str(v))
    try:
        out = df.astype({**CLICKS_SCHEMA})
    except (ValueError, TypeError) as exc:
        raise RClicksError(f"{source}: a column has the wrong type ({exc}); x, y, w, h must be integers") from exc
    bad = sorted(set(out["click_type"].dropna()) - set(CLICK_TYPES))
    if bad:
        raise RClicksError(f"{source}: click_type values {bad} not in {list(CLICK_TYPES)}")
    bad = sorted(set(out["device"].dropna()) - set(DEVICES))
    if bad:
        raise RClicksError(f"{source}: device values {bad} not in {list(DEVICES)}")
    if len(out) and ((out["w"] <= 0) | (out["h"] <= 0)).any():
        raise RClicksError(f"{source}: w and h (the displayed image size) must be positive")
    return out.reset_index(drop=True)


def read_clicks(path: str | os.PathLike) -> pd.DataFrame:
    """Read a clicks table from ``.csv``, ``.parquet`` or a folder of parquet parts (validated).

    In a folder, an unreadable or invalid part (0 bytes, truncated, wrong columns) is skipped
    and named in ``df.attrs["skipped"]`` (and a warning); the good parts are still read.
    """
    path = Path(path)
    if not path.exists():
        raise RClicksError(f"{path}: clicks table not found")
    skipped: list[str] = []
    try:
        if path.is_dir():
            parts = sorted(path.glob("*.parquet"))
            if not parts:
                raise RClicksError(f"{path}: folder holds no *.parquet clicks parts")
            frames = []
            for p in parts:
                try:
                    frames.append(validate_clicks(pd.read_parquet(p), str(p)))
                except Exception as exc:  # one bad part never hides the good ones
                    skipped.append(f"{p.name}: {str(exc).splitlines()[0][:200]}")
            if skipped:
                import warnings

                warnings.warn(f"{path}: skipped unreadable clicks part(s): {'; '.join(skipped)}", stacklevel=2)
            if not frames:
                raise RClicksError(f"{path}: no readable clicks part ({'; '.join(skipped)})")
            df = pd.concat(frames, ignore_index=True)
        elif path.suffix == ".parquet":
            df = pd.read_parquet(path)
        elif path.suffix == ".csv":
            df = pd.read_csv(path, keep_default_na=False, dtype={"object_stem": str, "image_stem": str, "full_stem": str})
        else:
            raise RClicksError(f"{path}: unsupported clicks file type {path.suffix!r}; use .csv, .parquet or a folder")
    except RClicksError:
        raise
    except Exception as exc:  # pandas/pyarrow parsing errors
        raise RClicksError(f"{path}: not a readable clicks table ({exc})") from exc
    out = validate_clicks(df, str(path))
    out.attrs["skipped"] = skipped
    return out


def write_clicks(df: pd.DataFrame, folder: str | os.PathLike) -> Path:
    """Append ``df`` (validated) to the clicks store ``folder`` as a new parquet part; atomic; returns the part's path."""
    out = validate_clicks(df, "clicks to write")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{pd.Timestamp.now(tz='UTC').strftime('%Y%m%dT%H%M%S%f')}-{uuid.uuid4().hex[:8]}.parquet"
    final = folder / name
    tmp = folder / f".{name}.tmp"
    try:
        with open(tmp, "wb") as fh:
            out.to_parquet(fh, index=False)
            fh.flush()
            os.fsync(fh.fileno())  # the rename below must never publish an empty part after a crash
        os.replace(tmp, final)
        from rclicks.fsutil import fsync_dir

        fsync_dir(folder)
    finally:
        if tmp.exists():
            tmp.unlink()
    return final


def rescale(x, y, w, h, width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
    """Clicks recorded on a ``w×h`` display mapped to a ``width×height`` image (see module docstring); int64 arrays."""
    x, y = np.asarray(x, dtype=np.int64), np.asarray(y, dtype=np.int64)
    w, h = np.asarray(w, dtype=np.int64), np.asarray(h, dtype=np.int64)
    x, y = np.clip(x, 0, w - 1), np.clip(y, 0, h - 1)
    xs = np.where(w == width, x, (x * width) // w)
    ys = np.where(h == height, y, (y * height) // h)
    return np.clip(xs, 0, width - 1), np.clip(ys, 0, height - 1)


def sample_key(sample: Sample) -> tuple[str, str, str]:
    """``(dataset, image_stem, object_stem)`` of a sample as the clicks table spells them (lower-case dataset)."""
    return sample.dataset.lower(), sample.name, "" if sample.instance_id == 0 else str(sample.instance_id)


def clicks_for_sample(table: pd.DataFrame, sample: Sample, click_type: str = "first", device: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Real clicks of one instance rescaled to its image: ``(xs, ys)`` int64 (x = column, y = row).

    Rows match on ``dataset`` (case-insensitive), ``image_stem == sample.name`` and
    ``object_stem`` (empty ↔ ``instance_id`` 0, else the id as text).
    """
    ds, stem, obj = sample_key(sample)
    sel = table[
        (table["dataset"].str.lower() == ds)
        & (table["image_stem"] == stem)
        & (table["object_stem"].fillna("") == obj)
        & (table["click_type"] == click_type)
    ]
    if device is not None:
        sel = sel[sel["device"] == device]
    h, w = sample.mask.shape
    return rescale(sel["x"], sel["y"], sel["w"], sel["h"], w, h)


def replay(model, dataset: Sequence[Sample], table: pd.DataFrame, *, device: str | None = None, model_name: str | None = None,
           policy: str = "single") -> pd.DataFrame:
    """Run ``model`` on every recorded first click, one click each: one results row per click (``rclicks.results`` schema).

    Each click is a one-click trajectory of the scripted clicker (clicker ``replay``, protocol
    ``replay``, ``max_clicks`` 1) run by ``rclicks.runner.run_trajectory``, so the row holds the
    runner's ``iou``, ``biou``, confusion counts and time like any other trajectory. The image
    is set once per sample (one encoder call per image for promptable models). Instances
    without real clicks are skipped. Summarise with ``rclicks.metrics.benchmark.replay_summary``.
    """
    from rclicks.clickers.scripted import ScriptedClicker
    from rclicks.runner import run_trajectory, trajectory_rows

    rows: list[dict] = []
    name = model_name or getattr(model, "name", type(model).__name__)
    const = {"model": name, "clicker": "replay", "policy": policy, "seed": 0, "max_clicks": 1, "target_iou": float("nan"),
             "protocol": "replay", "clickmap": "", "group": 0}
    for sample in dataset:
        xs, ys = clicks_for_sample(table, sample, "first", device)
        if xs.size == 0:
            continue
        model.set_image(sample.image)
        for x, y in zip(xs.tolist(), ys.tolist()):
            clicker = ScriptedClicker([Click(x, y, True)], name="replay")
            rows += trajectory_rows(run_trajectory(model, sample, clicker, max_clicks=1, policy=policy, set_image=False), **const)
    if not rows:
        raise RClicksError("no recorded first clicks match the dataset's instances (check dataset/image_stem/object_stem)")
    return pd.DataFrame(rows)


def sampled_first_clicks(
    table: pd.DataFrame, dataset: Sequence[Sample], clickmap: str = "distance", *, seed: int = 0, device: str | None = None,
    **clickmap_kwargs,
) -> pd.DataFrame:
    """RClicks' ``SamplingUsersCount`` clicks (NUser@1): per instance, as many first clicks drawn from a click map
    as the table holds real first clicks.

    Each real first-click row of a sample is copied with its ``(x, y)`` replaced by an
    i.i.d. draw from ``clickmap`` over the object (the first click's error region is the
    whole valid object) and ``(w, h)`` set to the image size. Draws come from a Generator
    seeded by (seed, dataset, instance), so the table is reproducible. Returns a clicks
    table (``CLICKS_SCHEMA``) that ``replay`` runs like real clicks.
    """
    from rclicks.registry import build_clickmap
    from rclicks.runner import trajectory_rng

    cmap_model = build_clickmap(clickmap, cache_size=0, **clickmap_kwargs)
    parts = []
    for sample in dataset:
        dset, stem, obj = sample_key(sample)
        sel = table[
            (table["dataset"].str.lower() == dset) & (table["image_stem"] == stem)
            & (table["object_stem"].fillna("") == obj) & (table["click_type"] == "first")
        ]
        if device is not None:
            sel = sel[sel["device"] == device]
        if sel.empty:
            continue
        region = sample.mask & sample.valid
        m = np.asarray(cmap_model.click_map(sample.image, sample.mask, region), dtype=np.float64)
        m = np.where(region, np.nan_to_num(m, nan=0.0), 0.0)
        if not m.sum() > 0:
            m = region.astype(np.float64)
        flat = m.ravel() / m.sum()
        rng = trajectory_rng(seed, sample.dataset, sample.instance, f"nuser@{clickmap}")
        idx = rng.choice(flat.size, size=len(sel), p=flat)
        h, w = sample.mask.shape
        out = sel.copy()
        out["y"], out["x"] = np.divmod(idx, w)
        out["w"], out["h"] = w, h
        parts.append(out)
    if not parts:
        raise RClicksError("no recorded first clicks match the dataset's instances: nothing to match the sampled clicks to")
    return validate_clicks(pd.concat(parts, ignore_index=True), "sampled clicks")
