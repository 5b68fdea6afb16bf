"""One evaluation shard (model × dataset × protocol): a picklable task and the function that runs it.

``run_shard`` is what a local worker process or a Ray task executes: it evaluates the
model with ``rclicks.runner.evaluate``, writes the shard to the results store
(atomically, replacing any previous file) and logs to ``<logs_dir>/<request>/<shard>.log``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
import traceback
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from leaderboard import _fs
from leaderboard.store import ResultsStore, ShardKey


@dataclass
class ShardTask:
    """Everything a worker needs to run one shard; plain data so it pickles to processes and Ray.

    ``model_spec`` is the rclicks registry name (``grabcut``, ``onnx:DIR``, ``sam:vit_b``),
    ``model_kwargs`` extra builder arguments (``checkpoint``), ``model`` the leaderboard name.
    """

    request_id: str
    key: ShardKey
    model_spec: str
    model_kwargs: dict[str, Any]
    policy: str
    max_clicks: int
    seed: int
    limit: int | None
    results_url: str
    logs_dir: str
    metadata: dict[str, Any] = field(default_factory=dict)
    clickers: list[str] | None = None  # the protocol's clickers not already run by an earlier shard
    threads: int | None = None  # CPU threads for the model when workers share a machine (not in the hash)

    def config_hash(self) -> str:
        """Hash of what determines the shard's content; a stored shard with the same hash is reused."""
        blob = json.dumps(
            {"request": self.request_id, "model": self.model_spec, "kwargs": self.model_kwargs, "policy": self.policy,
             "max_clicks": self.max_clicks, "seed": self.seed, "limit": self.limit, "key": asdict(self.key),
             "clickers": self.clickers},
            sort_keys=True, default=str,
        )
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    def log_path(self) -> Path:
        """Local log file of this shard."""
        name = f"{_fs.safe_segment(self.key.dataset)}__{_fs.safe_segment(self.key.protocol)}.log"
        return Path(self.logs_dir) / _fs.safe_segment(self.request_id) / name


def _logger(task: ShardTask) -> logging.Logger:
    path = task.log_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    log = logging.getLogger(f"leaderboard.shard.{task.request_id}.{task.key.name}")
    log.setLevel(logging.INFO)
    log.propagate = False
    for h in list(log.handlers):
        log.removeHandler(h)
        h.close()
    handler = logging.FileHandler(path)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    log.addHandler(handler)
    return log


def evaluate_shard(task: ShardTask):
    """Evaluate one shard and return its long-form table, with ``model`` set to the leaderboard name."""
    from rclicks.runner import evaluate
    from rclicks.threads import factory_accepts, limit_threads

    clickers = task.clickers or task.key.protocol.removesuffix("+oracle")
    kwargs = dict(task.model_kwargs)
    try:  # OpenCV's global RNG drives cv2.grabCut's initialisation: fix it so a shard reruns identically
        import cv2

        cv2.setRNGSeed(int(task.seed))
    except ImportError:
        pass
    if task.threads:
        limit_threads(task.threads)
        if factory_accepts(task.model_spec, "threads"):
            kwargs.setdefault("threads", task.threads)
    df = evaluate(
        model=task.model_spec, dataset=task.key.dataset, clicker=clickers, max_clicks=task.max_clicks,
        seed=task.seed, workers=1, limit=task.limit, policy=task.policy, model_kwargs=kwargs,
        progress=False,
    )
    if df.empty:
        raise RuntimeError(f"no trajectories were run for {task.key.name} (skipped: {df.attrs.get('skipped')})")
    df["model"] = task.key.model
    df["model"] = df["model"].astype("string")
    return df


def run_shard(task: ShardTask) -> dict[str, Any]:
    """Run, write and log one shard; return ``{"shard", "rows", "seconds", "url"}`` or ``{"shard", "error"}``."""
    log = _logger(task)
    start = time.perf_counter()
    log.info("start shard %s (request %s, model %s, pid %d)", task.key.name, task.request_id, task.model_spec, os.getpid())
    try:
        df = evaluate_shard(task)
        meta = {**task.metadata, "request_id": task.request_id, "config_hash": task.config_hash(),
                "model_spec": task.model_spec, "policy": task.policy, "seed": task.seed,
                "max_clicks": task.max_clicks, "limit": task.limit,
                "clickers": sorted(df["clicker"].astype(str).unique().tolist()) if len(df) else [],
                "dataset_fingerprint": str(df["dataset_fingerprint"].iloc[0]) if len(df) else None,
                "weights_sha256": str(df["model_sha256"].iloc[0]) if len(df) else None}
        url = ResultsStore(task.results_url).write_shard(task.key, df, meta)
        seconds = time.perf_counter() - start
        log.info("done: %d rows in %.1f s -> %s", len(df), seconds, url)
        return {"shard": task.key.name, "rows": int(len(df)), "seconds": round(seconds, 3), "url": url}
    except Exception as exc:  # reported to the backend, which marks the request FAILED
        log.error("shard failed: %s\n%s", exc, traceback.format_exc())
        return {"shard": task.key.name, "error": f"{type(exc).__name__}: {exc}"}
    finally:
        for h in list(log.handlers):
            log.removeHandler(h)
            h.close()
