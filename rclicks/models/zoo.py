"""Registry entries of the model zoo: SAM, SAM 2 / 2.1, MobileSAM, SAM-HQ and ONNX submissions.

Importing this module is cheap: it imports no torch and no optional package. Every
family is registered even when its package is missing; building it then fails with a
clear ``pip install ...`` message.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rclicks.models.base import ModelSpec, register_model


@dataclass(frozen=True)
class Family:
    """What a zoo family needs: its python module, the pip line, its variants and their files."""

    name: str
    module: str
    pip: str
    default_variant: str
    variants: dict[str, str]  # variant -> checkpoint file name
    online: str = ""  # the --checkpoint keyword that downloads the authors' file: "hf" or "url"


FAMILIES: dict[str, Family] = {
    "sam": Family("sam", "segment_anything", "pip install segment-anything==1.0", "vit_b",
                  {"vit_b": "sam_vit_b_01ec64.pth", "vit_l": "sam_vit_l_0b3195.pth", "vit_h": "sam_vit_h_4b8939.pth"}, "url"),
    "sam2": Family("sam2", "sam2", "SAM2_BUILD_CUDA=0 pip install sam2==1.1.0", "hiera_t",
                   {"hiera_t": "sam2_hiera_tiny.pt", "hiera_s": "sam2_hiera_small.pt",
                    "hiera_b+": "sam2_hiera_base_plus.pt", "hiera_l": "sam2_hiera_large.pt"}, "hf"),
    "sam2.1": Family("sam2.1", "sam2", "SAM2_BUILD_CUDA=0 pip install sam2==1.1.0", "hiera_t",
                     {"hiera_t": "sam2.1_hiera_tiny.pt", "hiera_s": "sam2.1_hiera_small.pt",
                      "hiera_b+": "sam2.1_hiera_base_plus.pt", "hiera_l": "sam2.1_hiera_large.pt"}, "hf"),
    "mobilesam": Family("mobilesam", "mobile_sam", "pip install mobilesam-mirror==1.0.0 timm", "vit_t",
                        {"vit_t": "mobile_sam.pt"}, "url"),
    "samhq": Family("samhq", "segment_anything_hq", "pip install segment-anything-hq==0.3", "vit_b",
                    {"vit_b": "sam_hq_vit_b.pth", "vit_l": "sam_hq_vit_l.pth", "vit_h": "sam_hq_vit_h.pth"}, "hf"),
}


def package_installed(module: str) -> bool:
    """True when ``module`` can be imported (checked without importing it)."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def weights_present(family: str) -> dict[str, Path | None]:
    """Per variant of a zoo family: the local checkpoint path under ``checkpoint_dir()``, or None."""
    from rclicks.models._sam_common import checkpoint_dir

    fam = FAMILIES[family]
    return {v: (checkpoint_dir() / f if (checkpoint_dir() / f).is_file() else None) for v, f in fam.variants.items()}


def _sam(variant: str = "vit_b", **kw: Any):
    from rclicks.models.sam import build_sam

    return build_sam(variant, **kw)


def _sam2(variant: str = "hiera_t", **kw: Any):
    from rclicks.models.sam2 import build_sam2

    return build_sam2(variant, **kw)


def _sam21(variant: str = "hiera_t", **kw: Any):
    from rclicks.models.sam2 import build_sam21

    return build_sam21(variant, **kw)


def _mobilesam(variant: str = "vit_t", **kw: Any):
    from rclicks.models.mobilesam import build_mobilesam

    return build_mobilesam(variant, **kw)


def _samhq(variant: str = "vit_b", **kw: Any):
    from rclicks.models.samhq import build_samhq

    return build_samhq(variant, **kw)


def _onnx(variant: str | None = None, folder: str | None = None, checkpoint: str | None = None, **kw: Any):
    from rclicks.errors import RClicksError
    from rclicks.models.onnx_contract import OnnxContractModel

    target = folder or variant or checkpoint
    if not target:
        raise RClicksError("model 'onnx' needs a submission folder: --model onnx:DIR")
    return OnnxContractModel(target, **kw)


_DESCRIPTIONS = {
    "sam": "Segment Anything (ViT-B/L/H), official segment-anything package",
    "sam2": "SAM 2 image predictor (Hiera t/s/b+/l), official sam2 package",
    "sam2.1": "SAM 2.1 image predictor (Hiera t/s/b+/l), official sam2 package",
    "mobilesam": "MobileSAM (TinyViT encoder + SAM decoder), mobile_sam package",
    "samhq": "SAM-HQ (ViT-B/L/H with HQ output token), segment-anything-hq package",
}
_FACTORIES = {"sam": _sam, "sam2": _sam2, "sam2.1": _sam21, "mobilesam": _mobilesam, "samhq": _samhq}

for _name, _fam in FAMILIES.items():
    register_model(ModelSpec(
        name=_name, factory=_FACTORIES[_name], description=_DESCRIPTIONS[_name], family="sam",
        weights=list(_fam.variants.values()), differentiable=True, multimask=True, offline=True,
    ))

register_model(ModelSpec(
    name="onnx", factory=_onnx, description="A submitted ONNX model following the rclicks contract (onnx:DIR)",
    family="onnx", weight_free=False, weights=["model.onnx | encoder.onnx + decoder.onnx", "rclicks.json"],
    differentiable=False, multimask=True, offline=True,
))
