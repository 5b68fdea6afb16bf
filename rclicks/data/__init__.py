"""Dataset loaders: RITM folder layouts, generic folders, Hugging Face datasets."""

from rclicks.data.datasets import LAYOUTS, Dataset, detect_layout
from rclicks.data.registry import KNOWN, list_datasets, load_dataset

__all__ = ["KNOWN", "LAYOUTS", "Dataset", "detect_layout", "list_datasets", "load_dataset"]
