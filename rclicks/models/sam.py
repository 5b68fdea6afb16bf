"""Segment Anything (SAM, ViT-B/L/H) through the official ``segment-anything`` package.

``build_sam(variant="vit_b", checkpoint=PATH)`` loads the checkpoint safely
(``rclicks.models.checkpoints``), never through the package's own ``torch.load``.
MobileSAM and SAM-HQ reuse :class:`SamPredictorModel`: their packages ship a
``SamPredictor`` with the same API.
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

PIP = "pip install segment-anything==1.0"
URL = "https://dl.fbaipublicfiles.com/segment_anything/"

# The authors' files; the suffix of each name is the start of its MD5, pinned here in full.
VARIANTS: dict[str, Variant] = {
    v: Variant(f"sam_{v}_{md5[:6]}.pth", url=f"{URL}sam_{v}_{md5[:6]}.pth#md5={md5}")
    for v, md5 in (("vit_b", "01ec64d29a2fca3f0661936605ae66f8"), ("vit_l", "0b3195507c641ddb6910d2bb5adee89c"),
                   ("vit_h", "4b8939a88964f0f4ff5f5b2642c598a6"))
}


class SamPredictorModel(SamFamilyModel):
    """Adapter around a ``SamPredictor`` (segment-anything API): embed once, decode per click.

    ``predictor_kwargs`` are passed to every ``SamPredictor.predict`` call (e.g. SAM-HQ's
    ``hq_token_only``). ``torch_logits`` runs the package's own ``predict_torch`` with
    gradients on, so white-box attacks differentiate the real prompt encoder and decoder.
    """

    differentiable = True
    _STATE = ("features", "original_size", "input_size", "is_image_set")

    def __init__(self, net: Any, predictor_cls: Any, *, name: str, weights_sha256: str, device: Any,
                 dtype: Any, mask_feedback: bool = True, predictor_kwargs: dict | None = None,
                 extra_state: tuple[str, ...] = ()) -> None:
        super().__init__(name, weights_sha256, device=device, dtype=dtype, mask_feedback=mask_feedback)
        self.net = net.to(device)
        self.net.requires_grad_(False)  # attacks differentiate w.r.t. clicks only, never the weights
        self.predictor = predictor_cls(self.net)
        self.predictor_kwargs = dict(predictor_kwargs or {})
        self._state_attrs = self._STATE + tuple(extra_state)

    def _encode(self, image: np.ndarray) -> None:
        self.predictor.set_image(image, image_format="RGB")

    def _decode(self, coords, labels, mask_input, multimask):
        masks, scores, low_res = self.predictor.predict(
            point_coords=coords, point_labels=labels, mask_input=mask_input,
            multimask_output=multimask, return_logits=True, **self.predictor_kwargs,
        )
        return masks, scores, low_res

    def _decode_batch(self, coords, labels, multimask):
        import torch

        pred = self.predictor
        pts = torch.as_tensor(pred.transform.apply_coords(coords, pred.original_size), dtype=torch.float,
                              device=pred.device)
        lab = torch.as_tensor(labels, dtype=torch.int, device=pred.device)
        masks, scores, low_res = pred.predict_torch(pts, lab, multimask_output=multimask, return_logits=True,
                                                    **self.predictor_kwargs)
        return (masks.float().cpu().numpy(), scores.float().cpu().numpy(), low_res.float().cpu().numpy())

    def _prompt_scale(self):
        pred = self.predictor
        h, w = pred.original_size
        new_h, new_w = pred.transform.get_preprocess_shape(h, w, pred.transform.target_length)
        return new_w / w, new_h / h

    def _decode_torch(self, points, labels, mask):
        masks, _, _ = with_grad(type(self.predictor).predict_torch)(
            self.predictor, points, labels, mask_input=mask, multimask_output=False, return_logits=True,
            **self.predictor_kwargs)
        return masks


def build_sam(variant: str = "vit_b", checkpoint: str | None = None, device: str = "auto", dtype: str = "fp32",
              mask_feedback: bool = True, seed: int = 0) -> SamPredictorModel:
    """Build ``sam:<variant>`` (vit_b | vit_l | vit_h) from a checkpoint file, ``"hf://..."`` or ``"random"``."""
    from rclicks.errors import RClicksError
    from rclicks.models.device import resolve_device, resolve_dtype

    if variant not in VARIANTS:
        raise RClicksError(f"model sam:{variant}: unknown variant; choose one of {', '.join(VARIANTS)}")
    pkg = require("segment_anything", PIP)
    ckpt = resolve_checkpoint(f"sam:{variant}", VARIANTS[variant], checkpoint)
    dev = resolve_device(device)
    net, sha = build_network(lambda: pkg.sam_model_registry[variant](checkpoint=None), ckpt, seed)
    return SamPredictorModel(net, pkg.SamPredictor, name=f"sam:{variant}", weights_sha256=sha, device=dev,
                             dtype=resolve_dtype(dtype, dev), mask_feedback=mask_feedback)
