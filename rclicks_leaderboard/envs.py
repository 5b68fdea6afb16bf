"""Leaderboard configuration, read from the environment when called (never at import).

| variable | default | meaning |
|---|---|---|
| ``RCLICKS_RESULTS_URL`` | ``./hub/results`` | results store (local folder or ``hf://datasets/OWNER/NAME/results``) |
| ``RCLICKS_REQUESTS_URL`` | ``./hub/requests`` | requests store (one JSON per submission) |
| ``RCLICKS_MODELS_URL`` | ``./hub/models`` | where validated submissions' weight files are copied |
| ``RCLICKS_LOGS_DIR`` | ``./hub/logs`` | local folder of per-shard backend logs |
| ``HF_TOKEN`` | unset | token for ``hf://`` URLs (read by ``huggingface_hub``) |
| ``RCLICKS_MAX_SUBMISSION_BYTES`` | ``2000000000`` | size limit of one submission (all files) |
| ``RCLICKS_MAX_PENDING`` | ``3`` | pending + running requests allowed per submitter |
| ``RCLICKS_HEARTBEAT_TIMEOUT_S`` | ``600`` | a RUNNING request with an older heartbeat returns to PENDING |
| ``RCLICKS_LB_DATASETS`` | ``grabcut,davis`` | datasets every submission is evaluated on |
| ``RCLICKS_LB_PROTOCOLS`` | ``groups`` | protocols (clicker lists) per dataset; ``groups`` = baseline + G1..G10 |
| ``RCLICKS_LB_ATTACKS`` | ``0`` | ``1`` adds the ``attacks`` protocol (TETRIS black-box IoU-Min / IoU-Max trajectories, clickers ``adv_min``/``adv_max``) |
| ``RCLICKS_LB_ATTACK_DATASETS`` | ``grabcut`` | datasets the ``attacks`` protocol runs on |
| ``RCLICKS_LB_ATTACK_CLICKS`` | ``10`` | clicks per adversarial trajectory (IoU-AuC@10 needs 10) |
| ``RCLICKS_LB_MAX_CLICKS`` | ``20`` | clicks per trajectory |
| ``RCLICKS_LB_SEED`` | ``0`` | seed of every stochastic clicker |
| ``RCLICKS_SHARD_TIMEOUT_S`` | ``3600`` | wall-clock limit of one shard's child process; it is killed after that |
| ``RCLICKS_SHARD_MEMORY_MB`` | ``6144`` | resident memory (RSS) limit of one shard's child process, watched by the backend |
| ``RCLICKS_SHARD_ADDRESS_SPACE_MB`` | ``32768`` | ``RLIMIT_AS`` of one shard's child process (``0``: none; CUDA needs a large address space) |
| ``RCLICKS_SHARD_INSTANCES`` | ``25`` | instances per shard: a dataset × protocol is split into shards of about this many instances (``0``: never split) |
| ``RCLICKS_RAY_CPUS_PER_TASK`` | ``1`` | CPUs a Ray shard task reserves; also its model's thread budget (onnxruntime, OpenCV, torch) |
| ``RCLICKS_ORT_SPINNING`` | ``0`` | ``1`` lets onnxruntime's idle threads busy-wait (measured slower on shared cores: ``benchmarks/ort_spinning.py``) |
| ``RCLICKS_MAX_ATTEMPTS`` | ``3`` | claims of one request before it ends FAILED (a worker died or was killed each time) |
| ``RCLICKS_OPERATOR`` | unset | local submitter identity of the app's Submit tab when there is no Hugging Face login |
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from rclicks.errors import RClicksError


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise RClicksError(f"environment variable {name}={raw!r} must be an integer") from exc


def _list(name: str, default: str) -> list[str]:
    return [s.strip() for s in os.environ.get(name, default).split(",") if s.strip()]


def results_url() -> str:
    """URL of the results store (``$RCLICKS_RESULTS_URL``, default ``./hub/results``)."""
    return os.environ.get("RCLICKS_RESULTS_URL", "./hub/results")


def seeded_results_url() -> str:
    """The results shipped with the project (``assets/results``, see ``python -m rclicks_leaderboard.seed``)."""
    from rclicks.config import REPO_ROOT

    return str(REPO_ROOT / "assets" / "results")


def display_results_url() -> str:
    """Where the table is read from: ``$RCLICKS_RESULTS_URL`` if set, else ``./hub/results``
    when it holds results, else the seeded ``assets/results`` (so the leaderboard is never empty)."""
    import glob

    if os.environ.get("RCLICKS_RESULTS_URL"):
        return os.environ["RCLICKS_RESULTS_URL"]
    if glob.glob("./hub/results/**/*.parquet", recursive=True):
        return "./hub/results"
    return seeded_results_url()


def requests_url() -> str:
    """URL of the requests store (``$RCLICKS_REQUESTS_URL``, default ``./hub/requests``)."""
    return os.environ.get("RCLICKS_REQUESTS_URL", "./hub/requests")


def models_url() -> str:
    """URL where accepted submissions' files are stored (``$RCLICKS_MODELS_URL``, default ``./hub/models``)."""
    return os.environ.get("RCLICKS_MODELS_URL", "./hub/models")


def logs_dir() -> str:
    """Local folder for per-shard logs (``$RCLICKS_LOGS_DIR``, default ``./hub/logs``)."""
    return os.environ.get("RCLICKS_LOGS_DIR", "./hub/logs")


def hf_token() -> str | None:
    """The Hugging Face token, or None (then ``hf://`` stores are read-only/public)."""
    return os.environ.get("HF_TOKEN") or None


@dataclass
class Limits:
    """Submission limits: total bytes, and pending+running requests per submitter."""

    max_bytes: int = 2_000_000_000
    max_pending: int = 3


def limits() -> Limits:
    """Submission limits from the environment."""
    return Limits(
        max_bytes=_int("RCLICKS_MAX_SUBMISSION_BYTES", 2_000_000_000),
        max_pending=_int("RCLICKS_MAX_PENDING", 3),
    )


@dataclass
class ShardLimits:
    """What one shard's child process may spend: wall-clock seconds, resident MB, address-space MB (0 = unlimited)."""

    timeout_s: float = 3600.0
    memory_mb: int = 6144
    address_space_mb: int = 32768


def shard_limits() -> ShardLimits:
    """Shard sandbox limits from the environment (``RCLICKS_SHARD_TIMEOUT_S``, ``_MEMORY_MB``, ``_ADDRESS_SPACE_MB``)."""
    out = ShardLimits(
        timeout_s=float(_int("RCLICKS_SHARD_TIMEOUT_S", 3600)),
        memory_mb=_int("RCLICKS_SHARD_MEMORY_MB", 6144),
        address_space_mb=_int("RCLICKS_SHARD_ADDRESS_SPACE_MB", 32768),
    )
    if out.timeout_s <= 0 or out.memory_mb < 0 or out.address_space_mb < 0:
        raise RClicksError("RCLICKS_SHARD_TIMEOUT_S must be > 0 and RCLICKS_SHARD_*_MB >= 0 (0 = unlimited)")
    return out


def shard_instances() -> int:
    """Instances per shard (``RCLICKS_SHARD_INSTANCES``, default 25; 0 = one shard per dataset × protocol)."""
    n = _int("RCLICKS_SHARD_INSTANCES", 25)
    if n < 0:
        raise RClicksError(f"RCLICKS_SHARD_INSTANCES={n} must be >= 0 (0 = never split)")
    return n


def ray_cpus_per_task() -> int:
    """CPUs a Ray shard task reserves and its model's thread budget (``RCLICKS_RAY_CPUS_PER_TASK``, default 1)."""
    n = _int("RCLICKS_RAY_CPUS_PER_TASK", 1)
    if n < 1:
        raise RClicksError(f"RCLICKS_RAY_CPUS_PER_TASK={n} must be at least 1")
    return n


def max_attempts() -> int:
    """Claims of one request before it ends FAILED (``RCLICKS_MAX_ATTEMPTS``, default 3)."""
    n = _int("RCLICKS_MAX_ATTEMPTS", 3)
    if n < 1:
        raise RClicksError(f"RCLICKS_MAX_ATTEMPTS={n} must be at least 1")
    return n


def operator_identity() -> str | None:
    """The explicit local submitter identity (``RCLICKS_OPERATOR``), used when there is no Hugging Face login."""
    return (os.environ.get("RCLICKS_OPERATOR") or "").strip() or None


def heartbeat_timeout_s() -> int:
    """Seconds after which a RUNNING request without heartbeat is considered dead."""
    return _int("RCLICKS_HEARTBEAT_TIMEOUT_S", 600)


@dataclass
class EvalConfig:
    """What every submission is evaluated on: datasets × protocols, clicks per trajectory, seed."""

    datasets: list[str] = field(default_factory=lambda: ["grabcut", "davis"])
    protocols: list[str] = field(default_factory=lambda: ["groups"])
    max_clicks: int = 20
    seed: int = 0
    limit: int | None = None
    attack_datasets: list[str] = field(default_factory=lambda: ["grabcut"])  # of the ``attacks`` protocol
    attack_clicks: int = 10


def eval_config() -> EvalConfig:
    """The evaluation configuration from the environment."""
    protocols = _list("RCLICKS_LB_PROTOCOLS", "groups")
    if os.environ.get("RCLICKS_LB_ATTACKS", "0") == "1" and "attacks" not in protocols:
        protocols.append("attacks")
    return EvalConfig(
        datasets=_list("RCLICKS_LB_DATASETS", "grabcut,davis"),
        protocols=protocols,
        max_clicks=_int("RCLICKS_LB_MAX_CLICKS", 20),
        seed=_int("RCLICKS_LB_SEED", 0),
        attack_datasets=_list("RCLICKS_LB_ATTACK_DATASETS", "grabcut"),
        attack_clicks=_int("RCLICKS_LB_ATTACK_CLICKS", 10),
    )
