"""Sub-commands of the `rclicks` CLI: one module each, exposing ``add_parser(subparsers)``."""
