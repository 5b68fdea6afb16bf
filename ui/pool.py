"""Models shared across sessions: one lazily built instance per name, used under its lock.

A model holds the current image's embedding as state, so every use runs
``set_image`` + ``predict`` inside the model's lock: two visitors never see each
other's embeddings (miniSAM's content-keyed cache makes re-setting an image cheap).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from rclicks.models import available_models, build_model
from rclicks.models.base import ISModel

OFFLINE_MODELS = ("minisam", "grabcut", "random_walker")

_models: dict[tuple[str, str], ISModel] = {}
_locks: dict[tuple[str, str], threading.Lock] = {}
_guard = threading.Lock()


def _weights_present(names: list[str]) -> bool:
    """Whether every named weight package is cached (unknown names count as absent)."""
    from rclicks.errors import RClicksError
    from rclicks.weights import is_present

    try:
        return all(is_present(n) for n in names)
    except RClicksError:
        return False


def model_choices() -> list[str]:
    """miniSAM and the weight-free models always (miniSAM is fetched on first use), others when their weights are cached."""
    names = list(OFFLINE_MODELS)
    for n, spec in available_models().items():
        if n not in names and (spec.weight_free or (spec.weights and _weights_present(list(spec.weights)))):
            names.append(n)
    return names


@contextmanager
def using(name: str, slot: str = "shared") -> Iterator[ISModel]:
    """The instance of model ``name`` in ``slot``, held exclusively for the duration of the block.

    Long jobs (the robustness heatmap) use their own slot so they never hold the
    instance the quick interactive tabs share.
    """
    key = (name, slot)
    with _guard:
        if key not in _locks:
            _locks[key] = threading.Lock()
        lock = _locks[key]
    with lock:
        if key not in _models:
            if name == "minisam":
                from rclicks.weights import fetch

                fetch("minisam")
            _models[key] = build_model(name)
        yield _models[key]
