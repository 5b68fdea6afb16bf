"""Argument types shared by several sub-commands."""

from __future__ import annotations

import argparse
import json


def key_values(text: str) -> dict:
    """Parse ``key=value,key=value`` (values as JSON when they parse, else strings)."""
    out = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        key, sep, value = part.partition("=")
        if not sep:
            raise argparse.ArgumentTypeError(f"expected key=value, got {part!r}")
        try:
            out[key] = json.loads(value)
        except json.JSONDecodeError:
            out[key] = value
    return out


#: Seeds are 32-bit unsigned so that every RNG they reach (numpy, OpenCV) takes them as they are.
MAX_SEED = 2**32 - 1


def max_clicks_limit() -> int:
    """The largest ``--max-clicks`` accepted (``$RCLICKS_MAX_CLICKS_LIMIT``, default 100)."""
    from rclicks import settings

    return settings.integer("RCLICKS_MAX_CLICKS_LIMIT")


def check_run_args(args: argparse.Namespace) -> None:
    """Refuse bad ``--seed``, ``--max-clicks``, ``--target-iou``, ``--device``, ``--model-arg`` and ``--out``
    before anything runs, with one RClicksError naming the option and the fix (each checked only when present)."""
    import math

    from rclicks.errors import RClicksError

    seed = getattr(args, "seed", None)
    if seed is not None and not 0 <= seed <= MAX_SEED:
        raise RClicksError(f"--seed {seed}: must be an integer from 0 to {MAX_SEED}")
    n = getattr(args, "max_clicks", None)
    if n is not None and not 1 <= n <= max_clicks_limit():
        raise RClicksError(f"--max-clicks {n}: must be from 1 to {max_clicks_limit()} (RCLICKS_MAX_CLICKS_LIMIT)")
    t = getattr(args, "target_iou", None)
    if t is not None and not (math.isfinite(t) and 0 < t <= 1):
        raise RClicksError(f"--target-iou {t}: must be a number in (0, 1], e.g. 0.9")
    model = getattr(args, "model", None)
    if model:
        check_model_args(model, {**dict(getattr(args, "model_arg", None) or {}),
                                 **({"device": args.device} if getattr(args, "device", None) else {}),
                                 **({"checkpoint": args.checkpoint} if getattr(args, "checkpoint", None) else {})})
    out = getattr(args, "out", None)
    if out:
        check_writable(out)


def check_model_args(model: str, kwargs: dict) -> None:
    """Refuse keyword arguments the model's registry entry does not declare (listing those it does) and unknown devices."""
    from rclicks import registry
    from rclicks.errors import RClicksError

    try:
        entry, _ = registry.model_entry(model)
    except RClicksError:
        return  # the runner names unknown models itself
    device = kwargs.get("device")
    if device is not None:
        from rclicks.models.device import DEVICES

        name = str(device).lower()
        if name not in DEVICES and not (name.startswith("cuda:") and name[5:].isdigit()):
            raise RClicksError(f"--device {device!r}: expected one of {', '.join(DEVICES)} (or cuda:N)")
    unknown = [k for k in kwargs if not entry.accepts(k)]
    if unknown:
        what = "--device" if unknown == ["device"] else f"--model-arg key(s) {', '.join(map(repr, unknown))}"
        raise RClicksError(f"{what} not accepted by model {model!r}; it accepts: {', '.join(sorted(entry.params)) or 'no options'}")


def check_writable(out: str) -> None:
    """Refuse an output path that cannot be written (unknown protocol, a folder, a parent that is a file,
    a read-only place) before any work starts; local paths are probed by creating and removing a file."""
    import os
    import uuid

    from rclicks.errors import RClicksError

    try:
        import fsspec

        fs, path = fsspec.core.url_to_fs(out)
    except (ValueError, ImportError) as exc:
        raise RClicksError(f"--out {out}: cannot write there ({exc}); give a local path or a known fsspec URL") from exc
    from fsspec.implementations.local import LocalFileSystem

    if not isinstance(fs, LocalFileSystem):
        return  # remote stores are checked by their first write
    if os.path.isdir(path):
        raise RClicksError(f"--out {out}: is an existing folder; give a file path such as {os.path.join(out, 'results.parquet')}")
    parent = os.path.dirname(os.path.abspath(path))
    probe_dir = parent
    while not os.path.exists(probe_dir):
        probe_dir = os.path.dirname(probe_dir)
    if not os.path.isdir(probe_dir):
        raise RClicksError(f"--out {out}: {probe_dir} is a file, not a folder; choose another output path")
    probe = os.path.join(probe_dir, f".rclicks-write-test-{uuid.uuid4().hex}")
    try:
        with open(probe, "wb"):
            pass
        os.remove(probe)
    except OSError as exc:
        raise RClicksError(f"--out {out}: cannot write in {probe_dir} ({exc.strerror}); choose a writable folder") from exc
    if os.path.exists(path) and not os.access(path, os.W_OK):
        raise RClicksError(f"--out {out}: the file exists and is read-only; choose another output path")


def add_dataset_options(p: argparse.ArgumentParser) -> None:
    """``--layout``, ``--mask-threshold`` and ``--ignore-value``: reach every folder loader from the command line."""
    from rclicks.data.datasets import LAYOUTS

    p.add_argument("--layout", default=None, choices=sorted(LAYOUTS),
                   help="folder layout (default: detected from the sub-folders; images/+masks/ is read as berkeley "
                        "unless --layout folder)")
    p.add_argument("--mask-threshold", type=int, default=None,
                   help="folder layout: object = mask value > this (default: 0/1 masks → 1 is object, else > 127)")
    p.add_argument("--ignore-value", type=int, default=None, help="folder layout: mask value of ignored pixels (e.g. 128)")


def load_dataset_from_args(args: argparse.Namespace):
    """The dataset named by ``--dataset`` with ``--layout`` / ``--mask-threshold`` / ``--ignore-value`` applied."""
    from rclicks.data import load_dataset
    from rclicks.errors import RClicksError

    kwargs = {}
    if getattr(args, "mask_threshold", None) is not None:
        kwargs["threshold"] = args.mask_threshold
    if getattr(args, "ignore_value", None) is not None:
        kwargs["ignore_value"] = args.ignore_value
    layout = getattr(args, "layout", None)
    if kwargs and layout not in (None, "folder"):
        raise RClicksError("--mask-threshold and --ignore-value apply to --layout folder (other layouts fix their own rule)")
    if kwargs and layout is None:
        layout = "folder"
    return load_dataset(args.dataset, layout=layout, **kwargs)


def config_tag(args: argparse.Namespace, defaults: dict) -> str:
    """A short, filesystem-safe tag of the options that differ from ``defaults`` (e.g. ``n5-limit2-clickmap=saliency``),
    so default output files of different experiments never share a name; ``""`` for an all-default run."""
    short = {"max_clicks": "n", "limit": "limit", "seed": "seed", "target_iou": "t", "policy": "", "proposer": "",
             "method": "", "steps": "steps", "search": "search", "radius": "r", "layout": "", "mask_threshold": "thr",
             "ignore_value": "ign"}
    parts = []
    for key, default in defaults.items():
        value = getattr(args, key, default)
        if value is not None and value != default:
            parts.append(f"{short.get(key, key)}{value}")
    for key in ("clicker_arg", "model_arg"):
        for k, v in sorted(dict(getattr(args, key, None) or {}).items()):
            parts.append(f"{k}={v}")
    return "".join(ch if ch.isalnum() or ch in "-_.=" else "-" for ch in "-".join(parts))


def tagged(path, tag: str) -> str:
    """``path`` with ``__<tag>`` before its suffix (unchanged for an empty tag)."""
    from pathlib import Path

    path = Path(path)
    return str(path.with_name(f"{path.stem}__{tag}{path.suffix}")) if tag else str(path)


def check_overwrite(out: str, config: dict, force: bool) -> None:
    """Refuse to replace an existing results file written under another configuration unless ``--force``.

    ``config`` holds the options that define an experiment; each is compared with the value the existing file
    recorded in its metadata (its ``config``, else the runner's top-level keys); a file recording none is refused."""
    import json
    import os

    from rclicks.errors import RClicksError

    if force or "://" in str(out) or not os.path.isfile(out):
        return
    try:
        import pyarrow.parquet as pq

        from rclicks.results import METADATA_KEY

        meta = json.loads((pq.read_schema(out).metadata or {}).get(METADATA_KEY, b"{}"))
    except Exception:  # noqa: BLE001 (an unreadable file is "another configuration")
        meta = {}
    old = meta.get("config", meta)
    new = json.loads(json.dumps(config, default=str))
    mismatch = {k: (old.get(k), v) for k, v in new.items() if k in old and old.get(k) != v}
    if meta and not mismatch:
        return
    diff = ", ".join(f"{k}: {a!r} → {b!r}" for k, (a, b) in mismatch.items()) or "its configuration is not recorded"
    raise RClicksError(f"--out {out}: the file holds results of another configuration ({diff}); "
                       "choose another --out, or pass --force to replace it")
