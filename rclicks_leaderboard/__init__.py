"""rclicks leaderboard: results and requests stores, submission validation, evaluation backend, table.

``rclicks_leaderboard.submit(...)`` validates and queues a submission (see :mod:`rclicks_leaderboard.submit`);
``rclicks_leaderboard.build_table(...)`` turns a results store into the leaderboard DataFrame.
"""

from __future__ import annotations

# Bound eagerly so that the function, not the submodule of the same name, is
# ``rclicks_leaderboard.submit`` (importing a submodule sets the package attribute).
from rclicks_leaderboard.submit import SubmissionRejected, submit

__all__ = ["SubmissionRejected", "build_table", "submit"]


def build_table(*args, **kwargs):
    """Build the leaderboard DataFrame; see :func:`rclicks_leaderboard.table.build_table`."""
    from rclicks_leaderboard.table import build_table as _build

    return _build(*args, **kwargs)
