"""Safe checkpoint loading: ``.safetensors`` preferred, pickles only through ``torch.load(weights_only=True)``.

No code from a checkpoint is ever executed: a ``.pt``/``.pth`` file that needs more than
tensors and plain containers is rejected with a message saying how to convert it.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

from rclicks.errors import RClicksError

#: Keys under which training code commonly nests the real state dict.
_NESTED_KEYS = ("model", "state_dict", "model_state_dict", "module")
_SAFE_SUFFIXES = (".safetensors",)
_PICKLE_SUFFIXES = (".pt", ".pth", ".bin", ".ckpt")


def sha256_file(path: str | os.PathLike, chunk: int = 1 << 20, algorithm: str = "sha256") -> str:
    """Hex digest (sha256 unless ``algorithm`` says otherwise) of a file's bytes, read in ``chunk``-byte blocks."""
    path = Path(path)
    if not path.is_file():
        raise RClicksError(f"{path}: weight file not found")
    digest = hashlib.new(algorithm, usedforsecurity=False)
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(chunk), b""):
            digest.update(block)
    return digest.hexdigest()


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


def hub_download(spec: str) -> Path:
    """Download ``hf://owner/repo/filename`` from the Hugging Face Hub (online only; optional path).

    Never used by tests; raises RClicksError when ``huggingface_hub`` is missing or offline.
    """
    if not spec.startswith("hf://"):
        raise RClicksError(f"checkpoint {spec!r}: hub references look like hf://owner/repo/filename")
    parts = spec[len("hf://"):].split("/", 2)
    if len(parts) != 3 or not all(parts):
        raise RClicksError(f"checkpoint {spec!r}: expected hf://owner/repo/filename")
    try:
        from huggingface_hub import hf_hub_download
    except ImportError as exc:
        raise RClicksError("hf:// checkpoints need huggingface_hub: pip install 'rclicks[hf]'") from exc
    try:
        return Path(hf_hub_download(repo_id=f"{parts[0]}/{parts[1]}", filename=parts[2]))
    except Exception as exc:  # network, auth, missing file
        raise RClicksError(f"checkpoint {spec!r}: download from the Hugging Face Hub failed ({exc})") from exc


_DIGEST_SIZES = {"sha256": 64, "md5": 32}


def _pinned_digest(url: str) -> tuple[str, tuple[str, str] | None]:
    """Split pip's ``URL#sha256=HEX`` / ``URL#md5=HEX`` convention into ``(url, (algorithm, hex) or None)``."""
    base, _, fragment = url.partition("#")
    if not fragment:
        return base, None
    algo, _, value = fragment.partition("=")
    value = value.strip().lower()
    if algo not in _DIGEST_SIZES or len(value) != _DIGEST_SIZES[algo] or any(c not in "0123456789abcdef" for c in value):
        raise RClicksError(f"checkpoint URL {url!r}: the fragment must be #sha256=<64 hex digits> or #md5=<32 hex digits>")
    return base, (algo, value)


def url_download(url: str, dest_dir: str | os.PathLike, timeout: float = 60.0) -> Path:
    """Download a checkpoint from an ``http(s)`` URL into ``dest_dir`` (online only; optional path).

    A ``#sha256=HEX`` or ``#md5=HEX`` fragment pins the file (pip's convention; SAM's
    authors publish MD5s): it is checked before the file is moved into place, so a failed
    or tampered download never leaves a file behind. An already downloaded file that
    still matches is reused without a request. The sha256 of whatever is loaded is
    recorded in results either way.
    """
    import tempfile
    import urllib.error
    import urllib.parse
    import urllib.request

    from tqdm.auto import tqdm

    url, pinned = _pinned_digest(url)
    parsed = urllib.parse.urlparse(url)
    name = Path(urllib.parse.unquote(parsed.path)).name
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise RClicksError(f"checkpoint URL {url!r}: only http(s) URLs are downloaded")
    if not name or name.startswith(".") or any(c in name for c in "\\:\0") or not name.lower().endswith(
            _SAFE_SUFFIXES + _PICKLE_SUFFIXES):
        raise RClicksError(f"checkpoint URL {url!r}: the URL must end in a checkpoint file name "
                           f"({', '.join(_SAFE_SUFFIXES + _PICKLE_SUFFIXES)})")
    dest_dir = Path(dest_dir)
    dest_dir.mkdir(parents=True, exist_ok=True)
    target = dest_dir / name
    if target.is_file() and (pinned is None or sha256_file(target, algorithm=pinned[0]) == pinned[1]):
        return target
    fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".part", dir=dest_dir)
    digest = hashlib.new(pinned[0] if pinned else "sha256", usedforsecurity=False)
    try:
        with os.fdopen(fd, "wb") as out:
            try:
                response = urllib.request.urlopen(url, timeout=timeout)  # noqa: S310 (scheme checked above)
                with response, tqdm(total=int(response.headers.get("Content-Length") or 0) or None, unit="B",
                                    unit_scale=True, desc=f"download {name}", disable=None) as bar:
                    while chunk := response.read(1 << 20):
                        out.write(chunk)
                        digest.update(chunk)
                        bar.update(len(chunk))
            except (urllib.error.URLError, OSError, ValueError) as exc:
                raise RClicksError(f"checkpoint URL {url!r}: download failed ({exc})") from exc
        if pinned is not None and digest.hexdigest() != pinned[1]:
            raise RClicksError(f"checkpoint URL {url!r}: {pinned[0]} {digest.hexdigest()} does not match the pinned "
                               f"{pinned[1]}; the file was not kept")
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return target
