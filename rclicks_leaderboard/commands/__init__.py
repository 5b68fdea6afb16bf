"""The leaderboard's sub-commands of the `rclicks` CLI (`rclicks leaderboard ...`, `rclicks reproduce`).

They live here, not in ``rclicks.commands``, so the library never imports the leaderboard:
``rclicks.cli`` finds them through the ``rclicks.commands`` entry points this distribution
declares (pyproject.toml). Each module exposes ``add_parser(subparsers)``.
"""
