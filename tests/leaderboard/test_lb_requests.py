"""Requests store: checked status transitions, claims, heartbeats, requeue of dead workers."""

from __future__ import annotations

import json

import pytest

from leaderboard.requests import (
    FAILED,
    FINISHED,
    PENDING,
    RUNNING,
    TRANSITIONS,
    Request,
)
from rclicks.errors import RClicksError


def _req(rid: str = "alice__m__1", submitter: str = "alice") -> Request:
    return Request(id=rid, model="m", kind="onnx", weights_sha256="0" * 64, submitter=submitter, license="mit")


def test_roundtrip_and_fields(stores):
    _, requests, _ = stores
    requests.save(_req())
    data = json.loads(open(f"{requests.url}/alice__m__1.json").read())
    assert {"id", "model", "kind", "weights_sha256", "submitter", "license", "submitted_time", "status", "error"} <= set(data)
    assert data["status"] == PENDING and data["error"] is None
    assert requests.get("alice__m__1") == _req().__class__(**{**data})


@pytest.mark.parametrize("start", [PENDING, RUNNING, FINISHED, FAILED])
@pytest.mark.parametrize("target", [PENDING, RUNNING, FINISHED, FAILED])
def test_transitions_are_checked(stores, start, target):
    _, requests, _ = stores
    req = _req()
    req.status = start
    requests.save(req)
    allowed = {(PENDING, RUNNING), (RUNNING, FINISHED), (RUNNING, FAILED), (RUNNING, PENDING), (FAILED, PENDING)}
    assert {(a, b) for a, bs in TRANSITIONS.items() for b in bs} == allowed
    if (start, target) in allowed:
        assert requests.transition(req, target, error="e").status == target
        assert requests.get(req.id).status == target
    else:
        with pytest.raises(RClicksError, match=f"from {start} to {target}"):
            requests.transition(req, target)
        assert requests.get(req.id).status == start


def test_claim_heartbeat_and_requeue(stores):
    _, requests, _ = stores
    requests.save(_req())
    claimed = requests.claim(requests.get("alice__m__1"), "w1")
    assert claimed.status == RUNNING and claimed.worker == "w1"
    assert requests.claim(requests.get("alice__m__1"), "w2") is None  # already running
    assert requests.heartbeat(claimed, "w1") and not requests.heartbeat(claimed, "w2")
    beat = requests.get("alice__m__1").heartbeat
    # fresh heartbeat: not requeued; 100 s later with a 60 s timeout: back to PENDING
    assert requests.requeue_stale(60, now=beat + 30) == []
    assert requests.requeue_stale(60, now=beat + 100) == ["alice__m__1"]
    back = requests.get("alice__m__1")
    assert back.status == PENDING and back.worker is None and "no heartbeat" in back.error
    assert not requests.heartbeat(claimed, "w1")  # the dead worker lost it


def test_unreadable_request_is_reported(stores, tmp_path):
    _, requests, _ = stores
    requests.save(_req())
    (tmp_path / "requests" / "broken.json").write_text("{not json")
    errors: list[str] = []
    assert [r.id for r in requests.all(errors)] == ["alice__m__1"]
    assert len(errors) == 1 and "broken.json" in errors[0]


def test_oldest_first(stores):
    _, requests, _ = stores
    a, b = _req("b_first"), _req("a_second")
    a.submitted_time, b.submitted_time = "2026-01-01T00:00:00+00:00", "2026-01-02T00:00:00+00:00"
    requests.save(b)
    requests.save(a)
    assert [r.id for r in requests.by_status(PENDING)] == ["b_first", "a_second"]
