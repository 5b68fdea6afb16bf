"""One evaluation shard (model × dataset × protocol × instance range): a picklable task and how it runs.

Every shard, local or on a Ray cluster, runs in a child process (``python -m
rclicks_leaderboard.shard``) under wall-clock, memory and address-space limits
(:func:`run_shard_sandboxed`; :func:`run_shard_sandboxed_remote` inside a Ray task). The
child evaluates with ``rclicks.runner.evaluate`` and writes a staged table only; the
backend commits it to the results store while it still holds the request. Logs go to
``<logs_dir>/<request>/<shard>.log``.
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

from rclicks_leaderboard import _fs
from rclicks_leaderboard.store import ShardKey


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
    instances: list[int] | None = None  # [start, stop) of the dataset's samples this shard runs (key.part); None = all
    clicker_kwargs: dict[str, Any] | None = None  # clicker options of the protocol (``groups@saliency``: the click map)
    keep_masks: bool = False  # store each click's mask and the first click's candidates (``RCLICKS_LB_KEEP_MASKS``)

    def config_hash(self) -> str:
        """Hash of what determines the shard's content; a stored shard with the same hash is reused."""
        key = asdict(self.key)
        if not key.get("part"):
            key.pop("part", None)  # an unsplit shard hashes as before parts existed: stored shards stay reusable
        fields = {"request": self.request_id, "model": self.model_spec, "kwargs": self.model_kwargs, "policy": self.policy,
                  "max_clicks": self.max_clicks, "seed": self.seed, "limit": self.limit, "key": key,
                  "clickers": self.clickers}
        if self.instances is not None:
            fields["instances"] = list(self.instances)
        if self.clicker_kwargs:  # absent when none: shards stored before protocol options stay reusable
            fields["clicker_kwargs"] = self.clicker_kwargs
        if self.keep_masks:  # likewise: only shards that store masks hash it
            fields["keep_masks"] = True
        blob = json.dumps(fields, sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    def log_path(self) -> Path:
        """Local log file of this shard."""
        return Path(self.logs_dir) / _fs.safe_segment(self.request_id) / f"{self.key.stem()}.log"


def _logger(task: ShardTask) -> logging.Logger:
    path = task.log_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    log = logging.getLogger(f"rclicks_leaderboard.shard.{task.request_id}.{task.key.name}")
    log.setLevel(logging.INFO)
    log.propagate = False
    for h in list(log.handlers):
        log.removeHandler(h)
        h.close()
    handler = logging.FileHandler(path)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    log.addHandler(handler)
    return log


#: The backend's attack protocol: TETRIS black-box IoU-Min / IoU-Max trajectories (clickers ``adv_min``, ``adv_max``).
ATTACKS = "attacks"
ATTACK_CLICKERS = ["adv_min", "adv_max"]


#: The backend's heatmap protocol: one positive first click at every stride-``RCLICKS_LB_HEATMAP_STRIDE`` grid position
#: inside the object (TETRIS single-click heatmap), as one-click trajectories of clicker ``heatmap``.
HEATMAP = "heatmap"
HEATMAP_CLICKERS = ["heatmap"]


def base_protocol(protocol: str) -> str:
    """A shard's protocol without its policy suffix and click-map option (``groups@saliency+score`` → ``groups``)."""
    return protocol.partition("+")[0].partition("@")[0]


def evaluate_attacks(task: ShardTask, kwargs: dict[str, Any]):
    """The ``attacks`` shard: black-box adversarial min/max trajectories (``rclicks.attacks.adversarial.attack_rows``)
    of ``task.max_clicks`` clicks on the shard's instances; ``time_s`` is the model's time for each kept click and
    ``search_s`` the attack's search on top of it. The baseline trajectories ``attack_rows`` also runs are not kept
    (the ``groups`` protocol's baseline is the leaderboard's)."""
    from rclicks.attacks.adversarial import attack_rows

    samples, model, const = _shard_inputs(task, kwargs)
    return _as_results([r for r in attack_rows(model, samples, task.max_clicks, method="blackbox", const={**const, "protocol": ATTACKS})
                        if r["clicker"] in ATTACK_CLICKERS])


def _shard_inputs(task: ShardTask, kwargs: dict[str, Any]):
    """(the shard's samples with a non-empty mask, in instance order; its model; the contract columns of its rows)."""
    from rclicks.data import load_dataset
    from rclicks.registry import build_model
    from rclicks.runner import _image_groups

    ds = load_dataset(task.key.dataset)
    indices = [i for g in _image_groups(ds, task.limit, tuple(task.instances) if task.instances is not None else None) for i in g]
    samples = [s for s in (ds[i] for i in sorted(indices)) if s.mask.any()]
    model = build_model(task.model_spec, **kwargs)
    const = {"model": task.key.model, "seed": int(task.seed), "policy": task.policy,
             "model_sha256": getattr(model, "weights_sha256", "unknown"),
             "dataset_fingerprint": ds.fingerprint() if hasattr(ds, "fingerprint") else "unknown"}
    return samples, model, const


def _as_results(rows: list[dict]):
    """Rows as a results table (``rclicks.results.SCHEMA`` plus the optional columns present), sorted by trajectory."""
    import pandas as pd

    from rclicks.results import OPTIONAL, SCHEMA

    df = pd.DataFrame(rows)
    if df.empty:
        return df
    df = df.sort_values(["dataset", "instance", "clicker", "click", "y", "x"], kind="stable", ignore_index=True)
    extra = [c for c in OPTIONAL if c in df.columns]
    return df.astype({**SCHEMA, **{c: OPTIONAL[c] for c in extra}})[[*SCHEMA, *extra]]


def evaluate_heatmaps(task: ShardTask, kwargs: dict[str, Any]):
    """The ``heatmap`` shard: the single-click IoU heatmap of each of the shard's instances on a stride grid
    (``task.clicker_kwargs["stride"]`` px, planned from ``RCLICKS_LB_HEATMAP_STRIDE``; ``rclicks.attacks.heatmap.heatmap_rows``),
    one results row per position;
    the leaderboard's ``First-click spread`` column reads them (``rclicks.metrics.robustness.first_click_spread``)."""
    from rclicks.attacks.heatmap import heatmap_rows

    samples, model, const = _shard_inputs(task, kwargs)
    stride = int((task.clicker_kwargs or {}).get("stride", 16))
    return _as_results(heatmap_rows(model, samples, stride=stride, const=const))


def evaluate_shard(task: ShardTask):
    """Evaluate one shard and return its long-form table, with ``model`` set to the leaderboard name."""
    from rclicks.runner import evaluate
    from rclicks.registry import model_accepts
    from rclicks.threads import limit_threads

    protocol = base_protocol(task.key.protocol)
    clickers = task.clickers or protocol
    kwargs = dict(task.model_kwargs)
    try:  # OpenCV's global RNG drives cv2.grabCut's initialisation: fix it so a shard reruns identically
        import cv2

        cv2.setRNGSeed(int(task.seed))
    except ImportError:
        pass
    if task.threads:
        limit_threads(task.threads)
        if model_accepts(task.model_spec, "threads"):
            kwargs.setdefault("threads", task.threads)
    if protocol in (ATTACKS, HEATMAP):
        df = (evaluate_attacks if protocol == ATTACKS else evaluate_heatmaps)(task, kwargs)
        if df.empty:
            raise RuntimeError(f"no {protocol} rows were computed for {task.key.name} (every instance's mask is empty)")
        return df
    df = evaluate(
        model=task.model_spec, dataset=task.key.dataset, clicker=clickers, max_clicks=task.max_clicks,
        seed=task.seed, workers=1, limit=task.limit, policy=task.policy, model_kwargs=kwargs, clicker_kwargs=task.clicker_kwargs,
        progress=False, instances=tuple(task.instances) if task.instances is not None else None, keep_masks=task.keep_masks,
    )
    if df.empty:
        raise RuntimeError(f"no trajectories were run for {task.key.name} (skipped: {df.attrs.get('skipped')})")
    df["model"] = task.key.model
    df["model"] = df["model"].astype("string")
    return df


# -- the sandbox: one child process per shard, with limits -------------------------------

def _rss_bytes(pid: int) -> int:
    """Resident memory of ``pid`` and its descendants (Linux ``/proc``; 0 when unavailable)."""
    total, todo, seen = 0, [pid], set()
    while todo:
        p = todo.pop()
        if p in seen:
            continue
        seen.add(p)
        try:
            with open(f"/proc/{p}/statm") as fh:
                total += int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
            for t in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{t}/children") as fh:
                    todo += [int(c) for c in fh.read().split()]
        except (OSError, ValueError):
            continue
    return total


def run_shard_sandboxed(task: ShardTask, staging: str | os.PathLike, limits=None, should_stop=None) -> dict[str, Any]:
    """Run one shard in a fresh child process under wall-clock, resident-memory and address-space limits.

    The child (``python -m rclicks_leaderboard.shard``) evaluates and writes the table to ``staging``
    only; it never touches the stores. Returns ``{"shard", "staged", "rows", "seconds", "metadata"}``
    or ``{"shard", "error"}`` (``error`` a clean reason for the submitter; details in the shard log).
    ``should_stop()`` returning True kills the child (its owner lost the request).
    """
    import resource
    import signal
    import subprocess
    import sys

    from rclicks_leaderboard import envs

    limits = limits or envs.shard_limits()
    staging = Path(staging)
    staging.mkdir(parents=True, exist_ok=True)
    stem = task.key.stem()
    task_file, out_file, res_file = (staging / f"{stem}.{ext}" for ext in ("task.json", "parquet", "result.json"))
    for f in (out_file, res_file):
        f.unlink(missing_ok=True)
    task_file.write_text(json.dumps(asdict(task)))
    aspace = int(limits.address_space_mb) * 1024 * 1024

    def _limit():  # in the child, before exec
        try:  # die with the backend: a SIGKILLed backend leaves no orphan evaluating on
            import ctypes

            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, int(signal.SIGKILL))  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass
        if aspace:
            resource.setrlimit(resource.RLIMIT_AS, (aspace, aspace))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

    log_path = task.log_path()
    log_path.parent.mkdir(parents=True, exist_ok=True)
    start = time.monotonic()
    with open(log_path, "ab") as log_fh:
        proc = subprocess.Popen([sys.executable, "-m", "rclicks_leaderboard.shard", str(task_file), str(out_file), str(res_file)],
                                stdin=subprocess.DEVNULL, stdout=log_fh, stderr=subprocess.STDOUT, preexec_fn=_limit,
                                start_new_session=True, cwd=str(Path(__file__).resolve().parents[1]))
    reason, peak = None, 0
    try:
        while proc.poll() is None:
            elapsed = time.monotonic() - start
            rss = _rss_bytes(proc.pid)
            peak = max(peak, rss)
            if elapsed > limits.timeout_s:
                reason = f"exceeded the time limit of {limits.timeout_s:g} s (RCLICKS_SHARD_TIMEOUT_S)"
            elif limits.memory_mb and rss > limits.memory_mb * 1024 * 1024:
                reason = f"exceeded the memory limit of {limits.memory_mb} MB (RCLICKS_SHARD_MEMORY_MB)"
            elif should_stop is not None and should_stop():
                reason = "stopped: the backend lost its claim on the request"
            if reason:
                break
            time.sleep(0.05)
    finally:
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        proc.wait()
    seconds = round(time.monotonic() - start, 3)
    with open(log_path, "a") as fh:
        fh.write(f"child pid {proc.pid} exit {proc.returncode} after {seconds} s, peak rss {peak >> 20} MB"
                 f"{'; killed: ' + reason if reason else ''}\n")
    if reason:
        return {"shard": task.key.name, "error": reason, "peak_rss_mb": peak >> 20}
    try:
        res = json.loads(res_file.read_text())
    except (OSError, ValueError):
        res = None
    if proc.returncode != 0 or res is None:
        why = f"killed by signal {-proc.returncode}" if proc.returncode < 0 else f"exit status {proc.returncode}"
        if proc.returncode == 1 and res is None:
            why += " (likely out of address space: RCLICKS_SHARD_ADDRESS_SPACE_MB)" if aspace else ""
        return {"shard": task.key.name, "error": f"evaluation process ended without a result ({why})", "peak_rss_mb": peak >> 20}
    if "error" in res:
        return {"shard": task.key.name, "error": res["error"], "peak_rss_mb": peak >> 20}
    return {"shard": task.key.name, "staged": str(out_file), "rows": res["rows"], "seconds": seconds,
            "metadata": res["metadata"], "peak_rss_mb": peak >> 20}


def run_shard_sandboxed_remote(task: ShardTask, limits=None) -> dict[str, Any]:
    """:func:`run_shard_sandboxed` for a remote worker (a Ray task): the staged table comes back as parquet bytes.

    The worker's own filesystem holds the staging folder, so the result carries the file's
    bytes (``staged_bytes``) for the backend to stage locally and commit under its claim.
    """
    import tempfile

    with tempfile.TemporaryDirectory(prefix="rclicks-remote-") as tmp:
        res = run_shard_sandboxed(task, tmp, limits)
        staged = res.pop("staged", None)
        if staged is not None:
            res["staged_bytes"] = Path(staged).read_bytes()
        return res


def _clean_reason(exc: BaseException) -> str:
    """The submitter-facing reason: exception type and first line, with absolute paths cut to their file names."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {_fs.scrub_paths(text)[:500]}"


def _child_main(task_file: str, out_file: str, res_file: str) -> int:
    """The child side of :func:`run_shard_sandboxed`: evaluate, write the staged table, report."""
    from rclicks.results import write_results

    data = json.loads(Path(task_file).read_text())
    data["key"] = ShardKey(**data["key"])
    task = ShardTask(**data)
    log = _logger(task)
    log.info("start shard %s (request %s, model %s, pid %d) threads %s", task.key.name, task.request_id, task.model_spec,
             os.getpid(), task.threads or "all")
    start = time.perf_counter()
    try:
        df = evaluate_shard(task)
        meta = {**task.metadata, "request_id": task.request_id, "config_hash": task.config_hash(),
                "model_spec": task.model_spec, "policy": task.policy, "seed": task.seed,
                "max_clicks": task.max_clicks, "limit": task.limit, "part": task.key.part, "instances": task.instances,
                "clickers": sorted(df["clicker"].astype(str).unique().tolist()) if len(df) else [],
                "dataset_fingerprint": str(df["dataset_fingerprint"].iloc[0]) if len(df) else None,
                "weights_sha256": str(df["model_sha256"].iloc[0]) if len(df) else None}
        write_results(df, out_file, meta)
        log.info("done: %d rows in %.1f s (staged)", len(df), time.perf_counter() - start)
        res = {"rows": int(len(df)), "metadata": meta}
    except MemoryError:
        log.error("shard failed: out of memory\n%s", traceback.format_exc())
        res = {"error": "ran out of memory (RCLICKS_SHARD_ADDRESS_SPACE_MB)"}
    except Exception as exc:
        log.error("shard failed: %s\n%s", exc, traceback.format_exc())
        res = {"error": _clean_reason(exc)}
    Path(res_file).write_text(json.dumps(res, default=str))
    return 0


if __name__ == "__main__":
    import sys

    sys.exit(_child_main(*sys.argv[1:4]))
