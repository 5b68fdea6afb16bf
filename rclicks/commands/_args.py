"""Argument types shared by several sub-commands."""

from __future__ import annotations

import argparse
import json


def key_values(text: str) -> dict:
    """Parse ``key=value,key=value`` (values as JSON when they parse, else strings)."""
    out = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        key, sep, value = part.partition("=")
        if not sep:
            raise argparse.ArgumentTypeError(f"expected key=value, got {part!r}")
        try:
            out[key] = json.loads(value)
        except json.JSONDecodeError:
            out[key] = value
    return out
