"""Who clicks where: the baseline robot, IPOL robots, clicking groups, scripted and adversarial clickers (protocol: ``rclicks.clickers.base.Clicker``).

Which clickers exist, and how to build them, is declared in ``rclicks.registry``
(``build_clicker``, ``CLICKERS``, ``register``); this package holds the implementations,
none of which imports the registry.
"""

from __future__ import annotations

from rclicks.clickers.base import Clicker

__all__ = ["Clicker"]
