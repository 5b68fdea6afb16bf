"""The results store: one parquet file per (model, dataset, protocol, part) shard at an fsspec URL.

Layout (a Hugging Face dataset, see :mod:`rclicks_leaderboard.hub`): ``<url>/README.md`` (the
dataset card) and ``<url>/data/<model>/<dataset>__<protocol>[__<part>].parquet`` (names
encoded by :func:`rclicks_leaderboard._fs.safe_segment`). Stores of the layout before
(``<url>/<model>/*.parquet``) are read as they are and refused for writing until migrated
(``rclicks leaderboard migrate``). Files follow ``rclicks.results.SCHEMA`` and carry
run metadata (model id, weight sha256, dataset fingerprint, clickers, policy, seed,
package versions, hardware, timestamps) under the parquet key ``rclicks``; they load with
``datasets.load_dataset("parquet", data_files=store.files())``. Writing a shard again
replaces its file (idempotent), atomically (``rclicks.results.write_results``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pandas as pd

from rclicks_leaderboard import _fs
from rclicks.errors import RClicksError
from rclicks.results import (
    METADATA_KEY,
    read_results,
    read_results_dir,
    run_metadata,
    with_all_columns,
    write_results,
)


@dataclass(frozen=True)
class ShardKey:
    """One unit of evaluation work and one results file: model × dataset × protocol, and ``part``,
    the range of instances (``i00000-00025``; ``""`` = the whole dataset) when the work is split."""

    model: str
    dataset: str
    protocol: str
    part: str = ""

    @property
    def name(self) -> str:
        """A short printable id, ``model/dataset/protocol`` (``…/protocol#part`` for a part)."""
        return f"{self.model}/{self.dataset}/{self.protocol}" + (f"#{self.part}" if self.part else "")

    def stem(self) -> str:
        """File name of the shard without folder and extension: ``<dataset>__<protocol>[__<part>]``."""
        stem = f"{_fs.safe_segment(self.dataset)}__{_fs.safe_segment(self.protocol)}"
        return stem + (f"__{_fs.safe_segment(self.part)}" if self.part else "")

    def relpath(self) -> str:
        """Path of the shard's file relative to the store root (``data/<model>/<stem>.parquet``)."""
        from rclicks_leaderboard.hub import DATA_DIR

        return f"{DATA_DIR}/{_fs.safe_segment(self.model)}/{self.stem()}.parquet"

    @staticmethod
    def part_name(start: int, stop: int) -> str:
        """The ``part`` of the instance range [start, stop)."""
        return f"i{int(start):05d}-{int(stop):05d}"


class ResultsStore:
    """Results parquet files under one URL (a local folder or ``hf://datasets/OWNER/NAME/...``)."""

    def __init__(self, url: str | None = None) -> None:
        from rclicks import settings

        self.url = str(url) if url is not None else settings.text("RCLICKS_RESULTS_URL")
        self._writable = False  # layout checked and card written (once per instance: a listing is costly on the Hub)

    def model_url(self, model: str) -> str:
        """URL of the folder holding every shard of ``model``."""
        from rclicks_leaderboard.hub import DATA_DIR

        return _fs.join(self.url, DATA_DIR, _fs.safe_segment(model))

    def check_writable(self) -> None:
        """Refuse to write into an old-layout store (naming the migration command); write the card if missing."""
        if self._writable:
            return
        from rclicks_leaderboard import hub

        if hub.old_layout_files(self.url):
            raise RClicksError(hub.migration_hint(self.url))
        hub.ensure_card(self.url)
        self._writable = True

    def shard_url(self, key: ShardKey) -> str:
        """URL of the file holding ``key``."""
        return _fs.join(self.url, key.relpath())

    def write_shard(self, key: ShardKey, df: pd.DataFrame, metadata: dict[str, Any] | None = None) -> str:
        """Write (or replace) the shard ``key`` with the long-form table ``df``; return its URL.

        Rows must all belong to ``key.model`` and ``key.dataset``; metadata gets the run
        information of ``rclicks.results.run_metadata`` plus ``shard`` and ``protocol``.
        """
        if len(df):
            bad = set(df["model"].astype(str)) - {key.model}
            bad |= set(df["dataset"].astype(str)) - {key.dataset}
            if bad:
                raise RClicksError(f"shard {key.name}: rows name other models/datasets {sorted(bad)}")
        self.check_writable()
        df = with_all_columns(df)  # one schema for every file: the card's features (rclicks_leaderboard.hub)
        meta = run_metadata(shard=key.name, model=key.model, dataset=key.dataset, protocol=key.protocol, **(metadata or {}))
        url = self.shard_url(key)
        fs, path = _fs.url_to_fs(url)
        if _fs.is_local(fs):
            return write_results(df, url, meta)
        # remote (hf://): validate and serialise locally, then one upload = one commit, so
        # readers see the old file or the new one (a temp upload + move would be 3 commits)
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            local = write_results(df, f"{tmp}/shard.parquet", meta)
            parent = path.rsplit("/", 1)[0]
            fs.makedirs(parent, exist_ok=True)
            fs.put_file(local, path)
        return url

    def has_shard(self, key: ShardKey) -> bool:
        """True when the shard's file exists."""
        fs, path = _fs.url_to_fs(self.shard_url(key))
        return bool(fs.exists(path))

    def shard_metadata(self, key: ShardKey) -> dict[str, Any] | None:
        """The run metadata of a stored shard (reads only the parquet footer), or None if absent/corrupt."""
        import pyarrow.parquet as pq

        fs, path = _fs.url_to_fs(self.shard_url(key))
        if not fs.exists(path):
            return None
        try:
            with fs.open(path, "rb") as fh:
                raw = (pq.read_schema(fh).metadata or {}).get(METADATA_KEY)
        except Exception:  # a corrupt file counts as absent: the shard is recomputed
            return None
        return json.loads(raw) if raw else {}

    def read_shard(self, key: ShardKey) -> pd.DataFrame:
        """The table of one shard (metadata in ``df.attrs['rclicks']``)."""
        return read_results(self.shard_url(key))

    def files(self) -> list[str]:
        """URLs of every ``*.parquet`` file in the store, sorted."""
        fs, path = _fs.url_to_fs(self.url)
        if not fs.exists(path):
            return []
        return [_fs.to_url(fs, p) for p in sorted(fs.glob(f"{path.rstrip('/')}/**/*.parquet"))]

    def load(self) -> tuple[pd.DataFrame, list[str]]:
        """Every readable shard concatenated, and one message per skipped (corrupt) file naming it."""
        return read_results_dir(self.url)

    def metadata_table(self) -> pd.DataFrame:
        """One row per readable shard from its parquet footer: url, model, dataset, protocol, model_bytes, created, ..."""
        import pyarrow.parquet as pq

        rows = []
        for url in self.files():
            fs, path = _fs.url_to_fs(url)
            try:
                with fs.open(path, "rb") as fh:
                    raw = (pq.read_schema(fh).metadata or {}).get(METADATA_KEY)
                meta = json.loads(raw) if raw else {}
            except Exception:  # corrupt files are reported by load(); here they are skipped
                continue
            rows.append({"url": url, **{k: meta.get(k) for k in ("model", "dataset", "protocol", "policy", "seed", "request_id", "created")},
                         "model_bytes": meta.get("model_bytes")})
        cols = ["url", "model", "dataset", "protocol", "policy", "seed", "request_id", "created", "model_bytes"]
        return pd.DataFrame(rows, columns=cols)

    def delete_shard(self, key: ShardKey) -> None:
        """Remove a shard's file if present (maintainers: withdraw a result)."""
        fs, path = _fs.url_to_fs(self.shard_url(key))
        if fs.exists(path):
            fs.rm(path)


def load_nonempty(url: str, hint: str) -> pd.DataFrame:
    """Load a results store, printing a warning per skipped file; RClicksError (with ``hint``) when it holds nothing."""
    store = ResultsStore(url)
    df, errors = store.load()
    for e in errors:
        print(f"warning: skipped {e}")
    if df.empty:
        raise RClicksError(f"{store.url}: no results found; {hint}")
    return df
