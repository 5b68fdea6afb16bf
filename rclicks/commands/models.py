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
    """One row per buildable model name: name, family, needs, installed, differentiable, multimask, weights."""
    from rclicks.models.base import available_models
    from rclicks.models.zoo import FAMILIES, package_installed, weights_present

    rows = []
    for name, spec in sorted(available_models().items()):
        base = {"family": spec.family, "differentiable": bool(spec.differentiable), "multimask": bool(spec.multimask)}
        if name in FAMILIES:
            fam = FAMILIES[name]
            installed = package_installed(fam.module)
            for variant, path in weights_present(name).items():
                rows.append({"name": f"{name}:{variant}", **base, "installed": installed,
                             "needs": f"{fam.pip}; --checkpoint {fam.variants[variant]}",
                             "weights": str(path) if path else f"missing (--checkpoint PATH or {fam.online})"})
        elif name == "onnx":
            rows.append({"name": "onnx:DIR", **base, "installed": package_installed("onnxruntime"),
                         "needs": "a submission folder (docs/submission.md)", "weights": "in DIR"})
        else:
            installed = all(package_installed(m) for m in spec.packages)
            rows.append({"name": name, **base, "installed": installed, **_weights_of(spec)})
    return rows


def _weights_of(spec) -> dict:
    """``needs``/``weights`` of a model outside the zoo (weight-free or an ``rclicks weights`` entry)."""
    if spec.weight_free or not spec.weights:
        return {"needs": "nothing (weight-free)", "weights": "not needed"}
    from rclicks.weights import WEIGHTS, is_present

    needs, states = [], []
    for w in spec.weights:
        if w in WEIGHTS:
            needs.append(f"rclicks weights fetch {w}")
            states.append("cached" if is_present(w) else f"missing (rclicks weights fetch {w})")
        else:
            needs.append(w)
            states.append("--checkpoint (given per run)" if "--checkpoint" in w else "?")
    return {"needs": "; ".join(needs), "weights": "; ".join(states)}


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
