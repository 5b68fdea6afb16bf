"""Model-proposed clicks (the PseudoClick protocol): a model-agnostic proposer for any multi-mask model.

PseudoClick (Liu et al., ECCV 2022) has the model propose its own next click from
trained error maps; its clicks are free, so NoC counts human clicks only. The proposer
here is *not* that trained decoder. It wraps any multi-mask model and, after each human
click, proposes one click at the pixel farthest inside the region where the model's
candidate masks and its kept mask disagree (exact distance, first row-major pixel on
ties), labelled by the kept mask there. It declares ``proposes_clicks``; the runner feeds
the proposal back and records it with ``source = model``.

Cost: one extra decoder call per click when the wrapped model's prediction carries no
candidates (single-mask policies after the first click).

A trained proposer plugs into the same capability: return ``Prediction.proposed`` (a
list of ``Click``) from ``predict`` and set ``proposes_clicks = True`` on the class.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Sequence

import numpy as np

from rclicks.errors import RClicksError
from rclicks.types import Click, Prediction

#: Proposers by name, for ``rclicks evaluate --proposer NAME``.
PROPOSERS = ("disagreement",)


def disagreement_click(kept: np.ndarray, candidates: np.ndarray, history: Sequence[Click] = ()) -> Click | None:
    """The proposal for ``bool`` ``H×W`` ``kept`` and ``bool`` ``K×H×W`` ``candidates``; None when they all agree.

    Region: pixels where not every mask (the candidates and the kept one) has the same
    label, minus earlier clicks. Click: its farthest-from-border pixel (x = column,
    y = row), positive where the kept mask says object.
    """
    from rclicks.clickers.regions import farthest_pixel

    stack = np.concatenate([candidates, kept[None]], axis=0)
    region = stack.any(axis=0) & ~stack.all(axis=0)
    d2, (r, c) = farthest_pixel(region, history)
    if d2 <= 0:
        return None
    return Click(x=int(c), y=int(r), positive=bool(kept[r, c]))


class DisagreementProposer:
    """Wraps a multi-mask model; after each human click it proposes one click (see the module docstring)."""

    proposes_clicks = True

    def __init__(self, model) -> None:
        if not getattr(model, "multimask", False):
            raise RClicksError(f"model {getattr(model, 'name', model)!r} returns one mask; the disagreement proposer needs candidates")
        self.model = model
        self.name = f"{getattr(model, 'name', type(model).__name__)}+disagreement"
        self.multimask = True
        self.differentiable = False
        self.weights_sha256 = getattr(model, "weights_sha256", "unknown")
        self._proposing = True

    def set_image(self, image: np.ndarray) -> None:
        """Forward to the wrapped model."""
        self.model.set_image(image)

    def predict(self, clicks: Sequence[Click], prev: Prediction | None = None, *, multimask: bool = False,
                propose: bool = True) -> Prediction:
        """The wrapped model's prediction, plus ``proposed`` (one click or none) when ``propose``."""
        pred = self.model.predict(clicks, prev, multimask=multimask)
        if not propose:
            return pred
        cands = pred.candidates
        if cands is None:
            cands = self.model.predict(clicks, prev, multimask=True).candidates
        if cands is None:
            return pred
        click = disagreement_click(pred.mask, cands > pred.threshold, clicks)
        return replace(pred, proposed=[click] if click is not None else [])


def with_proposer(model, proposer: str):
    """``model`` wrapped by the proposer named ``proposer`` (one of :data:`PROPOSERS`)."""
    if proposer == "disagreement":
        return DisagreementProposer(model)
    raise RClicksError(f"unknown proposer {proposer!r}; known proposers: {', '.join(PROPOSERS)}")
