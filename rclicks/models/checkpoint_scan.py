"""Read a checkpoint's structure without torch and without running any of its code.

The leaderboard checks submitted checkpoints where torch is not installed (the Space), so
it cannot call ``torch.load``. This module reads the same files:

* ``.safetensors``: the JSON header only (names, dtypes, shapes, byte ranges), checked by
  the ``safetensors`` package itself (``safe_open``); no tensor is loaded.
* ``.pt`` / ``.pth`` written by ``torch.save`` (the zip archive, or torch's legacy
  sequence of pickles): the pickle is read by a restricted unpickler that knows only the
  globals a plain state dict needs (``collections.OrderedDict``, torch's tensor and
  parameter rebuild functions, its storage types, ``_codecs.encode``), the same set
  ``torch.load(weights_only=True)`` trusts. Tensors come back as :class:`TensorInfo`
  (dtype, shape, storage); any other global (``os.system``, a model class, numpy)
  is refused before it is looked up, so nothing from the file is ever called.

What this does not do is load the numbers: the evaluation later loads the file with
``torch.load(weights_only=True)`` (``rclicks.models.checkpoints``), which fails loudly on
a storage that does not match its declaration.
"""

from __future__ import annotations

import io
import os
import pickle
import zipfile
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rclicks.errors import RClicksError

#: torch's legacy (pre-zip) file format starts with this pickled number, then 1001.
_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
_LEGACY_PROTOCOL = 1001
_STORAGE_TYPES = ("Float", "Double", "Half", "BFloat16", "Long", "Int", "Short", "Char", "Byte", "Bool",
                  "ComplexFloat", "ComplexDouble", "Untyped")


@dataclass(frozen=True)
class StorageRef:
    """A tensor storage named by the pickle: its dtype name, key (file ``data/<key>`` of the archive) and length."""

    dtype: str
    key: str
    numel: int


@dataclass(frozen=True)
class TensorInfo:
    """What a checkpoint says about one tensor; its values are not read."""

    dtype: str
    shape: tuple[int, ...]
    storage: str = ""


@dataclass(frozen=True)
class _StorageType:
    dtype: str


def _rebuild_tensor(storage: Any, storage_offset: Any = 0, size: Any = (), stride: Any = (), *rest: Any) -> TensorInfo:
    if not isinstance(storage, StorageRef):
        raise pickle.UnpicklingError("a tensor without a storage")
    return TensorInfo(storage.dtype, tuple(int(s) for s in size), storage.key)


def _rebuild_parameter(data: Any, *rest: Any) -> Any:
    if not isinstance(data, TensorInfo):
        raise pickle.UnpicklingError("a parameter without a tensor")
    return data


def _encode(text: str, encoding: str = "latin1") -> bytes:
    import codecs

    return codecs.encode(text, encoding)


_GLOBALS: dict[tuple[str, str], Any] = {
    ("collections", "OrderedDict"): OrderedDict,
    ("builtins", "set"): set,
    ("builtins", "frozenset"): frozenset,
    ("_codecs", "encode"): _encode,
    ("torch._utils", "_rebuild_tensor"): _rebuild_tensor,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    ("torch._utils", "_rebuild_parameter_with_state"): _rebuild_parameter,
    **{("torch", f"{t}Storage"): _StorageType(t) for t in _STORAGE_TYPES},
    ("torch.storage", "UntypedStorage"): _StorageType("Untyped"),
}


class _Unpickler(pickle.Unpickler):
    """Knows only :data:`_GLOBALS`; storages become :class:`StorageRef`, checked against ``keys`` when given."""

    def __init__(self, fh: Any, keys: set[str] | None = None) -> None:
        super().__init__(fh)
        self.keys = keys
        self.storages: list[StorageRef] = []

    def find_class(self, module: str, name: str) -> Any:
        try:
            return _GLOBALS[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(f"Unsupported global: GLOBAL {module}.{name}") from None

    def persistent_load(self, pid: Any) -> Any:
        if not (isinstance(pid, tuple) and len(pid) >= 5 and pid[0] == "storage" and isinstance(pid[1], _StorageType)):
            raise pickle.UnpicklingError(f"unexpected persistent id {str(pid)[:80]}")
        key, numel = str(pid[2]), pid[4]
        if not isinstance(numel, int) or numel < 0:
            raise pickle.UnpicklingError(f"storage {key!r} has a bad length {numel!r}")
        if self.keys is not None and key not in self.keys:
            raise pickle.UnpicklingError(f"storage {key!r} is named but missing from the archive")
        ref = StorageRef(pid[1].dtype, key, numel)
        self.storages.append(ref)
        return ref


def _code_error(path: Path, exc: Exception) -> RClicksError:
    text = str(exc)
    if text.startswith("Unsupported global"):
        return RClicksError(f"{path}: this pickle needs code to load ({text.removeprefix('Unsupported global: ')}); "
                            "rclicks never runs code from a checkpoint")
    return RClicksError(f"{path}: cannot read checkpoint ({type(exc).__name__}: {text[:200]}); is it a torch state dict?")


def _load(data: Any, path: Path, keys: set[str] | None = None) -> Any:
    try:
        return _Unpickler(data, keys).load()
    except RClicksError:
        raise
    except Exception as exc:  # UnpicklingError, EOFError, ValueError, TypeError from a malformed stream
        raise _code_error(path, exc) from exc


def _scan_zip(path: Path) -> Any:
    try:
        with zipfile.ZipFile(path) as zf:
            names = zf.namelist()
            pkl = [n for n in names if n.endswith("/data.pkl") or n == "data.pkl"]
            if len(pkl) != 1:
                raise RClicksError(f"{path}: a zip archive but not a torch checkpoint (no single data.pkl)")
            prefix = pkl[0][: -len("data.pkl")]
            keys = {n[len(prefix) + len("data/"):] for n in names if n.startswith(prefix + "data/")}
            data = zf.read(pkl[0])
    except (zipfile.BadZipFile, OSError) as exc:
        raise RClicksError(f"{path}: not a readable checkpoint archive ({exc})") from exc
    return _load(io.BytesIO(data), path, keys)


def _scan_legacy(path: Path) -> Any:
    with path.open("rb") as fh:
        magic = _load(fh, path)
        if magic != _LEGACY_MAGIC:
            raise RClicksError(f"{path}: not a torch checkpoint (neither torch.save's zip archive nor its legacy format)")
        if _load(fh, path) != _LEGACY_PROTOCOL:
            raise RClicksError(f"{path}: unsupported torch legacy checkpoint protocol")
        if not isinstance(_load(fh, path), dict):  # sys_info
            raise RClicksError(f"{path}: malformed torch legacy checkpoint header")
        unpickler = _Unpickler(fh)
        try:
            obj = unpickler.load()
        except Exception as exc:  # noqa: BLE001
            raise _code_error(path, exc) from exc
        keys = _load(fh, path)
    if not isinstance(keys, list) or any(s.key not in set(map(str, keys)) for s in unpickler.storages):
        raise RClicksError(f"{path}: torch legacy checkpoint names storages it does not hold")
    return obj


def scan_pickle(path: str | os.PathLike) -> Any:
    """The object a ``torch.save`` file holds, with every tensor as a :class:`TensorInfo`; raises RClicksError.

    A global outside the state-dict set raises "this pickle needs code to load (GLOBAL module.name)".
    """
    path = Path(path)
    if not path.is_file():
        raise RClicksError(f"{path}: checkpoint not found")
    return _scan_zip(path) if zipfile.is_zipfile(path) else _scan_legacy(path)


def scan_safetensors(path: str | os.PathLike) -> dict[str, TensorInfo]:
    """Names, dtypes and shapes of a ``.safetensors`` file (its header, checked by ``safetensors``)."""
    path = Path(path)
    try:
        from safetensors import safe_open
    except ImportError as exc:
        raise RClicksError("reading .safetensors needs the safetensors package: pip install safetensors") from exc
    try:
        with safe_open(str(path), framework="numpy") as f:
            out = {}
            for name in f.keys():
                sl = f.get_slice(name)
                out[name] = TensorInfo(str(sl.get_dtype()), tuple(int(d) for d in sl.get_shape()))
    except Exception as exc:  # SafetensorError, OSError, ValueError
        raise RClicksError(f"{path}: not a valid .safetensors file ({exc})") from exc
    return out


def scan_checkpoint(path: str | os.PathLike) -> Any:
    """:func:`scan_safetensors` for ``.safetensors``, else :func:`scan_pickle`."""
    path = Path(path)
    return scan_safetensors(path) if path.suffix.lower() == ".safetensors" else scan_pickle(path)


def state_dict_tensors(obj: Any, path: str | os.PathLike, nested_keys: tuple[str, ...] = ("model", "state_dict",
                                                                                          "model_state_dict", "module")) -> dict[str, TensorInfo]:
    """The tensors of a scanned state dict, unwrapping ``{"model": sd}``-style nesting as ``load_state_dict`` does."""
    if not isinstance(obj, dict):
        raise RClicksError(f"{path}: expected a dict of tensors, found {type(obj).__name__}")
    for key in nested_keys:
        inner = obj.get(key)
        if isinstance(inner, dict) and inner and all(isinstance(v, TensorInfo) for v in inner.values()):
            obj = inner
            break
    tensors = {k: v for k, v in obj.items() if isinstance(v, TensorInfo)}
    if not tensors:
        raise RClicksError(f"{path}: holds no tensors (top-level keys: {sorted(map(str, obj))[:10]})")
    return tensors
