"""SAM 2 and SAM 2.1 image predictor through the official ``sam2`` package.

Names: ``sam2:hiera_t|hiera_s|hiera_b+|hiera_l`` and ``sam2.1:<same>``. The network is
built from the package's hydra config, then the checkpoint (``{"model": state_dict}``)
is loaded safely. Install on CPU-only machines with ``SAM2_BUILD_CUDA=0 pip install sam2==1.1.0``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rclicks.models._sam_common import (
    SamFamilyModel,
    Variant,
    build_network,
    require,
    resolve_checkpoint,
    with_grad,
)

PIP = "SAM2_BUILD_CUDA=0 pip install sam2==1.1.0"
_SIZES = {"hiera_t": "tiny", "hiera_s": "small", "hiera_b+": "base-plus", "hiera_l": "large"}


def _variants(version: str) -> dict[str, Variant]:
    """The four Hiera sizes of one SAM 2 release (``"sam2"`` or ``"sam2.1"``)."""
    out = {}
    for short, size in _SIZES.items():
        filename = f"{version}_hiera_{size.replace('-', '_')}.pt"
        out[short] = Variant(filename, hub=f"hf://facebook/{version}-hiera-{size}/{filename}",
                             config=f"configs/{version}/{version}_{short}.yaml")
    return out


VARIANTS: dict[str, dict[str, Variant]] = {"sam2": _variants("sam2"), "sam2.1": _variants("sam2.1")}


class Sam2Model(SamFamilyModel):
    """Adapter around ``sam2.sam2_image_predictor.SAM2ImagePredictor``: embed once, decode per click.

    ``torch_logits`` runs the predictor's own ``_predict`` with gradients on (white-box attacks).
    """

    differentiable = True
    _state_attrs = ("_features", "_orig_hw", "_is_image_set", "_is_batch")

    def __init__(self, net: Any, *, name: str, weights_sha256: str, device: Any, dtype: Any,
                 mask_feedback: bool = True) -> None:
        from sam2.sam2_image_predictor import SAM2ImagePredictor

        super().__init__(name, weights_sha256, device=device, dtype=dtype, mask_feedback=mask_feedback)
        self.net = net.to(device)
        self.net.requires_grad_(False)  # attacks differentiate w.r.t. clicks only, never the weights
        self.predictor = SAM2ImagePredictor(self.net)

    def _encode(self, image: np.ndarray) -> None:
        self.predictor.set_image(image)

    def _decode(self, coords, labels, mask_input, multimask):
        masks, scores, low_res = self.predictor.predict(
            point_coords=coords, point_labels=labels, mask_input=mask_input,
            multimask_output=multimask, return_logits=True, normalize_coords=True,
        )
        return masks, scores, low_res

    def _decode_batch(self, coords, labels, multimask):
        pred = self.predictor
        _, pts, lab, _ = pred._prep_prompts(coords, labels, None, None, True)
        masks, scores, low_res = pred._predict(pts, lab, None, None, multimask_output=multimask, return_logits=True)
        return (masks.float().cpu().numpy(), scores.float().cpu().numpy(), low_res.float().cpu().numpy())


    def _prompt_scale(self):
        h, w = self.predictor._orig_hw[-1]  # predict() normalises by (W, H), then scales to the model resolution
        resolution = self.predictor._transforms.resolution
        return resolution / w, resolution / h

    def _decode_torch(self, points, labels, mask):
        masks, _, _ = with_grad(type(self.predictor)._predict)(self.predictor, points, labels, None, mask,
                                                                multimask_output=False, return_logits=True)
        return masks


def build_sam2(variant: str = "hiera_t", checkpoint: str | None = None, device: str = "auto", dtype: str = "fp32",
               mask_feedback: bool = True, seed: int = 0, version: str = "sam2") -> Sam2Model:
    """Build ``sam2:<variant>`` / ``sam2.1:<variant>`` from a checkpoint file, ``"hf"``, ``"hf://..."`` or ``"random"``."""
    from rclicks.errors import RClicksError
    from rclicks.models.device import resolve_device, resolve_dtype

    table = VARIANTS.get(version)
    if table is None:
        raise RClicksError(f"SAM 2 version {version!r}: expected one of {', '.join(VARIANTS)}")
    if variant not in table:
        raise RClicksError(f"model {version}:{variant}: unknown variant; choose one of {', '.join(table)}")
    require("sam2", PIP)
    from sam2.build_sam import build_sam2 as _build

    ckpt = resolve_checkpoint(f"{version}:{variant}", table[variant], checkpoint)
    dev = resolve_device(device)
    # Released checkpoints are {"model": state_dict}; load_state_dict unwraps that (or takes a flat one).
    net, sha = build_network(lambda: _build(table[variant].config, ckpt_path=None, device="cpu"), ckpt, seed)
    return Sam2Model(net, name=f"{version}:{variant}", weights_sha256=sha, device=dev,
                     dtype=resolve_dtype(dtype, dev), mask_feedback=mask_feedback)


def build_sam21(variant: str = "hiera_t", **kwargs) -> Sam2Model:
    """Build ``sam2.1:<variant>`` (see :func:`build_sam2`)."""
    return build_sam2(variant, version="sam2.1", **kwargs)
