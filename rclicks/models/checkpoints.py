"""Safe checkpoint loading: ``.safetensors`` preferred, pickles only through ``torch.load(weights_only=True)``.

No code from a checkpoint is ever executed: a ``.pt``/``.pth`` file that needs more than
tensors and plain containers is rejected with a message saying how to convert it. Where a
checkpoint comes from (Hub, URL, cache) and its sha256 are the weights service's
(:mod:`rclicks.weights`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from rclicks.errors import RClicksError
from rclicks.weights import sha256_file

#: Keys under which training code commonly nests the real state dict.
_NESTED_KEYS = ("model", "state_dict", "model_state_dict", "module")
_SAFE_SUFFIXES = (".safetensors",)
_PICKLE_SUFFIXES = (".pt", ".pth", ".bin", ".ckpt")
#: File names a checkpoint may have (a downloaded one must end in one of them).
CHECKPOINT_SUFFIXES = _SAFE_SUFFIXES + _PICKLE_SUFFIXES


def load_state_dict(path: str | os.PathLike, nested_key: str | None = None) -> dict[str, Any]:
    """Load a checkpoint file into a flat ``{name: torch.Tensor}`` dict on the CPU, safely.

    ``.safetensors`` are read with ``safetensors.torch.load_file``; ``.pt/.pth/.bin/.ckpt``
    with ``torch.load(weights_only=True)`` (no arbitrary code). A nested dict (``{"model": sd}``,
    ``{"state_dict": sd}``) is unwrapped, by ``nested_key`` if given. Raises RClicksError
    naming the file for a missing file, an unknown suffix, a pickle that needs code, or a
    file that holds no tensors.
    """
    import torch

    path = Path(path)
    if not path.is_file():
        raise RClicksError(f"{path}: checkpoint not found; pass an existing .safetensors or .pt/.pth file")
    suffix = path.suffix.lower()
    if suffix in _SAFE_SUFFIXES:
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        try:
            obj: Any = load_file(str(path), device="cpu")
        except (SafetensorError, OSError, ValueError) as exc:
            raise RClicksError(f"{path}: not a valid .safetensors file ({exc})") from exc
    elif suffix in _PICKLE_SUFFIXES:
        try:
            obj = torch.load(str(path), map_location="cpu", weights_only=True)
        except Exception as exc:  # UnpicklingError, RuntimeError, EOFError, zip errors...
            text = str(exc)
            if "Unsupported global" in text or "was not an allowed global" in text:
                detail = next((ln.strip() for ln in text.splitlines() if "Unsupported global" in ln), "")
                detail = detail.split("WeightsUnpickler error:")[-1].strip().split(" was not")[0]
                raise RClicksError(
                    f"{path}: this pickle needs code to load ({detail}); rclicks never runs code from a "
                    "checkpoint. Re-save its tensors only, e.g. "
                    "`safetensors.torch.save_file(model.state_dict(), 'model.safetensors')`, and pass that file"
                ) from exc
            detail = next((ln.strip() for ln in reversed(text.splitlines()) if ln.strip() and "documentation" not in ln),
                          type(exc).__name__)
            raise RClicksError(f"{path}: cannot read checkpoint ({detail}); is it a torch state dict?") from exc
    else:
        raise RClicksError(
            f"{path}: unknown checkpoint suffix {suffix!r}; use .safetensors (preferred) or .pt/.pth"
        )
    return _flatten(obj, path, nested_key)


def _flatten(obj: Any, path: Path, nested_key: str | None) -> dict[str, Any]:
    """Unwrap ``{"model": state_dict}``-style nesting and check every value is a tensor."""
    import torch

    if not isinstance(obj, dict):
        raise RClicksError(f"{path}: expected a dict of tensors, found {type(obj).__name__}")
    keys = (nested_key,) if nested_key else _NESTED_KEYS
    for key in keys:
        inner = obj.get(key)
        if isinstance(inner, dict) and inner and all(isinstance(v, torch.Tensor) for v in inner.values()):
            obj = inner
            break
    else:
        if nested_key:
            raise RClicksError(f"{path}: no state dict under key {nested_key!r}; keys are {sorted(obj)[:10]}")
    tensors = {k: v for k, v in obj.items() if isinstance(v, torch.Tensor)}
    if not tensors:
        raise RClicksError(f"{path}: holds no tensors (top-level keys: {sorted(map(str, obj))[:10]})")
    return tensors


def load_into(module: Any, path: str | os.PathLike, strict: bool = True) -> str:
    """Load a checkpoint safely into a torch ``module``; return the file's sha256.

    A key mismatch under ``strict`` raises RClicksError naming the file and a few keys.
    """
    state = load_state_dict(path)
    try:
        result = module.load_state_dict(state, strict=False)
    except RuntimeError as exc:  # tensor shape mismatches
        raise RClicksError(f"{path}: checkpoint does not fit the model ({str(exc).splitlines()[-1].strip()})") from exc
    missing, unexpected = list(result.missing_keys), list(result.unexpected_keys)
    if strict and (missing or unexpected):
        raise RClicksError(
            f"{path}: checkpoint does not fit the model: {len(missing)} missing key(s) {missing[:3]}, "
            f"{len(unexpected)} unexpected key(s) {unexpected[:3]}; is it the right variant?"
        )
    return sha256_file(path)
