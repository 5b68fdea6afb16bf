"""Interactive segmentation model adapters behind one protocol (``rclicks.models.base.ISModel``).

Which models exist, and how to build them, is declared in ``rclicks.registry``
(``build_model``, ``MODELS``, ``register``); this package holds the implementations,
none of which imports the registry.
"""

from __future__ import annotations

from rclicks.models.base import ISModel

__all__ = ["ISModel"]
