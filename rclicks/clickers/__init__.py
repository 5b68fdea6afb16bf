"""Who clicks where: the baseline robot, IPOL robots, clicking groups, real-click replay."""

from rclicks.clickers.base import Clicker, ClickerSpec, available_clickers, build_clicker, register_clicker

__all__ = ["Clicker", "ClickerSpec", "available_clickers", "build_clicker", "register_clicker"]
