"""The rclicks version (its own module, so that modules rclicks imports can read it without importing rclicks back)."""

__version__ = "0.1.0"
