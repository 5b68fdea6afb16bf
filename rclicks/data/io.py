"""Reading images and masks with clear errors (file named, problem stated)."""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from rclicks.errors import RClicksError

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")


def max_pixels() -> int:
    """The pixel-count limit for images and masks (``$RCLICKS_MAX_PIXELS``, default 64 MP)."""
    from rclicks import settings

    return settings.integer("RCLICKS_MAX_PIXELS")


def _check_size(path: Path) -> tuple[int, int]:
    """Read the header only; refuse unreadable or oversized files before decoding."""
    if path.is_dir():
        raise RClicksError(f"{path}: is a folder, not an image file; give the path of an image")
    try:
        with Image.open(path) as im:
            w, h = im.size
    except FileNotFoundError as exc:
        raise RClicksError(f"{path}: file not found") from exc
    except (OSError, Image.DecompressionBombError, ValueError) as exc:
        raise RClicksError(f"{path}: not a readable image ({exc})") from exc
    if w * h > max_pixels():
        raise RClicksError(f"{path}: image of {w}×{h} exceeds the limit of {max_pixels()} pixels (set RCLICKS_MAX_PIXELS)")
    return w, h


def _check_complete(path: Path) -> None:
    """Refuse a truncated JPEG or PNG (OpenCV would decode it half grey without an error).

    Cheap test first: a JPEG ends with its EOI marker, a PNG with its IEND chunk; only a file
    that fails it (trailing bytes after the end, or truncation) is decoded fully by Pillow to decide.
    """
    suffix = path.suffix.lower()
    if suffix not in (".jpg", ".jpeg", ".png"):
        return
    with open(path, "rb") as fh:
        fh.seek(max(0, path.stat().st_size - 16))
        tail = fh.read().rstrip(b"\x00")
    if (suffix == ".png" and b"IEND" in tail) or (suffix != ".png" and tail.endswith(b"\xff\xd9")):
        return
    from PIL import ImageFile

    ImageFile.LOAD_TRUNCATED_IMAGES = False
    try:
        with Image.open(path) as im:
            im.load()
    except (OSError, SyntaxError, ValueError) as exc:
        raise RClicksError(f"{path}: truncated or corrupt image ({exc}); re-export or re-download the file") from exc


def read_image(path: str | os.PathLike) -> np.ndarray:
    """Read an image file as ``uint8`` ``H×W×3`` RGB (decoded with OpenCV, as RITM does)."""
    path = Path(path)
    _check_size(path)
    _check_complete(path)
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise RClicksError(f"{path}: OpenCV could not decode this image (corrupt or unsupported format)")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def read_mask_raw(path: str | os.PathLike) -> np.ndarray:
    """Read a mask file as a 2-D integer array of its stored values.

    Palette PNGs give palette indices (instance ids), grey files their grey values, and
    colour files the per-pixel maximum over channels (RITM's DAVIS rule). A 16-bit file
    whose values are all multiples of 257 is an 8-bit mask scaled to 16 bits (128 → 32896)
    and is read back at 8 bits, so its ignore band stays 128; other 16-bit files keep their values.
    """
    path = Path(path)
    _check_size(path)
    _check_complete(path)
    try:
        with Image.open(path) as im:
            if im.mode == "P":
                return np.asarray(im, dtype=np.int32)
    except OSError as exc:
        raise RClicksError(f"{path}: not a readable mask ({exc})") from exc
    raw = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if raw is None:
        raise RClicksError(f"{path}: OpenCV could not decode this mask")
    if raw.ndim == 3:
        raw = alpha_or_max(raw)
    if raw.dtype == np.uint16 and not (raw % 257).any():
        raw = raw // 257
    return raw.astype(np.int32)


def alpha_or_max(raw: np.ndarray) -> np.ndarray:
    """One ``H×W`` mask from a colour array: a cut-out's alpha channel when the last (4th, or 2nd of grey+alpha)
    channel is not fully opaque (the object is what is opaque), else the per-pixel maximum over colour channels."""
    if raw.shape[2] in (2, 4):
        alpha = raw[:, :, -1]
        if (alpha < alpha.max()).any() or alpha.max() == 0:
            return alpha
        raw = raw[:, :, :-1]
    return raw.max(axis=2)


#: Above this share of grey pixels (neither 0/1 nor 0/255 nor the ignore value) a mask is refused as ambiguous.
AMBIGUOUS_GREY = 0.05


def object_mask(raw: np.ndarray, threshold: int | None = None, ignore_value: int | None = None,
                what: str = "mask") -> tuple[np.ndarray, np.ndarray | None]:
    """The one rule every reader (app uploads, ``heatmap --mask``, the folder and Berkeley/GrabCut layouts) uses.

    ``raw``: ``H×W`` integer mask values (``read_mask_raw``; a cut-out's alpha already taken). Returns
    (``bool`` object mask, ``bool`` ignore mask or None). Object = ``raw > threshold`` outside ``raw == ignore_value``;
    with ``threshold`` None: 0/1 masks (max ≤ 1) take 1 as object, others ``> 127`` (0/255, 0/128/255 with 128
    ignored, soft mattes). Without a threshold, a mask with over 5 % grey pixels (a photo, a blurry matte) is
    refused as ambiguous, naming ``what`` and the fix.
    """
    raw = np.asarray(raw)
    ignore = raw == ignore_value if ignore_value is not None else None
    if threshold is None:
        if raw.max() <= 1:
            threshold = 0
        else:
            grey = (raw > 1) & (raw < raw.max())
            if ignore is not None:
                grey &= ~ignore
            share = float(np.count_nonzero(grey)) / max(raw.size, 1)
            if share > AMBIGUOUS_GREY and np.unique(raw[grey]).size > 2:
                raise RClicksError(
                    f"{what}: {share:.0%} of its pixels are grey (neither background nor object), so it is ambiguous "
                    "(a photo, or a soft matte?). Give a black-and-white mask (white = object), a 0/1 mask, a cut-out "
                    "with transparency, or state the threshold (--mask-threshold)")
            threshold = 127
    mask = raw > threshold
    if ignore is not None:
        mask &= ~ignore
    return mask, ignore


def check_pair(image: np.ndarray, mask: np.ndarray, image_path: Path, mask_path: Path) -> None:
    """Raise RClicksError when image and mask sizes differ."""
    if image.shape[:2] != mask.shape[:2]:
        raise RClicksError(
            f"{mask_path}: mask is {mask.shape[1]}×{mask.shape[0]} but image {image_path.name} is "
            f"{image.shape[1]}×{image.shape[0]}; masks must have the image's size"
        )
