"""The results store as a Hugging Face dataset: its card, the migration of old-layout stores, and ``push``.

Layout (what the Hub's dataset viewer and ``datasets.load_dataset`` read)::

    <store>/README.md                                   dataset card: YAML configs (split, features), license, provenance
    <store>/data/<model>/<dataset>__<protocol>[__<part>].parquet

Every file holds every column of ``rclicks.results.SCHEMA`` and ``OPTIONAL`` (optional ones
null where not recorded) because ``load_dataset`` casts each file to the card's features, so
``datasets.load_dataset(<store>)["results"]`` holds exactly the rows of ``ResultsStore.load()``.
Stores written before this layout (``<store>/<model>/*.parquet``) are still read by every
reader; writing to one is refused until ``rclicks leaderboard migrate --results <store>`` moves
its files (rows kept as they are: no recomputation).
"""

from __future__ import annotations

import re
from typing import Any

from rclicks_leaderboard import _fs
from rclicks.errors import RClicksError

DATA_DIR = "data"
CARD = "README.md"
SPLIT = "results"
LICENSE = "mit"

_FEATURE = {"string": "string", "int64": "int64", "float64": "float64", "bool": "bool"}
_HF_URL = re.compile(r"^hf://datasets/(?P<repo>[A-Za-z0-9][\w.-]*/[\w.-]+)/?$")


def features() -> list[tuple[str, str]]:
    """(column, Hub feature dtype) of every results file, in file column order."""
    from rclicks.results import OPTIONAL, SCHEMA

    return [(c, _FEATURE[t]) for c, t in {**SCHEMA, **OPTIONAL}.items()]


def card_header(pretty_name: str, split: str, path: str, feats: list[tuple[str, str]]) -> str:
    """A dataset card's YAML front matter (the Hub's viewer and ``datasets.load_dataset`` read it): license, tags,
    one config whose ``split`` reads the files matching ``path``, and the ``(name, dtype)`` features."""
    lines = "\n".join(f"  - name: {name}\n    dtype: {dtype}" for name, dtype in feats)
    return f"""---
license: {LICENSE}
pretty_name: {pretty_name}
tags:
- interactive-segmentation
- benchmark
- leaderboard
configs:
- config_name: default
  data_files:
  - split: {split}
    path: {path}
dataset_info:
  config_name: default
  features:
{lines}
---
"""


def results_card() -> str:
    """The results store's ``README.md``: YAML header (license, configs with the split and its files, features) and provenance."""
    from rclicks import __version__
    from rclicks.results import SCHEMA_VERSION

    return card_header("RClicks leaderboard results", SPLIT, f"{DATA_DIR}/**/*.parquet", features()) + f"""
# RClicks leaderboard results

Long-form results of click-based interactive segmentation models under realistic clicks: one
row per model × dataset × instance × clicker × click (results contract v{SCHEMA_VERSION}, see
`rclicks/results.py`). Every leaderboard column is a group-by over this table.

## How it was produced

By the rclicks evaluation backend (`python -m rclicks_leaderboard.backend`, rclicks {__version__}):
each file `{DATA_DIR}/<model>/<dataset>__<protocol>[__<part>].parquet` is one shard (a range of
instances of one dataset under one protocol: the baseline robot, clicking groups G1..G10 sampled
from a click-ability map, TETRIS adversarial clicks, ...). Each file's parquet metadata (key
`rclicks`) records the model and weight sha256, the dataset fingerprint, clickers, multi-mask
policy, seed, clicks per trajectory, package versions, hardware and the request it answers.
Every trajectory's randomness is derived from (seed, dataset, instance, clicker), so the rows are
reproducible and do not depend on how the work was split.

`time_s` is the model's time for each click; `search_s` is the extra time an attack spent
searching for it. Optional columns are null where a run did not record them.

## Load it

```python
import datasets
ds = datasets.load_dataset("<this repo or folder>", split="{SPLIT}")
```

or `rclicks_leaderboard.store.ResultsStore("<folder or hf://datasets/OWNER/NAME>").load()`.

## License

The results table is released under the {LICENSE.upper()} license (that of rclicks). The
images and masks it was computed on keep their own licenses (GrabCut, DAVIS, ...); this
dataset contains none of them, only per-click coordinates and scores.
"""


def card_url(store_url: str) -> str:
    """URL of a store's dataset card."""
    return _fs.join(store_url, CARD)


def ensure_card(store_url: str) -> bool:
    """Write the results card at the store's root when it has none; True when written."""
    fs, path = _fs.url_to_fs(card_url(store_url))
    if fs.exists(path):
        return False
    _fs.write_bytes_atomic(card_url(store_url), results_card().encode())
    return True


def old_layout_files(store_url: str) -> list[str]:
    """Paths of parquet files outside ``data/`` (a store written before the Hub layout); [] when none."""
    fs, root = _fs.url_to_fs(store_url)
    root = root.rstrip("/")
    if not fs.exists(root):
        return []
    data = f"{root}/{DATA_DIR}/"
    return sorted(p for p in fs.glob(f"{root}/**/*.parquet") if not p.startswith(data))


def migration_hint(store_url: str) -> str:
    """The message naming the migration command for an old-layout store."""
    return (f"{store_url}: results store in the layout before the Hub dataset layout (<model>/*.parquet at its root); "
            f"migrate it first: rclicks leaderboard migrate --results {store_url}")


def migrate_store(store_url: str) -> list[tuple[str, str]]:
    """Move every old-layout file ``<model>/<name>.parquet`` to ``data/<model>/<name>.parquet`` and write the card.

    Rows and run metadata are kept as they are (nothing is recomputed); missing optional
    columns are added as nulls so that every file has the card's features. A corrupt file
    is left where it is and reported (RClicksError after the others moved). Returns
    (old path, new path) pairs.
    """
    from rclicks.results import read_results, with_all_columns, write_results

    fs, root = _fs.url_to_fs(store_url)
    root = root.rstrip("/")
    moved, errors = [], []
    for old in old_layout_files(store_url):
        rel = old[len(root) + 1:]
        new = f"{root}/{DATA_DIR}/{rel}"
        src, dst = _fs.to_url(fs, old), _fs.to_url(fs, new)
        if fs.exists(new):
            errors.append(f"{src}: {dst} already exists; remove one of them")
            continue
        try:
            df = read_results(src)
        except RClicksError as exc:
            errors.append(str(exc))
            continue
        meta = {k: v for k, v in df.attrs.get("rclicks", {}).items() if k != "schema_version"}
        write_results(with_all_columns(df), dst, meta)
        fs.rm(old)
        moved.append((src, dst))
        if _fs.is_local(fs):  # the emptied <model>/ folder goes too
            import os

            try:
                os.rmdir(os.path.dirname(old))
            except OSError:
                pass
    ensure_card(store_url)
    if errors:
        raise RClicksError(f"{len(moved)} file(s) moved; not moved: " + "; ".join(errors))
    return moved


def parse_hub_url(url: str) -> str:
    """``OWNER/NAME`` of ``hf://datasets/OWNER/NAME``; RClicksError for anything else."""
    m = _HF_URL.match(str(url))
    if not m:
        raise RClicksError(f"--to {url!r}: expected hf://datasets/OWNER/NAME (a dataset repository on the Hugging Face Hub)")
    return m.group("repo")


def push_store(store_url: str, to: str, *, token: str | None = None, private: bool = False,
               message: str | None = None) -> dict[str, Any]:
    """Publish a local results store to the Hub dataset ``to`` (``hf://datasets/OWNER/NAME``) with ``huggingface_hub``.

    Creates the repository if needed and uploads ``README.md`` and ``data/**/*.parquet`` in one
    commit; remote files under ``data/`` that the local store no longer has are deleted in that
    commit, so the repository mirrors the store. ``token`` defaults to ``$HF_TOKEN``.
    Returns ``{"repo_id", "files", "commit"}``.
    """
    from pathlib import Path

    from rclicks import settings

    repo_id = parse_hub_url(to)
    token = token or settings.text("HF_TOKEN")
    if not token:
        raise RClicksError("HF_TOKEN is not set: create a token with write access at https://huggingface.co/settings/tokens "
                           "and export HF_TOKEN=... before pushing")
    fs, root = _fs.url_to_fs(store_url)
    if not _fs.is_local(fs) or not Path(root).is_dir():
        raise RClicksError(f"--results {store_url}: push publishes a local store folder; this is not one")
    if old_layout_files(store_url):
        raise RClicksError(migration_hint(store_url))
    files = sorted(p.relative_to(root).as_posix() for p in (Path(root) / DATA_DIR).rglob("*.parquet"))
    if not files:
        raise RClicksError(f"{store_url}: no results under {DATA_DIR}/ to push")
    ensure_card(store_url)
    try:
        from huggingface_hub import HfApi
    except ImportError as exc:
        raise RClicksError("push needs huggingface_hub: pip install huggingface_hub") from exc
    api = HfApi(token=token)
    api.create_repo(repo_id, repo_type="dataset", private=private, exist_ok=True)
    info = api.upload_folder(
        repo_id=repo_id, repo_type="dataset", folder_path=str(root),
        allow_patterns=[CARD, f"{DATA_DIR}/**/*.parquet"], delete_patterns=[f"{DATA_DIR}/**"],
        commit_message=message or f"rclicks results: {len(files)} shard file(s)",
    )
    return {"repo_id": repo_id, "files": len(files) + 1, "commit": getattr(info, "oid", None) or str(info)}
