"""Where the app's samples come from: bundled datasets (gallery) or a visitor's upload."""

from __future__ import annotations

from functools import lru_cache

import cv2
import numpy as np
from PIL import Image

from rclicks.data import load_dataset
from rclicks.errors import RClicksError
from rclicks.types import Sample
from rclicks import settings


def data_problem() -> str | None:
    """Why the bundled samples cannot be shown (data folder missing), or None when they can."""
    try:
        load_dataset("grabcut")
        load_dataset("davis")
    except RClicksError as exc:
        return str(exc)
    return None


@lru_cache(maxsize=1)
def bundled() -> list[tuple[str, int]]:
    """(dataset, index) of the gallery samples: the first GrabCut images, then a few DAVIS frames."""
    n = settings.integer("RCLICKS_APP_SAMPLES")
    out = [("grabcut", i) for i in range(min(n - 4 if n > 4 else n, len(load_dataset("grabcut"))))]
    if n > 4:
        davis = load_dataset("davis")
        out += [("davis", i) for i in range(0, len(davis), max(1, len(davis) // 4))][: n - len(out)]
    return out


def gallery_sample(dataset: str, index) -> Sample:
    """A gallery sample by (dataset, index), refusing anything the gallery does not show (API callers included)."""
    try:
        key = (str(dataset), int(index))
    except (TypeError, ValueError) as exc:
        raise RClicksError(f"sample index must be an integer, got {index!r}") from exc
    if key not in bundled():
        shown = sorted({d for d, _ in bundled()})
        raise RClicksError(f"{dataset}/{index} is not one of the app's samples (datasets {', '.join(shown)}; indexes as in the gallery)")
    return bundled_sample(*key)


def find(dataset: str, instance: str) -> tuple[str, int] | None:
    """The gallery key of a sample by its instance name, or None when the gallery does not hold it."""
    for ds, i in bundled():
        if ds == dataset and bundled_sample(ds, i).instance == instance:
            return ds, i
    return None


@lru_cache(maxsize=64)
def bundled_sample(dataset: str, index: int) -> Sample:
    """A bundled sample by dataset name and index (cached)."""
    return load_dataset(dataset)[index]


def thumbnails() -> list[tuple[np.ndarray, str]]:
    """Gallery items: (small image with the object outlined, caption)."""
    from rclicks.viz import overlay_mask

    out = []
    for ds, i in bundled():
        s = bundled_sample(ds, i)
        scale = 160 / max(s.image.shape[:2])
        small = cv2.resize(overlay_mask(s.image, s.mask, alpha=0.25), None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        out.append((small, f"{ds}/{s.instance}"))
    return out


def from_upload(image: np.ndarray | None, mask: np.ndarray | None, max_side: int | None = None,
                allow_no_mask: bool = False) -> tuple[Sample, str]:
    """A Sample from an uploaded image and object mask; returns (sample, notice). Raises RClicksError on bad input.

    The mask is read by the library's one rule (``rclicks.data.io.object_mask``): white on black, 0/1, or a cut-out's
    alpha; an ambiguous (greyish) mask is refused with the reason. ``allow_no_mask``: without a mask the sample's
    mask is empty (no score; Click yourself still segments)."""
    from rclicks.data.io import alpha_or_max, object_mask

    if image is None or (mask is None and not allow_no_mask):
        raise RClicksError("upload both an image and its object mask (white = object)")
    image = np.asarray(image)
    if image.ndim == 2:
        image = np.repeat(image[:, :, None], 3, axis=2)
    image = np.ascontiguousarray(image[:, :, :3]).astype(np.uint8)
    if mask is None:
        obj = np.zeros(image.shape[:2], bool)
    else:
        mask = np.asarray(mask)
        if mask.ndim == 3:
            mask = alpha_or_max(mask)
        if mask.shape != image.shape[:2]:
            raise RClicksError(f"the mask is {mask.shape[1]}×{mask.shape[0]} but the image is {image.shape[1]}×{image.shape[0]}; they must match")
        obj, _ = object_mask(mask.astype(np.int32), what="the mask")
        if not obj.any():
            raise RClicksError("the mask is empty: paint the object white on black (or give 1 on 0, or a cut-out with transparency)")
    notice = ""
    limit = max_side or settings.integer("RCLICKS_APP_MAX_SIDE")
    h, w = image.shape[:2]
    if max(h, w) > limit:
        scale = limit / max(h, w)
        size = (max(1, round(w * scale)), max(1, round(h * scale)))
        image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
        obj = cv2.resize(obj.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST).astype(bool)
        notice = f"The image was {w}×{h}; it was downscaled to {size[0]}×{size[1]} (limit {limit} px, RCLICKS_APP_MAX_SIDE)."
    return Sample(image=image, mask=obj, name="upload", dataset="upload"), notice


def read_upload_file(path: str | None, what: str) -> np.ndarray | None:
    """Decode an uploaded file into an array, or raise RClicksError naming it when it is not an image."""
    if path is None:
        return None
    try:
        with Image.open(path) as im:  # the header only: pixels are decoded after the budget check
            w, h = im.size
            budget = settings.integer("RCLICKS_APP_MAX_PIXELS")
            if w * h > budget:
                raise RClicksError(f"{what}: {w}×{h} = {w * h} pixels exceeds the limit of {budget} "
                                   "(RCLICKS_APP_MAX_PIXELS); downscale it before uploading")
            if what == "image":
                return np.asarray(im.convert("RGB"))
            if im.mode in ("RGBA", "LA", "PA") or "transparency" in im.info:  # a cut-out: the alpha channel is the mask
                from rclicks.data.io import alpha_or_max

                return alpha_or_max(np.asarray(im.convert("RGBA")))
            return np.asarray(im.convert("RGB")).max(axis=2) if im.mode == "RGB" else np.asarray(im.convert("L"))
    except (OSError, Image.DecompressionBombError) as exc:
        raise RClicksError(f"{what}: the uploaded file is not an image ({exc.__class__.__name__})") from exc
