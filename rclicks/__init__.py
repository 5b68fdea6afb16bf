"""rclicks: interactive segmentation benchmark under realistic clicks."""

from rclicks._version import __version__
from rclicks.errors import RClicksError
from rclicks.types import Click, Prediction, Sample, Trajectory

__all__ = ["Click", "Prediction", "RClicksError", "Sample", "Trajectory", "evaluate", "__version__"]


def evaluate(*args, **kwargs):
    """Run a benchmark and return the long-form results DataFrame (see `rclicks.runner.evaluate`)."""
    from rclicks.runner import evaluate as _evaluate

    return _evaluate(*args, **kwargs)
