"""Who clicks where: the baseline robot, IPOL robots, clicking groups (protocol: ``rclicks.clickers.base.Clicker``).

Which clickers exist is declared in ``rclicks.registry``; the functions here look it up.
"""

from __future__ import annotations

from typing import Any

from rclicks.clickers.base import Clicker

__all__ = ["Clicker", "ClickerSpec", "available_clickers", "build_clicker", "register_clicker"]


def available_clickers() -> dict[str, Any]:
    """Every registry clicker entry by name (``rclicks.registry.CLICKERS``)."""
    from rclicks import registry

    return registry.CLICKERS


def build_clicker(name: str, **kwargs: Any) -> Clicker:
    """Build a clicker by registry name (``rclicks.registry.build_clicker``)."""
    from rclicks import registry

    return registry.build_clicker(name, **kwargs)


def register_clicker(entry: Any) -> Any:
    """Add a clicker entry (a ``rclicks.registry.Entry`` of kind ``clicker``) at run time."""
    from rclicks import registry

    return registry.register(entry)


def __getattr__(name: str) -> Any:
    if name == "ClickerSpec":
        from rclicks.registry import Entry

        return Entry
    raise AttributeError(f"module 'rclicks.clickers' has no attribute {name!r}")
