"""Clickability models: where a real user is likely to click inside an error region.

Each model maps ``(image, gt_mask, error_mask)`` to a non-negative ``float32`` ``H×W``
map that is zero outside the error region (not necessarily normalised). Models are
registered by name (``uniform``, ``distance``, ``saliency``, ``learned``); build one with
``build_clickmap(name, **kwargs)``.
"""

from rclicks.clickmaps.base import (
    ClickMap,
    ClickMapSpec,
    available_clickmaps,
    blur_sigma,
    blurred,
    build_clickmap,
    register_clickmap,
)

__all__ = [
    "ClickMap",
    "ClickMapSpec",
    "available_clickmaps",
    "blur_sigma",
    "blurred",
    "build_clickmap",
    "register_clickmap",
]
