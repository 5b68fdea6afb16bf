"""Run-length encoding round trip and its column-major convention."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from rclicks.metrics.rle import rle_decode, rle_encode


def test_known_encoding():
    m = np.array([[0, 1], [1, 1]], bool)  # column-major: 0, 1, 1, 1
    assert rle_encode(m) == {"size": [2, 2], "counts": [1, 3]}
    assert rle_encode(np.ones((1, 2), bool))["counts"] == [0, 2]


@settings(max_examples=60, deadline=None)
@given(arrays(bool, st.tuples(st.integers(1, 12), st.integers(1, 12))))
def test_round_trip(mask):
    assert np.array_equal(rle_decode(rle_encode(mask)), mask)
