"""Interactive segmentation model adapters behind one protocol (``rclicks.models.base.ISModel``).

Which models exist is declared in ``rclicks.registry``; the functions here look it up
(imported on first call, so ``import rclicks.models`` stays cheap and no adapter
imports the registry back).
"""

from __future__ import annotations

from typing import Any

from rclicks.models.base import ISModel

__all__ = ["ISModel", "ModelSpec", "available_models", "build_model", "register_model"]


def available_models() -> dict[str, Any]:
    """Every registry model entry by name (``rclicks.registry.MODELS``)."""
    from rclicks import registry

    return registry.MODELS


def build_model(name: str, **kwargs: Any) -> ISModel:
    """Build a model by registry name; ``family:variant`` passes the variant (``rclicks.registry.build_model``)."""
    from rclicks import registry

    return registry.build_model(name, **kwargs)


def register_model(entry: Any) -> Any:
    """Add a model entry (a ``rclicks.registry.Entry`` of kind ``model``) at run time."""
    from rclicks import registry

    return registry.register(entry)


def __getattr__(name: str) -> Any:
    if name == "ModelSpec":  # the registry's entry type, under its former name
        from rclicks.registry import Entry

        return Entry
    raise AttributeError(f"module 'rclicks.models' has no attribute {name!r}")
