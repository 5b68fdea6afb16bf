"""The long-form results table: schema, validation, and atomic parquet I/O at any fsspec URL.

One row per model × dataset × instance × clicker × click. Every metric is a group-by
over this table, and the leaderboard is a pure function of it. Every row says how it
was produced (``max_clicks``, ``target_iou``, ``protocol``, ``clickmap``, ``group``,
``policy``, ``seed``, model checksum, dataset fingerprint), so no consumer has to guess
a run's settings from other rows. ``tp, fp, fn, tn`` are the confusion counts over valid
pixels after the click: every mask metric (IoU, Dice, precision, recall, accuracy,
F-score) is derived from them without re-running a model.
"""

from __future__ import annotations

import json
import os
import platform
import sys
import uuid
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from rclicks.errors import RClicksError

#: Version of the results contract; stored in every file's metadata.
SCHEMA_VERSION = 2

#: column -> pandas dtype. ``click`` is the 1-based click number.
SCHEMA: dict[str, str] = {
    "dataset": "string",
    "instance": "string",
    "model": "string",
    "clicker": "string",
    "seed": "int64",
    "click": "int64",
    "x": "int64",
    "y": "int64",
    "positive": "bool",
    "iou": "float64",
    "biou": "float64",
    "time_s": "float64",
    "policy": "string",
    "model_sha256": "string",
    "dataset_fingerprint": "string",
    # how the trajectory was produced (results contract v2)
    "max_clicks": "int64",
    "target_iou": "float64",
    "protocol": "string",
    "clickmap": "string",
    "group": "int64",
    # confusion counts over valid pixels after this click
    "tp": "int64",
    "fp": "int64",
    "fn": "int64",
    "tn": "int64",
}
#: Columns added by contract v2; a table without them predates it.
V2_COLUMNS = ("max_clicks", "target_iou", "protocol", "clickmap", "group", "tp", "fp", "fn", "tn")
#: Optional columns: run-length encoded mask after the click (JSON), attack flavour, the
#: best IoU among the model's candidate masks and the kept one (``best_iou``, NaN when the
#: prediction had no candidates; multi-mask models), who made the click (``source``:
#: ``human`` — a clicker — or ``model`` — a click the model proposed; absent = all human).
#: ``search_s``: seconds an attack spent searching for the click (candidate scoring, gradient
#: steps), apart from ``time_s``, which stays the model's time for the click itself, so
#: ``s/click`` means the same for every clicker (NaN / absent for non-attack clickers).
#: ``mask_rle`` on the first click of a multi-mask prediction also holds the model's K candidate
#: masks, in the model's order, under ``"candidates"`` (a list of the same encodings).
OPTIONAL: dict[str, str] = {"mask_rle": "string", "attack": "string", "best_iou": "float64", "source": "string",
                            "search_s": "float64"}

METADATA_KEY = b"rclicks"

_PACKAGES = (
    "numpy", "opencv-python-headless", "onnxruntime", "scikit-image", "pandas", "torch", "segment-anything",
    "sam2", "segment-anything-hq", "mobilesam-mirror", "timm",
)


def package_versions() -> dict[str, str]:
    """Versions of python, rclicks and the numerical packages a result depends on."""
    from rclicks._version import __version__

    out = {"python": sys.version.split()[0], "rclicks": __version__}
    for name in _PACKAGES:
        try:
            out[name] = importlib_metadata.version(name)
        except importlib_metadata.PackageNotFoundError:
            continue
    return out


def run_metadata(**extra: Any) -> dict[str, Any]:
    """Metadata recorded with a results file: package versions, hardware, timestamp, plus ``extra``."""
    return {
        "versions": package_versions(),
        "hardware": {"machine": platform.machine(), "processor": platform.processor(), "cpus": os.cpu_count()},
        "created": pd.Timestamp.now(tz="UTC").isoformat(),
        **extra,
    }


def empty_results() -> pd.DataFrame:
    """An empty table with the results schema."""
    return pd.DataFrame({c: pd.Series(dtype=t) for c, t in SCHEMA.items()})


def with_all_columns(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with every ``OPTIONAL`` column (missing ones all null), columns in ``SCHEMA`` then ``OPTIONAL`` order.

    Files of one dataset on the Hub must share one schema (``datasets.load_dataset`` casts
    every file to the card's features); a null optional column reads as an absent one.
    """
    out = df.copy()
    for col, dtype in OPTIONAL.items():
        if col not in out.columns:
            out[col] = pd.Series(pd.NA if dtype == "string" else float("nan"), index=out.index, dtype=dtype)
    return out[[*SCHEMA, *OPTIONAL, *[c for c in out.columns if c not in SCHEMA and c not in OPTIONAL]]]


def validate_results(df: pd.DataFrame, source: str = "results table") -> pd.DataFrame:
    """Check columns and dtypes; return the table cast to the schema, or raise RClicksError naming ``source``."""
    missing = [c for c in SCHEMA if c not in df.columns]
    if missing and set(missing) <= set(V2_COLUMNS):
        raise RClicksError(
            f"{source}: missing column(s) {missing}: this table predates results contract v{SCHEMA_VERSION} "
            "(it does not record max_clicks or the confusion counts); re-run the evaluation to regenerate it"
        )
    if missing:
        raise RClicksError(f"{source}: missing column(s) {missing}; expected the rclicks results schema")
    try:
        out = df.astype({**SCHEMA, **{c: t for c, t in OPTIONAL.items() if c in df.columns}})
    except (ValueError, TypeError) as exc:
        raise RClicksError(f"{source}: a column has the wrong type ({exc})") from exc
    if len(out) and (out["click"] < 1).any():
        raise RClicksError(f"{source}: click numbers start at 1")
    if len(out):
        # max_clicks bounds human clicks; model-proposed clicks (source = model) come on top of it
        limit = out["max_clicks"]
        if "source" in out.columns and (out["source"] == "model").any():
            keys = [out[k] for k in ("model", "dataset", "clicker", "policy", "seed", "max_clicks", "instance")]
            model = (out["source"] == "model").fillna(False).astype(np.int64)
            limit = limit + model.groupby(keys, observed=True, sort=False).transform("sum")
        if (out["click"] > limit).any():
            raise RClicksError(f"{source}: a click number exceeds the row's max_clicks (plus the trajectory's model-proposed clicks)")
    if len(out) and (out[["tp", "fp", "fn", "tn"]] < 0).to_numpy().any():
        raise RClicksError(f"{source}: confusion counts tp, fp, fn, tn must be non-negative")
    for col in ("iou", "biou"):
        bad = out[col].dropna()
        if len(bad) and ((bad < 0) | (bad > 1)).any():
            raise RClicksError(f"{source}: column {col!r} has values outside [0, 1]")
    return out


def write_results(df: pd.DataFrame, url: str | os.PathLike, metadata: dict[str, Any] | None = None) -> str:
    """Validate and write ``df`` as parquet to ``url`` atomically (temp file + rename); return the URL.

    ``url`` is a local path or any fsspec URL. Readers never see a partial file.
    """
    import fsspec
    import pyarrow as pa
    import pyarrow.parquet as pq
    from fsspec.implementations.local import LocalFileSystem

    url = os.fspath(url)
    df = validate_results(df, url)
    table = pa.Table.from_pandas(df.reset_index(drop=True), preserve_index=False)
    meta = dict(table.schema.metadata or {})
    meta[METADATA_KEY] = json.dumps({"schema_version": SCHEMA_VERSION, **(metadata or {})}, default=str).encode()
    table = table.replace_schema_metadata(meta)

    fs, path = fsspec.core.url_to_fs(url)
    parent = path.rsplit("/", 1)[0] if "/" in path else ""
    if parent:
        fs.makedirs(parent, exist_ok=True)
    tmp = f"{path}.{uuid.uuid4().hex}.tmp"
    try:
        with fs.open(tmp, "wb") as fh:
            pq.write_table(table, fh)
        if isinstance(fs, LocalFileSystem):
            from rclicks.fsutil import fsync_dir, fsync_path

            fsync_path(tmp)  # bytes on disk before the rename publishes them
            os.replace(tmp, path)
            fsync_dir(os.path.dirname(os.path.abspath(path)))
        else:
            fs.mv(tmp, path)
    except BaseException:
        try:
            if fs.exists(tmp):
                fs.rm(tmp)
        finally:
            raise
    return url


def read_results(url: str | os.PathLike) -> pd.DataFrame:
    """Read one results parquet file (validated); its run metadata is in ``df.attrs['rclicks']``."""
    import fsspec
    import pyarrow.parquet as pq

    url = os.fspath(url)
    fs, path = fsspec.core.url_to_fs(url)
    if not fs.exists(path):
        raise RClicksError(f"{url}: results file not found")
    try:
        with fs.open(path, "rb") as fh:
            table = pq.read_table(fh)
    except Exception as exc:  # pyarrow raises several types for corrupt files
        raise RClicksError(f"{url}: not a readable parquet file ({exc})") from exc
    df = validate_results(table.to_pandas(), url)
    raw = (table.schema.metadata or {}).get(METADATA_KEY)
    df.attrs["rclicks"] = json.loads(raw) if raw else {}
    return df


def read_results_dir(folder: str | os.PathLike) -> tuple[pd.DataFrame, list[str]]:
    """Read every ``*.parquet`` under ``folder``; return (concatenated table, errors of skipped files)."""
    import fsspec

    fs, path = fsspec.core.url_to_fs(os.fspath(folder))
    frames, errors = [], []
    files = sorted(fs.glob(f"{path.rstrip('/')}/**/*.parquet")) if fs.exists(path) else []
    proto = fs.protocol[0] if isinstance(fs.protocol, tuple) else fs.protocol
    for f in files:
        url = f if proto in ("file", "local") else f"{proto}://{f}"
        try:
            frames.append(read_results(url))
        except RClicksError as exc:
            errors.append(str(exc))
    df = pd.concat(frames, ignore_index=True) if frames else empty_results()
    return df, errors


def default_results_path(model: str, dataset: str, clicker: str, out_dir: str | os.PathLike = "results") -> Path:
    """``out_dir/<model>__<dataset>__<clicker>.parquet`` with names made filesystem-safe."""
    safe = lambda s: "".join(ch if ch.isalnum() or ch in "-_." else "-" for ch in s)  # noqa: E731
    return Path(out_dir) / f"{safe(model)}__{safe(dataset)}__{safe(clicker)}.parquet"
