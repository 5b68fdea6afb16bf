"""Clickability models: where a real user is likely to click inside an error region.

Each model maps ``(image, gt_mask, error_mask)`` to a non-negative ``float32`` ``H×W``
map that is zero outside the error region (not necessarily normalised). Models are
declared by name in ``rclicks.registry`` (``uniform``, ``distance``, ``saliency``,
``learned``); build one with ``build_clickmap(name, **kwargs)``.
"""

from __future__ import annotations

from typing import Any

from rclicks.clickmaps.base import ClickMap, blur_sigma, blurred

__all__ = [
    "ClickMap",
    "ClickMapSpec",
    "available_clickmaps",
    "blur_sigma",
    "blurred",
    "build_clickmap",
    "register_clickmap",
]


def available_clickmaps() -> dict[str, Any]:
    """Every registry click-map entry by name (``rclicks.registry.CLICKMAPS``)."""
    from rclicks import registry

    return registry.CLICKMAPS


def build_clickmap(name: str, *, blur: bool = False, cache_size: int = 8, **kwargs: Any) -> ClickMap:
    """Build a click map by name; ``blur`` applies the RClicks blur, ``cache_size`` > 0 an LRU cache
    (``rclicks.registry.build_clickmap``)."""
    from rclicks import registry

    return registry.build_clickmap(name, blur=blur, cache_size=cache_size, **kwargs)


def register_clickmap(entry: Any) -> Any:
    """Add a click-map entry (a ``rclicks.registry.Entry`` of kind ``clickmap``) at run time."""
    from rclicks import registry

    return registry.register(entry)


def __getattr__(name: str) -> Any:
    if name == "ClickMapSpec":
        from rclicks.registry import Entry

        return Entry
    raise AttributeError(f"module 'rclicks.clickmaps' has no attribute {name!r}")
