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


def _check_torch_logits(model, first_click, second_click, step):
    """``torch_logits`` on two clicks (the second negative, with the first prediction fed back) gives
    ``predict``'s probabilities, no weight gradients, and coordinate gradients equal to central differences."""
    import torch

    from rclicks.types import Click

    assert model.differentiable
    first = model.predict([Click(*first_click, True)])
    second = model.predict([Click(*first_click, True), Click(*second_click, False)], first)
    labels = torch.tensor([1, 0])
    coords = torch.tensor([first_click, second_click], dtype=torch.float32, requires_grad=True)
    logits = model.torch_logits(coords, labels, first.state["low_res"])
    np.testing.assert_allclose(torch.sigmoid(logits).detach().numpy(), second.prob, atol=1e-5)
    logits.mean().backward()
    assert all(p.grad is None for p in model.net.parameters())  # only the clicks are differentiated
    numeric = _central_difference_gradient(model, coords, labels, first.state["low_res"], step)
    assert np.abs(numeric).min() > 0
    np.testing.assert_allclose(coords.grad.numpy(), numeric, rtol=2e-2)


@pytest.fixture
def check_torch_logits():
    """``f(model, first_click_xy, second_click_xy, step)``: the shared ``torch_logits`` check (see above)."""
    return _check_torch_logits
