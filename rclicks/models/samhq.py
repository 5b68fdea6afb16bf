"""SAM-HQ (Segment Anything in High Quality) through the official ``segment-anything-hq`` package.

``hq_token_only`` (default False, the package default) picks whether the HQ output
replaces the SAM output (True) or corrects it (False).
"""

from __future__ import annotations

from rclicks.models._sam_common import (
    Variant,
    build_network,
    require,
    resolve_checkpoint,
)
from rclicks.models.sam import SamPredictorModel

PIP = "pip install segment-anything-hq==0.3"
VARIANTS: dict[str, Variant] = {  # the authors publish the checkpoints on the Hub (lkeab/hq-sam)
    v: Variant(f"sam_hq_{v}.pth", hub=f"hf://lkeab/hq-sam/sam_hq_{v}.pth") for v in ("vit_b", "vit_l", "vit_h")
}


def build_samhq(variant: str = "vit_b", checkpoint: str | None = None, device: str = "auto", dtype: str = "fp32",
                mask_feedback: bool = True, hq_token_only: bool = False, seed: int = 0) -> SamPredictorModel:
    """Build ``samhq:<variant>`` (vit_b | vit_l | vit_h) from a checkpoint file, ``"hf://..."`` or ``"random"``."""
    from rclicks.errors import RClicksError
    from rclicks.models.device import resolve_device, resolve_dtype

    if variant not in VARIANTS:
        raise RClicksError(f"model samhq:{variant}: unknown variant; choose one of {', '.join(VARIANTS)}")
    pkg = require("segment_anything_hq", PIP)
    ckpt = resolve_checkpoint(f"samhq:{variant}", VARIANTS[variant], checkpoint)
    dev = resolve_device(device)
    # The HQ package itself loads non-strictly: released checkpoints omit a few buffers.
    net, sha = build_network(lambda: pkg.sam_model_registry[variant](checkpoint=None), ckpt, seed, strict=False)
    return SamPredictorModel(net, pkg.SamPredictor, name=f"samhq:{variant}", weights_sha256=sha, device=dev,
                             dtype=resolve_dtype(dtype, dev), mask_feedback=mask_feedback,
                             predictor_kwargs={"hq_token_only": bool(hq_token_only)},
                             extra_state=("interm_features",))
