"""Clickability models: where a real user is likely to click inside an error region.

Each model maps ``(image, gt_mask, error_mask)`` to a non-negative ``float32`` ``H×W``
map that is zero outside the error region (not necessarily normalised). Models are
declared by name in ``rclicks.registry`` (``uniform``, ``distance``, ``saliency``,
``learned``); build one with ``rclicks.registry.build_clickmap(name, **kwargs)``. This
package holds the implementations, none of which imports the registry.
"""

from __future__ import annotations

from rclicks.clickmaps.base import ClickMap, blur_sigma, blurred

__all__ = ["ClickMap", "blur_sigma", "blurred"]
