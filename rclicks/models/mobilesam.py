"""MobileSAM (TinyViT encoder + SAM decoder) through the ``mobile_sam`` package.

The MobileSAM authors do not publish on PyPI; ``mobilesam-mirror==1.0.0`` packages their
``mobile_sam`` module unchanged (it needs ``timm``). The checkpoint is ``mobile_sam.pt``
from the MobileSAM repository (``weights/mobile_sam.pt``).
"""

from __future__ import annotations

from rclicks.models._sam_common import (
    Variant,
    build_network,
    require,
    resolve_checkpoint,
)
from rclicks.models.sam import SamPredictorModel

PIP = "pip install mobilesam-mirror==1.0.0 timm"
VARIANTS: dict[str, Variant] = {
    "vit_t": Variant("mobile_sam.pt", url="https://github.com/ChaoningZhang/MobileSAM/raw/master/weights/mobile_sam.pt"),
}


def build_mobilesam(variant: str = "vit_t", checkpoint: str | None = None, device: str = "auto",
                    dtype: str = "fp32", mask_feedback: bool = True, seed: int = 0) -> SamPredictorModel:
    """Build ``mobilesam`` (TinyViT ``vit_t``) from a checkpoint file, ``"hf://..."`` or ``"random"``."""
    from rclicks.errors import RClicksError
    from rclicks.models.device import resolve_device, resolve_dtype

    if variant not in VARIANTS:
        raise RClicksError(f"model mobilesam:{variant}: unknown variant; choose one of {', '.join(VARIANTS)}")
    require("timm", PIP)
    pkg = require("mobile_sam", PIP)
    ckpt = resolve_checkpoint("mobilesam", VARIANTS[variant], checkpoint)
    dev = resolve_device(device)
    net, sha = build_network(lambda: pkg.sam_model_registry[variant](checkpoint=None), ckpt, seed)
    return SamPredictorModel(net, pkg.SamPredictor, name="mobilesam", weights_sha256=sha, device=dev,
                             dtype=resolve_dtype(dtype, dev), mask_feedback=mask_feedback)
