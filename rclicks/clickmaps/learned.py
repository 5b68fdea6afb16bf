"""``learned``: a user-provided clickability network (RClicks' ``ClickabilityModel`` role), ONNX or safetensors.

Contract of a checkpoint (see docs/realistic-clicks.md):

* inputs — ``image``: ``float32`` ``[1, 3, S, S]``, RGB / 255 normalised with ImageNet
  mean (0.485, 0.456, 0.406) and std (0.229, 0.224, 0.225); ``masks``: ``float32``
  ``[1, 2, S, S]``, channel 0 = gt mask, channel 1 = error mask, values in {0, 1}. The
  image and masks are resized (bilinear / nearest) to ``S × S``.
* output — ``float32`` ``[1, 1, S, S]`` unnormalised log-density of the click.
* the click map is ``exp(out − max(out))`` resized bilinearly to ``H × W``, times the
  error mask (zero outside it).
* ONNX: two inputs named ``image`` and ``masks`` with a static ``S``; safetensors: the
  state dict of ``TinyClickNet`` with metadata ``rclicks_arch = "tinyclicknet-v1"``,
  ``input_size`` and ``width`` (what ``rclicks clickmaps train`` writes; needs torch).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import cv2
import numpy as np

from rclicks.clickmaps.base import check_inputs
from rclicks.errors import RClicksError

ARCH = "tinyclicknet-v1"
MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)


def network_inputs(image: np.ndarray, gt_mask: np.ndarray, error_mask: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """The contract's ``(image [1,3,S,S], masks [1,2,S,S])`` float32 arrays for ``S = size``."""
    x = cv2.resize(image, (size, size), interpolation=cv2.INTER_LINEAR).astype(np.float32) / 255.0
    x = ((x - MEAN) / STD).transpose(2, 0, 1)[None]
    m = np.stack(
        [cv2.resize(a.astype(np.uint8), (size, size), interpolation=cv2.INTER_NEAREST) for a in (gt_mask, error_mask)]
    ).astype(np.float32)[None]
    return np.ascontiguousarray(x, dtype=np.float32), np.ascontiguousarray(m)


def logits_to_map(logits: np.ndarray, error_mask: np.ndarray) -> np.ndarray:
    """``exp(logits − max)`` (``S×S``) resized to the mask's ``H×W``, zero outside ``error_mask``; float32."""
    p = np.exp(logits - logits.max()).astype(np.float32)
    h, w = error_mask.shape
    p = cv2.resize(p, (w, h), interpolation=cv2.INTER_LINEAR)
    return (p * error_mask).astype(np.float32)


def build_tiny_net(width: int = 16):
    """A small fully-convolutional net (5 input channels → 1 log-density channel); needs torch."""
    import torch
    from torch import nn

    class TinyClickNet(nn.Module):
        """Two stride-2 stages, a dilated context conv, ×4 upsampling with a skip connection."""

        def __init__(self, w: int):
            super().__init__()
            self.stem = nn.Sequential(nn.Conv2d(5, w, 3, padding=1), nn.ReLU())
            self.down = nn.Sequential(
                nn.Conv2d(w, 2 * w, 3, stride=2, padding=1), nn.ReLU(),
                nn.Conv2d(2 * w, 4 * w, 3, stride=2, padding=1), nn.ReLU(),
                nn.Conv2d(4 * w, 4 * w, 3, padding=2, dilation=2), nn.ReLU(),
            )
            self.head = nn.Sequential(nn.Conv2d(5 * w, w, 3, padding=1), nn.ReLU(), nn.Conv2d(w, 1, 1))

        def forward(self, image, masks):  # noqa: D401 - torch API
            f0 = self.stem(torch.cat([image, masks], dim=1))
            f = self.down(f0)
            f = nn.functional.interpolate(f, size=f0.shape[-2:], mode="bilinear", align_corners=False)
            return self.head(torch.cat([f0, f], dim=1))

    return TinyClickNet(width)


def save_checkpoint(net, path: str | os.PathLike, input_size: int, width: int, extra: dict | None = None) -> Path:
    """Write ``net``'s state dict as safetensors with the contract metadata (atomic: temp file + rename)."""
    from safetensors.torch import save_file

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    meta = {"rclicks_arch": ARCH, "input_size": str(input_size), "width": str(width), "extra": json.dumps(extra or {})}
    save_file({k: v.detach().contiguous().cpu() for k, v in net.state_dict().items()}, str(tmp), metadata=meta)
    os.replace(tmp, path)
    return path


def load_checkpoint(path: str | os.PathLike):
    """``(net, input_size)`` from a safetensors checkpoint written by ``save_checkpoint``."""
    from safetensors import safe_open
    from safetensors.torch import load_file

    path = Path(path)
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
        state = load_file(str(path))
    except Exception as exc:  # safetensors raises several types on bad files
        raise RClicksError(f"{path}: not a readable safetensors checkpoint ({exc})") from exc
    if meta.get("rclicks_arch") != ARCH:
        raise RClicksError(f"{path}: metadata rclicks_arch={meta.get('rclicks_arch')!r}, expected {ARCH!r}; export other nets to ONNX")
    net = build_tiny_net(int(meta.get("width", 16)))
    try:
        net.load_state_dict(state)
    except RuntimeError as exc:
        raise RClicksError(f"{path}: weights do not fit {ARCH} ({exc})") from exc
    net.eval()
    return net, int(meta.get("input_size", 128))


class LearnedClickMap:
    """A checkpoint-loaded clickability network (``.onnx`` via onnxruntime, ``.safetensors`` via torch)."""

    name = "learned"

    def __init__(self, path: str | os.PathLike | None = None, *, input_size: int | None = None):
        if path is None:
            raise RClicksError("click map 'learned' needs a checkpoint: pass path=FILE (.onnx or .safetensors; see `rclicks clickmaps train`)")
        self.path = Path(path)
        if not self.path.is_file():
            raise RClicksError(f"{self.path}: clickability checkpoint not found")
        self._run = None
        self.input_size = input_size

    def _load(self):
        if self._run is not None:
            return
        if self.path.suffix == ".onnx":
            import onnxruntime as ort

            try:
                sess = ort.InferenceSession(str(self.path), providers=["CPUExecutionProvider"])
            except Exception as exc:
                raise RClicksError(f"{self.path}: not a loadable ONNX model ({exc})") from exc
            names = {i.name: i for i in sess.get_inputs()}
            if set(names) != {"image", "masks"}:
                raise RClicksError(f"{self.path}: ONNX inputs must be named 'image' and 'masks', got {sorted(names)}")
            dim = names["image"].shape[-1]
            self.input_size = self.input_size or (dim if isinstance(dim, int) else 128)
            self._run = lambda x, m: sess.run(None, {"image": x, "masks": m})[0]
        elif self.path.suffix == ".safetensors":
            import torch

            net, size = load_checkpoint(self.path)
            self.input_size = self.input_size or size

            def run(x, m):
                with torch.no_grad():
                    return net(torch.from_numpy(x), torch.from_numpy(m)).numpy()

            self._run = run
        else:
            raise RClicksError(f"{self.path}: unsupported checkpoint type {self.path.suffix!r}; use .onnx or .safetensors")

    def logits(self, image: np.ndarray, gt_mask: np.ndarray, error_mask: np.ndarray) -> np.ndarray:
        """The network's ``S×S`` float32 log-density for these inputs."""
        self._load()
        x, m = network_inputs(image, gt_mask, error_mask, int(self.input_size))
        out = np.asarray(self._run(x, m), dtype=np.float32)
        if out.shape != (1, 1, self.input_size, self.input_size):
            raise RClicksError(f"{self.path}: output shape {out.shape}, expected [1, 1, {self.input_size}, {self.input_size}]")
        return out[0, 0]

    def click_map(self, image: np.ndarray, gt_mask: np.ndarray, error_mask: np.ndarray) -> np.ndarray:
        """``float32`` ``H×W``: ``exp(log-density − max)`` resized to the image, zero outside ``error_mask``."""
        check_inputs(image, gt_mask, error_mask)
        if not error_mask.any():
            return np.zeros(error_mask.shape, np.float32)
        return logits_to_map(self.logits(image, gt_mask, error_mask), error_mask.astype(bool))
