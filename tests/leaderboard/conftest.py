"""Fixtures for the leaderboard tests: stores in a temporary folder, hand-made results tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rclicks.results import SCHEMA


@pytest.fixture
def stores(tmp_path):
    """(ResultsStore, RequestsStore, models_url) under tmp_path."""
    from rclicks_leaderboard.requests import RequestsStore
    from rclicks_leaderboard.store import ResultsStore

    return ResultsStore(str(tmp_path / "results")), RequestsStore(str(tmp_path / "requests")), str(tmp_path / "models")


def results_rows(model: str, dataset: str, clicker: str, instance: str, ious, *, policy: str = "score", time_s: float = 0.01,
                 max_clicks: int | None = None) -> list[dict]:
    """Long-form rows of one trajectory with the given IoU per click (results contract v2; ``max_clicks`` defaults to its length)."""
    group = int(clicker[1:]) if clicker[:1] == "g" and clicker[1:].isdigit() else 0
    rows = []
    for k, v in enumerate(ious):
        tp = int(round(1000 * float(v)))
        rows.append(dict(
            dataset=dataset, instance=instance, model=model, clicker=clicker, seed=0, click=k + 1, x=k, y=2 * k,
            positive=bool(k % 2 == 0), iou=float(v), biou=float(v) * 0.5, time_s=time_s, policy=policy,
            model_sha256="abc", dataset_fingerprint="fp", max_clicks=int(max_clicks or len(ious)), target_iou=float("nan"),
            protocol="groups" if group or clicker == "baseline" else clicker, clickmap="distance" if group else "", group=group,
            tp=tp, fp=0, fn=1000 - tp, tn=9000,
        ))
    return rows


def random_table(rng: np.random.Generator, models=("m0", "m1"), datasets=("grabcut", "davis"),
                 clickers=("baseline",) + tuple(f"g{i}" for i in range(1, 11)) + ("adv_min", "adv_max"),
                 instances=3, clicks=6, policy="score") -> pd.DataFrame:
    """A results table with random non-decreasing IoU curves (seeded)."""
    rows = []
    for m in models:
        for d in datasets:
            for c in clickers:
                for i in range(instances):
                    ious = np.sort(rng.uniform(0.5, 1.0, clicks))
                    rows += results_rows(m, d, c, f"im{i}", ious, policy=policy, time_s=float(rng.uniform(0.01, 0.1)))
    return pd.DataFrame(rows).astype(SCHEMA)


@pytest.fixture
def make_table():
    """The :func:`random_table` helper (fixtures work under any pytest import mode)."""
    return random_table


@pytest.fixture
def make_rows():
    """The :func:`results_rows` helper."""
    return results_rows
