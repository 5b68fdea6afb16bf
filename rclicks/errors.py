"""The one exception type the project raises for bad input and configuration."""


class RClicksError(Exception):
    """A user-facing error: the message names the input (file, argument) and the fix."""
