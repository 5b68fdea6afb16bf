"""Robustness measurements (TETRIS): single-click heatmaps and adversarial click trajectories.

Lazy re-exports (nothing heavy is imported until used): ``click_heatmap``, ``heatmap_png``
(alias ``render_heatmap_png``), ``HeatmapResult``, ``attack_trajectory``, ``attack_rows``,
``attack_summary``, ``TorchClickModel``.
"""

from __future__ import annotations

_EXPORTS = {
    "click_heatmap": "heatmap", "heatmap_png": "heatmap", "render_heatmap_png": "heatmap", "HeatmapResult": "heatmap",
    "attack_trajectory": "adversarial", "attack_rows": "adversarial", "attack_summary": "adversarial",
    "TorchClickModel": "adversarial",
}


def __getattr__(name: str):
    """Import the public functions on first use."""
    if name not in _EXPORTS:
        raise AttributeError(f"module 'rclicks.attacks' has no attribute {name!r}")
    import importlib

    module = importlib.import_module(f"rclicks.attacks.{_EXPORTS[name]}")
    return getattr(module, "heatmap_png" if name == "render_heatmap_png" else name)


__all__ = ["HeatmapResult", "TorchClickModel", "attack_rows", "attack_summary", "attack_trajectory", "click_heatmap", "heatmap_png",
           "render_heatmap_png"]
