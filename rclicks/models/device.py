"""Device and precision selection for the torch model adapters (``--device``, ``--dtype``)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from rclicks.errors import RClicksError

DEVICES = ("auto", "cpu", "cuda")
DTYPES = ("fp32", "fp16", "bf16")


def resolve_device(device: str = "auto") -> Any:
    """``"cpu"``, ``"cuda"``, ``"cuda:N"`` or ``"auto"`` (CUDA when available) → ``torch.device``."""
    import torch

    name = str(device or "auto").lower()
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cpu":
        return torch.device("cpu")
    if name == "cuda" or name.startswith("cuda:"):
        if not torch.cuda.is_available():
            raise RClicksError(f"--device {device}: CUDA is not available on this machine; use --device cpu")
        return torch.device(name)
    raise RClicksError(f"--device {device!r}: expected one of {', '.join(DEVICES)} (or cuda:N)")


def resolve_dtype(dtype: str, device: Any) -> Any:
    """``"fp32"`` | ``"fp16"`` | ``"bf16"`` → ``torch.dtype``; half precision only on CUDA."""
    import torch

    name = str(dtype or "fp32").lower()
    table = {"fp32": torch.float32, "float32": torch.float32, "fp16": torch.float16,
             "float16": torch.float16, "bf16": torch.bfloat16, "bfloat16": torch.bfloat16}
    if name not in table:
        raise RClicksError(f"--dtype {dtype!r}: expected one of {', '.join(DTYPES)}")
    out = table[name]
    if out != torch.float32 and getattr(device, "type", str(device)) != "cuda":
        raise RClicksError(f"--dtype {dtype}: half precision is only supported on CUDA; use --dtype fp32 on CPU")
    return out


@contextlib.contextmanager
def autocast(device: Any, dtype: Any) -> Iterator[None]:
    """Inference mode, plus ``torch.autocast`` when ``dtype`` is half precision (CUDA only)."""
    import torch

    with torch.inference_mode():
        if dtype == torch.float32:
            yield
        else:
            with torch.autocast(device_type=device.type, dtype=dtype):
                yield
