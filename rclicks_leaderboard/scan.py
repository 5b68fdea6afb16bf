"""A results store scanned for the leaderboard: only the needed columns, per trajectory first, cached by the shard listing.

``ResultsStore.load`` materialises every column of every row as pandas strings (7.8 M
rows of a 100-model store: 11.6 s, 5.5 GB). The table needs far less: the trajectory
keys, ``click``, ``iou`` (and ``best_iou`` where recorded) and ``time_s``. Here
each file's footer is read first (schema, row-group statistics, run metadata); files
are grouped by the one model they hold (the ``model`` column's min = max statistics)
into batches of about ``batch_rows`` rows; each batch is read with pyarrow (string keys
dictionary-encoded, no pandas strings) and turned into per-trajectory rows by
`rclicks_leaderboard.trajectories.trajectory_rows` (the metrics layer's own per-trajectory
functions) and ``s/click`` means by :func:`rclicks_leaderboard.trajectories.time_means`, then
dropped. Every model's rows sit in one batch, in the store's file order, so each
aggregate sees the same values in the same order as ``build_table(store.load()[0])``
and the numbers are identical, bit for bit.

Validation is ``rclicks.results.validate_results``'s: the columns read are checked
row by row, the others (``tp, fp, fn, tn`` non-negative, ``biou`` in [0, 1], no missing integers) from the
parquet statistics; a file that is not plainly valid that way (other column types, no
statistics, a failed check, an unreadable footer) goes through ``read_results`` itself,
so it is accepted or skipped with the same message as ``ResultsStore.load``.

Results are cached per store URL: an unchanged listing (paths, sizes, modification
times or etags) returns the previous scan without opening a file, and after a change
only the batches whose files changed are read again. The same two levels are kept on
disk (``$RCLICKS_LB_SCAN_CACHE``, default ``<rclicks cache>/leaderboard-scan``; ``off``
disables it), keyed by the listing and by a fingerprint of the code and packages that
compute the numbers, so a new process (an app restart) on an unchanged store reads one
small file instead of every shard, and after one new shard only its batch is recomputed.
After each scan a store's older entries are deleted: the cache holds one scan per store.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from rclicks.errors import RClicksError

#: Columns the leaderboard reads; ``best_iou`` too where a file has it.
COLUMNS = ["model", "dataset", "clicker", "policy", "seed", "max_clicks", "instance", "click", "iou", "time_s", "group",
           "clickmap"]
_STRINGS = ["model", "dataset", "clicker", "policy", "instance", "clickmap"]
#: Optional columns read where a file has them (the table's per-trajectory rows use them when present).
_OPTIONAL_READ = ["best_iou", "source"]
_INTS = ["seed", "click", "x", "y", "max_clicks", "group", "tp", "fp", "fn", "tn"]
_COUNTS = ("tp", "fp", "fn", "tn")
_META_KEYS = ("model", "dataset", "protocol", "policy", "seed", "request_id", "created")
META_COLUMNS = ["url", *_META_KEYS, "model_bytes"]
#: Rows per batch: large enough that per-batch overhead is small, small enough to bound memory.
BATCH_ROWS = 1_000_000


@dataclass
class StoreScan:
    """What the leaderboard needs from a store.

    ``per``: one row per trajectory (`rclicks_leaderboard.trajectories.trajectory_rows`);
    ``times``: mean ``time_s`` per (model, policy, max_clicks); ``model_info``: one row per
    readable footer (as :meth:`rclicks_leaderboard.store.ResultsStore.metadata_table`); ``errors``:
    one message per skipped file (as ``ResultsStore.load``); ``key``: the listing it was
    computed from; ``files_read``: files opened for data by this call (0 when cached).
    """

    per: pd.DataFrame
    times: pd.Series
    model_info: pd.DataFrame
    errors: list[str]
    key: tuple
    files_read: int = 0
    heat: pd.DataFrame | None = None


@dataclass
class _File:
    url: str
    path: str
    key: tuple
    meta: dict | None = None  # model-info row; None when the footer is unreadable
    md: Any = None  # pyarrow FileMetaData when the file can take the fast path
    model: str | None = None  # the one model the file holds (statistics); None: unknown / several
    rows: int = 0
    table: Any = None  # needed columns, read through read_results before batching (files off the fast path)
    errors: list[str] = field(default_factory=list)


@dataclass
class _Batch:
    per: pd.DataFrame | None
    times: pd.Series | None
    errors: list[str] = field(default_factory=list)
    heat: pd.DataFrame | None = None  # heatmap rows (clicker ``heatmap``) with their positions, for the first-click spread


_LOCK = threading.Lock()
_CACHE: dict[str, tuple[tuple, dict[tuple, _Batch], StoreScan]] = {}


def _info_key(path: str, info: dict) -> tuple:
    """What identifies one version of a file: path, size and whatever the filesystem gives as version (mtime, inode, etag)."""
    version = tuple(str(info[k]) for k in ("size", "mtime", "ino", "etag", "ETag", "LastModified", "last_modified", "blob_id")
                    if info.get(k) is not None)
    return (path, *version)


def listing(url: str) -> tuple[Any, list[_File]]:
    """(filesystem, files) of the store in ``read_results_dir``'s order, each with its version key."""
    import fsspec

    fs, path = fsspec.core.url_to_fs(str(url))
    if not fs.exists(path):
        return fs, []
    found = fs.glob(f"{path.rstrip('/')}/**/*.parquet", detail=True)
    proto = fs.protocol[0] if isinstance(fs.protocol, tuple) else fs.protocol
    out = []
    for p in sorted(found):
        out.append(_File(url=p if proto in ("file", "local") else f"{proto}://{p}", path=p, key=_info_key(p, found[p])))
    return fs, out


def _open(fs, f: _File):
    from rclicks_leaderboard._fs import is_local

    return f.path if is_local(fs) else fs.open(f.path, "rb")


_ACCEPTED_SCHEMAS: list = []  # parquet schemas already checked by _fast_schema (a store has a handful)


def _fast_schema(md) -> bool:
    """True when the file has every schema column with the type ``write_results`` writes (castable without surprises)."""
    if any(md.schema.equals(ok) for ok in _ACCEPTED_SCHEMAS):
        return True
    if _check_schema(md):
        _ACCEPTED_SCHEMAS.append(md.schema)
        return True
    return False


def _check_schema(md) -> bool:
    import pyarrow as pa

    from rclicks.results import OPTIONAL, SCHEMA

    want = {"string": (pa.string(), pa.large_string()), "int64": (pa.int64(),), "float64": (pa.float64(),), "bool": (pa.bool_(),)}
    try:
        schema = md.schema.to_arrow_schema()
    except Exception:
        return False
    for col, dtype in {**SCHEMA, **OPTIONAL}.items():
        idx = schema.get_field_index(col)
        if idx < 0:
            if col in SCHEMA:
                return False
            continue
        if schema.field(idx).type not in want[dtype]:
            return False
    return True


def _stats_ok(md) -> tuple[bool, str | None]:
    """(statistics prove the unread checks pass, the one model of the file or None)."""
    index = {name: i for i, name in enumerate(md.schema.names)}
    groups = [md.row_group(g) for g in range(md.num_row_groups)]

    def stats(col: str) -> list:
        i = index[col]
        return [rg.column(i).statistics for rg in groups]

    minimum = {col: 0 for col in _INTS}
    minimum["click"] = 1
    for col in _INTS:
        for st in stats(col):
            if st is None or st.null_count is None or st.null_count != 0:
                return False, None
            if col in _COUNTS or col == "click":
                if not st.has_min_max or st.min < minimum[col]:
                    return False, None
    for st in stats("biou"):  # not read: its [0, 1] range from the statistics (which ignore NaN)
        if st is None or not st.has_min_max or st.min < 0 or st.max > 1:
            return False, None
    models = set()
    for st in stats("model"):
        if st is None or not st.has_min_max or st.min != st.max or st.null_count:
            return True, None
        models.add(st.min if isinstance(st.min, str) else bytes(st.min).decode())
    return True, (models.pop() if len(models) == 1 else None)


def _footer(fs, f: _File) -> None:
    """Read the footer: model-info row, and whether (and for which model) the fast path applies."""
    import pyarrow.parquet as pq

    from rclicks.results import METADATA_KEY

    try:
        src = _open(fs, f)
        try:
            md = pq.read_metadata(src)
        finally:
            if not isinstance(src, str):
                src.close()
        raw = (md.metadata or {}).get(METADATA_KEY)
        meta = json.loads(raw) if raw else {}
    except Exception:  # unreadable: read_results reports it (and metadata_table skips it)
        return
    f.meta = {"url": f.url, **{k: meta.get(k) for k in _META_KEYS}, "model_bytes": meta.get("model_bytes")}
    f.rows = md.num_rows
    if not _fast_schema(md):
        return
    ok, model = _stats_ok(md) if md.num_rows else (True, None)
    if ok:
        f.md, f.model = md, model


def _reference_table(f: _File, errors: list[str]):
    """The file through ``read_results`` (the reference validation), as an arrow table of the needed columns; None if skipped."""
    import pyarrow as pa

    from rclicks.results import read_results

    try:
        df = read_results(f.url)
    except RClicksError as exc:
        errors.append(str(exc))
        return None
    cols = COLUMNS + [c for c in _OPTIONAL_READ if c in df.columns]
    return pa.Table.from_pandas(df[cols], preserve_index=False)


def _all_null(md, col: str) -> bool:
    """True when the statistics show every value of ``col`` is null: read as a file that does not record it (the same
    per-trajectory rows: an all-null ``best_iou`` or ``source`` is dropped either way)."""
    i = md.schema.names.index(col)
    for g in range(md.num_row_groups):
        rg = md.row_group(g)
        st = rg.column(i).statistics
        if st is None or st.null_count is None or st.null_count != rg.num_rows:
            return False
    return True


def _fast_table(fs, f: _File):
    """The needed columns of a file that passed the footer checks, or None when a row check fails (then: reference path)."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    names = set(f.md.schema.names)
    cols = COLUMNS + [c for c in _OPTIONAL_READ if c in names and not _all_null(f.md, c)]
    src = _open(fs, f)
    try:
        tb = pq.ParquetFile(src, metadata=f.md, read_dictionary=[c for c in _STRINGS + ["source"] if c in names]).read(columns=cols, use_threads=False)
    finally:
        if not isinstance(src, str):
            src.close()
    if not pc.all(pc.less_equal(tb["click"], tb["max_clicks"])).as_py():
        return None
    lo, hi = pc.min_max(pc.if_else(pc.is_nan(tb["iou"]), None, tb["iou"])).values()
    if lo.as_py() is not None and (lo.as_py() < 0 or hi.as_py() > 1):
        return None
    return tb


class _Frame:
    """The needed columns of a batch's files, gathered into one array per column; string keys as codes into one
    sorted category list.

    Cheaper than ``concat_tables(...).to_pandas()``, which unifies every file's dictionaries row by row: each
    file's dictionary indices are mapped through a small per-file lookup once, written straight into the
    batch's array (no intermediate copy), and an optional column no file records is never materialised.
    """

    def __init__(self) -> None:
        self.parts: dict[str, list] = {c: [] for c in COLUMNS + _OPTIONAL_READ}  # (rows, payload or None)
        self.cats: dict[str, dict] = {c: {} for c in _STRINGS + ["source"]}
        self.rows = 0

    def add(self, tb) -> None:
        import pyarrow as pa
        import pyarrow.compute as pc

        n = tb.num_rows
        names = set(tb.schema.names)
        for col in COLUMNS + _OPTIONAL_READ:
            if col not in names:  # an optional column this file does not record
                self.parts[col].append((n, None))
                continue
            if col in self.cats:
                cats = self.cats[col]
                for chunk in tb.column(col).chunks:
                    if not pa.types.is_dictionary(chunk.type):
                        chunk = chunk.cast(pa.string()).dictionary_encode()
                    lookup = np.array([cats.setdefault(v, len(cats)) for v in chunk.dictionary.to_pylist()] + [-1], dtype=np.int32)
                    idx = chunk.indices
                    idx = pc.fill_null(idx, -1) if idx.null_count else idx
                    self.parts[col].append((len(chunk), (lookup, idx.to_numpy(zero_copy_only=False))))
            else:
                self.parts[col].extend((len(c), c.to_numpy(zero_copy_only=False)) for c in tb.column(col).chunks)
        self.rows += n

    def frame(self) -> pd.DataFrame:
        out = {}
        for col, parts in self.parts.items():
            if col in _OPTIONAL_READ and all(p is None for _, p in parts):
                continue  # no file of the batch records it: as a table without the column
            if col in self.cats:
                names = list(self.cats[col])
                if col in _OPTIONAL_READ and not names:
                    continue  # recorded but all null (its statistics did not say so): as a table without it
                order = sorted(range(len(names)), key=lambda i: str(names[i]))
                remap = np.empty(len(names) + 1, dtype=np.int32)
                remap[order] = np.arange(len(names), dtype=np.int32)
                remap[-1] = -1
                codes = np.empty(self.rows, dtype=np.int32)
                at = 0
                for n, p in parts:
                    if p is None:
                        codes[at:at + n] = -1
                    else:
                        lookup, idx = p
                        np.take(remap[lookup], idx, out=codes[at:at + n])
                    at += n
                dtype = pd.CategoricalDtype([str(names[i]) for i in order])
                out[col] = pd.Categorical.from_codes(codes, dtype=dtype, validate=False)
            else:
                kind = next(p.dtype for _, p in parts if p is not None)
                values = np.empty(self.rows, dtype=kind)
                at = 0
                for n, p in parts:
                    values[at:at + n] = np.nan if p is None else p
                    at += n
                if col in _OPTIONAL_READ and np.isnan(values).all():
                    continue  # best_iou nowhere recorded: as a table without the column (best@1 is NaN either way)
                out[col] = values
        return pd.DataFrame(out, copy=False)  # one block per column: no second copy of the batch


def _read_batch(fs, files: Sequence[_File]) -> _Batch:
    """Per-trajectory rows and time means of the files of whole models (all rows of each model are here)."""
    from rclicks_leaderboard.trajectories import time_means, trajectory_rows

    errors: list[str] = []
    acc = _Frame()
    heat: list[pd.DataFrame] = []
    for f in files:
        if f.md is None:
            tb = f.table
            errors += f.errors
        elif f.rows == 0:
            continue
        else:
            tb = _fast_table(fs, f)
            if tb is None:
                tb = _reference_table(f, errors)
        if tb is not None and tb.num_rows:
            acc.add(tb)
            part = _heat_rows(fs, f, tb)
            if part is not None:
                heat.append(part)
    if not acc.rows:
        return _Batch(None, None, errors)
    df = acc.frame()
    del acc
    return _Batch(trajectory_rows(df), time_means(df), errors, pd.concat(heat, ignore_index=True) if heat else None)


def _heat_rows(fs, f: _File, tb):
    """The file's heatmap rows (one-click trajectories, one per position) with their ``x, y``, or None (most files).

    Positions are read only for a file that holds such rows, so other files cost nothing more.
    """
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from rclicks.metrics.robustness import HEATMAP_CLICKER, MAP_KEYS

    col = tb["clicker"]
    if all(pa.types.is_dictionary(c.type) and HEATMAP_CLICKER not in c.dictionary.to_pylist() for c in col.chunks):
        return None  # the usual file: decided from the dictionary, no string per row
    is_heat = pc.equal(col.cast("string"), HEATMAP_CLICKER)
    if not pc.any(is_heat).as_py():
        return None
    src = _open(fs, f)
    try:
        xy = pq.ParquetFile(src).read(columns=["x", "y"], use_threads=False)
    finally:
        if not isinstance(src, str):
            src.close()
    cols = [*MAP_KEYS, "clicker", "click", "iou"]
    part = tb.select(cols).filter(is_heat).to_pandas()
    for c in ("x", "y"):
        part[c] = xy[c].filter(is_heat).to_numpy()
    for c in part.columns:
        if isinstance(part[c].dtype, pd.CategoricalDtype):
            part[c] = part[c].astype(str)
    return part


def _concat(pers: list[pd.DataFrame]) -> pd.DataFrame:
    """Concatenate per-trajectory frames, key columns kept categorical over the union of the batches' sorted categories."""
    if len(pers) == 1:
        return pers[0]
    fixed = []
    cols = [c for c in pers[0].columns if isinstance(pers[0][c].dtype, pd.CategoricalDtype)]
    union = {c: sorted({str(v) for p in pers for v in p[c].cat.categories}) for c in cols}
    for p in pers:
        fixed.append(p.assign(**{c: p[c].cat.set_categories(union[c]) for c in cols}))
    return pd.concat(fixed, ignore_index=True)


def _batches(files: list[_File], batch_rows: int) -> list[list[_File]]:
    """Files grouped so that each model's files share a batch; each batch keeps the listing's order."""
    if any(f.model is None and f.rows for f in files):
        return [files]  # a file of unknown or several models: one batch keeps every model together
    by_model: dict[str, list[_File]] = {}
    for f in files:
        by_model.setdefault(f.model or "", []).append(f)
    out: list[list[_File]] = []
    current: list[_File] = []
    rows = 0
    for model in sorted(by_model):
        current += by_model[model]
        rows += sum(f.rows for f in by_model[model])
        if rows >= batch_rows:
            out.append(current)
            current, rows = [], 0
    if current:
        out.append(current)
    order = {f.path: i for i, f in enumerate(files)}
    return [sorted(b, key=lambda f: order[f.path]) for b in out]


def scan_store(url: str, batch_rows: int = BATCH_ROWS, workers: int | None = None) -> StoreScan:
    """Scan the store at ``url`` for the leaderboard (see the module docstring); cached per URL by the listing.

    ``workers``: threads reading batches (default: the CPU count, at most 4); memory grows with it
    (one batch of about ``batch_rows`` rows each).
    """
    import os

    workers = workers or min(4, os.cpu_count() or 1)
    from concurrent.futures import ThreadPoolExecutor

    fs, files = listing(url)
    key = tuple(f.key for f in files)
    with _LOCK:
        cached = _CACHE.get(str(url))
    if cached is not None and cached[0] == key:
        return replace(cached[2], files_read=0)
    stored = _disk_get("scan", url, key) if files else None
    if stored is not None:  # a new process on an unchanged store: no file is opened
        with _LOCK:
            _CACHE[str(url)] = (key, {}, stored)  # after a change, the batches come from their own disk entries
        return replace(stored, files_read=0)
    old_batches = cached[1] if cached is not None else {}
    from rclicks_leaderboard._fs import is_local
    from rclicks_leaderboard.heap import reuse_freed_memory

    if is_local(fs):
        for f in files:
            _footer(fs, f)
    else:  # remote footers are small reads whose latency threads overlap
        with ThreadPoolExecutor(8) as ex:
            list(ex.map(lambda f: _footer(fs, f), files))
    for f in files:
        if f.md is None:  # off the fast path: validate now through read_results, and learn its models from the rows
            f.table = _reference_table(f, f.errors)
            models = set(f.table.column("model").to_pylist()) if f.table is not None else set()
            f.rows = f.table.num_rows if f.table is not None else 0
            f.model = models.pop() if len(models) == 1 else None
    groups = {tuple(f.key for f in g): g for g in _batches(files, batch_rows)}
    todo = [k for k in groups if k not in old_batches]
    for k in list(todo):  # batches computed by an earlier process on the same files
        hit = _disk_get("batch", url, k)
        if hit is not None:
            old_batches = {**old_batches, k: hit}
            todo.remove(k)
    # batches are independent; parquet decoding and the numpy work release the GIL, so threads use the cores
    with reuse_freed_memory(), ThreadPoolExecutor(max(1, min(workers, len(todo)))) as ex:
        fresh = dict(zip(todo, ex.map(lambda k: _read_batch(fs, groups[k]), todo)))
    for k, batch in fresh.items():
        _disk_put("batch", url, k, batch)
    batches = {k: fresh[k] if k in fresh else old_batches[k] for k in groups}
    read = sum(len(groups[k]) for k in todo)
    pers = [b.per for b in batches.values() if b.per is not None]
    errors = [e for b in batches.values() for e in b.errors]
    errors.sort(key=lambda e: next((i for i, f in enumerate(files) if e.startswith(f.url + ":")), len(files)))
    meta = pd.DataFrame([f.meta for f in files if f.meta is not None], columns=META_COLUMNS)
    if pers:
        per = _concat(pers)
        times = pd.concat([b.times for b in batches.values() if b.times is not None])
    else:
        per, times = pd.DataFrame(), pd.Series(dtype=np.float64)
    heats = [b.heat for b in batches.values() if b.heat is not None]
    scan = StoreScan(per=per, times=times, model_info=meta, errors=errors, key=key, files_read=read,
                     heat=pd.concat(heats, ignore_index=True) if heats else None)
    with _LOCK:
        _CACHE[str(url)] = (key, batches, scan)
    if files:
        _disk_put("scan", url, key, scan)
        _disk_prune(url, [("scan", key), *(("batch", k) for k in groups)])
    return scan


def clear_cache(disk: bool = True) -> None:
    """Forget every cached scan, in memory and (``disk``) on disk (tests; a store rewritten in place within one clock tick)."""
    import shutil

    with _LOCK:
        _CACHE.clear()
    folder = disk_cache_dir()
    if disk and folder is not None and folder.is_dir():
        shutil.rmtree(folder, ignore_errors=True)


def disk_cache_dir():
    """The on-disk scan cache folder (``$RCLICKS_LB_SCAN_CACHE``, default ``<cache_dir>/leaderboard-scan``), or None when ``off``."""
    from rclicks import settings

    return settings.path("RCLICKS_LB_SCAN_CACHE")


_FINGERPRINT: list[str] = []


def _fingerprint() -> str:
    """What the cached numbers depend on besides the files: the source of the code computing them and the package versions."""
    if not _FINGERPRINT:
        import hashlib
        from importlib.metadata import version
        from pathlib import Path

        import rclicks.metrics

        h = hashlib.sha256()
        metrics = Path(rclicks.metrics.__file__).parent
        here = Path(__file__).parent
        for f in [*sorted(metrics.glob("*.py")), here / "scan.py", here / "table.py", here / "trajectories.py", metrics.parent / "results.py"]:
            h.update(f.name.encode() + b"\0" + f.read_bytes())
        for pkg in ("numpy", "pandas", "pyarrow"):
            h.update(f"{pkg}={version(pkg)}".encode())
        _FINGERPRINT.append(h.hexdigest())
    return _FINGERPRINT[0]


def _disk_path(folder, kind: str, url: str, key: tuple):
    """``<folder>/<store tag>-<kind>-<hash of kind, code fingerprint, url, listing>.pkl``; the tag groups a store's entries."""
    import hashlib

    tag = hashlib.sha256(str(url).encode()).hexdigest()[:16]
    digest = hashlib.sha256(json.dumps([kind, _fingerprint(), str(url), key], default=str).encode()).hexdigest()
    return folder / f"{tag}-{kind}-{digest}.pkl"


def _disk_get(kind: str, url: str, key: tuple):
    """The cached object, or None (absent, disabled, unreadable: then it is simply recomputed)."""
    import pickle

    folder = disk_cache_dir()
    if folder is None:
        return None
    try:
        with open(_disk_path(folder, kind, url, key), "rb") as fh:
            stored_key, obj = pickle.load(fh)
    except Exception:
        return None
    return obj if stored_key == [str(url), list(map(list, key))] else None


def _disk_prune(url: str, keep: list[tuple[str, tuple]]) -> None:
    """Delete the store's entries other than ``keep`` ((kind, key) pairs: its current scan and batches), so the
    cache holds one scan per store however often the store changes (and none computed by older code)."""
    folder = disk_cache_dir()
    if folder is None or not folder.is_dir():
        return
    wanted = {_disk_path(folder, kind, url, key).name for kind, key in keep}
    tag = _disk_path(folder, "scan", url, ()).name.split("-", 1)[0]
    for path in folder.glob(f"{tag}-*.pkl"):
        if path.name not in wanted:
            try:
                path.unlink()
            except OSError:
                pass


def _disk_put(kind: str, url: str, key: tuple, obj) -> None:
    """Write atomically (a temporary file renamed into place); a cache that cannot be written is skipped."""
    import os
    import pickle
    import tempfile

    folder = disk_cache_dir()
    if folder is None:
        return
    tmp = None
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp")
        with os.fdopen(fd, "wb") as fh:
            pickle.dump(([str(url), list(map(list, key))], obj), fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, _disk_path(folder, kind, url, key))
    except Exception:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass
