"""Helpers shared by the SAM-family adapter tests."""

from __future__ import annotations

import numpy as np
import pytest


def _central_difference_gradient(model, coords, labels, mask_input, step):
    """d mean(torch_logits) / d coords by central differences (``step`` px), float64 ``N×2``."""
    import torch

    def mean_logit(c):
        with torch.no_grad():
            return model.torch_logits(c, labels, mask_input).double().mean().item()

    base = coords.detach()
    numeric = np.zeros(tuple(base.shape))
    for i in range(base.shape[0]):
        for j in range(base.shape[1]):
            up, down = base.clone(), base.clone()
            up[i, j] += step
            down[i, j] -= step
            numeric[i, j] = (mean_logit(up) - mean_logit(down)) / (2 * step)
    return numeric


@pytest.fixture
def numeric_click_gradient():
    """``f(model, coords, labels, mask_input, step)``: the independent gradient that ``torch_logits`` is checked against."""
    return _central_difference_gradient
