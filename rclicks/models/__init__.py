"""Interactive segmentation model adapters behind one protocol, and their registry."""

from rclicks.models.base import ISModel, ModelSpec, available_models, build_model, register_model

__all__ = ["ISModel", "ModelSpec", "available_models", "build_model", "register_model"]
