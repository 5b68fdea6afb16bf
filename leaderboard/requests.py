"""The requests store (HF leaderboard convention): one JSON file per submission.

A request moves through ``PENDING → RUNNING → FINISHED | FAILED``. A RUNNING request
whose worker stopped sending heartbeats returns to PENDING (``requeue_stale``); a
maintainer may send a FAILED request back to PENDING (``retry``). Any other transition
raises ``RClicksError``. Files are written atomically (see ``leaderboard._fs``).
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from leaderboard import _fs
from rclicks.errors import RClicksError

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
#: Submission kinds: ``onnx`` (folder per the contract), SAM-family checkpoints, and
#: ``builtin`` (a model of the rclicks registry, queued by a maintainer).
KINDS = ("onnx", "sam", "sam2", "sam2.1", "mobilesam", "samhq", "builtin")


def now_iso() -> str:
    """The current UTC time as ISO 8601."""
    return datetime.now(timezone.utc).isoformat()


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

    def to_json(self) -> str:
        """Pretty JSON of every field."""
        return json.dumps(asdict(self), indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "request") -> "Request":
        """Build from parsed JSON, or raise RClicksError naming ``source``."""
        known = {f for f in cls.__dataclass_fields__}
        missing = [k for k in ("id", "model", "kind", "weights_sha256", "submitter", "license") if k not in data]
        if missing:
            raise RClicksError(f"{source}: missing field(s) {missing}")
        req = cls(**{k: v for k, v in data.items() if k in known})
        if req.status not in STATUSES:
            raise RClicksError(f"{source}: unknown status {req.status!r}; expected one of {STATUSES}")
        return req


class RequestsStore:
    """Request JSON files under one URL: ``<url>/<id>.json``."""

    def __init__(self, url: str | None = None) -> None:
        from leaderboard import envs

        self.url = str(url) if url is not None else envs.requests_url()

    def _url(self, request_id: str) -> str:
        return _fs.join(self.url, f"{_fs.safe_segment(request_id)}.json")

    def save(self, req: Request) -> None:
        """Write a request (atomic replace)."""
        _fs.write_bytes_atomic(self._url(req.id), req.to_json().encode())

    def get(self, request_id: str) -> Request:
        """Read one request, or raise RClicksError if absent/unreadable."""
        url = self._url(request_id)
        fs, path = _fs.url_to_fs(url)
        if not fs.exists(path):
            raise RClicksError(f"{url}: no such request {request_id!r}")
        try:
            data = json.loads(fs.cat_file(path))
        except (ValueError, OSError) as exc:
            raise RClicksError(f"{url}: unreadable request file ({exc})") from exc
        return Request.from_dict(data, url)

    def exists(self, request_id: str) -> bool:
        """True when a request with this id is stored."""
        fs, path = _fs.url_to_fs(self._url(request_id))
        return bool(fs.exists(path))

    def all(self, errors: list[str] | None = None) -> list[Request]:
        """Every readable request, oldest submission first; unreadable files are reported in ``errors``."""
        fs, path = _fs.url_to_fs(self.url)
        if not fs.exists(path):
            return []
        out = []
        for p in sorted(fs.glob(f"{path.rstrip('/')}/*.json")):
            try:
                out.append(Request.from_dict(json.loads(fs.cat_file(p)), p))
            except (ValueError, OSError, RClicksError, TypeError) as exc:
                if errors is not None:
                    errors.append(f"{p}: skipped ({exc})")
        return sorted(out, key=lambda r: (r.submitted_time, r.id))

    def by_status(self, status: str) -> list[Request]:
        """Requests with ``status``, oldest first."""
        return [r for r in self.all() if r.status == status]

    def transition(self, req: Request, status: str, *, error: str | None = None, worker: str | None = None) -> Request:
        """Move ``req`` to ``status`` (checked against :data:`TRANSITIONS`), save and return it."""
        current = self.get(req.id)
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
        self.save(current)
        return current

    def claim(self, req: Request, worker: str) -> Request | None:
        """Take a PENDING request for ``worker``; None if someone else got it first."""
        try:
            claimed = self.transition(req, RUNNING, worker=worker)
        except RClicksError:
            return None
        return claimed if self.get(req.id).worker == worker else None

    def heartbeat(self, req: Request, worker: str) -> bool:
        """Refresh the heartbeat of a RUNNING request owned by ``worker``; False if it is no longer ours."""
        current = self.get(req.id)
        if current.status != RUNNING or current.worker != worker:
            return False
        current.heartbeat = time.time()
        current.shards = {**current.shards, **req.shards}
        self.save(current)
        return True

    def requeue_stale(self, timeout_s: float, now: float | None = None) -> list[str]:
        """Send RUNNING requests whose heartbeat is older than ``timeout_s`` back to PENDING; return their ids."""
        now = time.time() if now is None else now
        out = []
        for req in self.by_status(RUNNING):
            if req.heartbeat is None or now - req.heartbeat > timeout_s:
                self.transition(req, PENDING, error=f"worker {req.worker} stopped (no heartbeat for {timeout_s:.0f} s); requeued")
                out.append(req.id)
        return out

    def retry(self, request_id: str) -> Request:
        """Maintainers: send a FAILED request back to PENDING."""
        return self.transition(self.get(request_id), PENDING)

    def table(self) -> pd.DataFrame:
        """All requests as a DataFrame (id, model, kind, submitter, license, status, error, times)."""
        import pandas as pd

        cols = ["id", "model", "kind", "submitter", "license", "status", "error", "submitted_time", "finished_time"]
        return pd.DataFrame([{c: getattr(r, c) for c in cols} for r in self.all()], columns=cols)


def queue_builtin(model: str, store: RequestsStore | None = None, *, policy: str = "score", submitter: str = "rclicks") -> Request:
    """Maintainers: queue a model of the rclicks registry (e.g. ``grabcut``, ``minisam``) for evaluation."""
    from rclicks.models.base import available_models

    base = model.partition(":")[0]
    if base not in available_models():
        raise RClicksError(f"unknown builtin model {model!r}; see `rclicks models list`")
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
