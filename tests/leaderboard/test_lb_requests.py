"""Requests store: checked status transitions, claims, heartbeats, requeue of dead workers."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from rclicks_leaderboard.requests import (
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
    data = json.loads(open(f"{requests.url}/data/alice__m__1.json").read())
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
    (tmp_path / "requests" / "data" / "broken.json").write_text("{not json")
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


# -- the store as a Hub dataset: data/<id>.json, README.md card, datasets.load_dataset, old layout -------------


def _hub_rows(path, tmp_path, monkeypatch) -> list[dict]:
    """``datasets.load_dataset(path)["requests"]`` offline with a private cache, as a list of row dicts."""
    datasets = pytest.importorskip("datasets")
    from rclicks_leaderboard.requests import SPLIT

    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    dd = datasets.load_dataset(str(path), cache_dir=str(tmp_path / "hf-cache"))
    assert list(dd) == [SPLIT]  # the one split the card names
    return dd[SPLIT].to_list()


def _mixed_store(requests):
    """PENDING, RUNNING with heartbeat and partial shards, FINISHED with shards, FAILED with error; configs differ in keys."""
    from dataclasses import replace

    base = _req()
    reqs = [replace(base, id="p", model="pending-m", config={"policy": "score"}),
            replace(base, id="r", model="running-m", kind="sam", config={"policy": "sam", "variant": "vit_b"},
                    model_bytes=12345, files_url="memory://models/r"),
            replace(base, id="f", model="finished-m", config={"policy": "score", "oracle": True}),
            replace(base, id="x", model="failed-m", submitter="bob", config={}, license="apache-2.0")]
    for k, r in enumerate(reqs):
        r.submitted_time = f"2026-01-0{k + 1}T00:00:00.000000+00:00"  # now_iso's form (see its docstring)
        requests.save(r)
    running = requests.claim(requests.get("r"), "w1", lease_s=600)
    running.shards = {"grabcut__groups+sam__i00000-00025": 750}
    assert requests.heartbeat(running, "w1")
    done = requests.claim(requests.get("f"), "w2", lease_s=12.5)
    done.shards = {"grabcut__baseline+score": 60, "davis__groups+oracle__i00000-00025": 5000}
    requests.transition(done, FINISHED, owner="w2")
    bad = requests.claim(requests.get("x"), "w3")
    requests.transition(bad, FAILED, error="shard grabcut__baseline: killed after 3600 s (RCLICKS_SHARD_TIMEOUT_S) — ünïcode", owner="w3")
    return {r.id: r.status for r in requests.all()}


def test_requests_are_one_line_files_under_data_with_a_dataset_card(stores, tmp_path):
    import yaml

    from rclicks_leaderboard.requests import Request, features

    _, requests, _ = stores
    requests.save(_req())
    root = tmp_path / "requests"
    assert sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()) == [
        "README.md", "data/alice__m__1.json"]  # the lock of a plain save is gone
    text = (root / "data" / "alice__m__1.json").read_text()
    assert text.count("\n") == 1 and text.endswith("\n")  # one JSON object on one line: one row of the json loader
    card = (root / "README.md").read_text()
    head = yaml.safe_load(card.split("---")[1])
    assert head["license"] == "mit"
    assert head["configs"] == [{"config_name": "default", "data_files": [{"split": "requests", "path": "data/*.json"}]}]
    feats = {f["name"]: f["dtype"] for f in head["dataset_info"]["features"]}
    assert list(feats) == list(Request.__dataclass_fields__) == [n for n, _ in features()]
    assert feats["config"] == feats["shards"] == "json" and feats["heartbeat"] == "float64" and feats["attempts"] == "int64"
    assert "## How it was produced" in card and "rclicks_leaderboard.backend" in card
    card_before = card
    requests.save(_req("alice__m__2"))  # the card is written once, not on every save
    assert (root / "README.md").read_text() == card_before


def test_times_keep_their_microseconds():
    from datetime import datetime, timezone

    from rclicks_leaderboard import requests as rq

    class Whole(datetime):  # a clock that reads a whole second
        @classmethod
        def now(cls, tz=None):
            return datetime(2026, 1, 3, tzinfo=timezone.utc)

    orig = rq.datetime
    try:
        rq.datetime = Whole
        assert rq.now_iso() == "2026-01-03T00:00:00.000000+00:00"
    finally:
        rq.datetime = orig


def test_load_dataset_returns_exactly_the_stores_requests(stores, tmp_path, monkeypatch):
    from dataclasses import asdict

    _, requests, _ = stores
    assert _mixed_store(requests) == {"p": PENDING, "r": RUNNING, "f": FINISHED, "x": FAILED}
    ref = requests.all()
    assert ref[1].heartbeat and ref[2].shards and ref[3].error  # the states carry what they should
    rows = _hub_rows(tmp_path / "requests", tmp_path, monkeypatch)
    by_id = lambda rs: sorted(rs, key=lambda r: r["id"])  # noqa: E731
    assert by_id(rows) == by_id([asdict(r) for r in ref])  # every field, nested config and shards included
    table = requests.table()
    got = pd.DataFrame(sorted(rows, key=lambda r: (r["submitted_time"], r["id"])), columns=list(table.columns))
    pd.testing.assert_frame_equal(got, table, check_exact=True)


def _write_old_layout(root, reqs) -> None:
    """Request files as rclicks wrote them before the Hub layout: pretty JSON at the store's root, no card."""
    from dataclasses import asdict

    root.mkdir(parents=True)
    for r in reqs:
        data = asdict(r)
        data.pop("lease_s"), data.pop("attempts")  # fields the oldest files lack
        (root / f"{r.id}.json").write_text(json.dumps(data, indent=2, sort_keys=True))


def test_old_layout_is_read_refused_for_writes_and_migrated(tmp_path, monkeypatch, capsys):
    from rclicks_leaderboard.requests import RequestsStore, queue_builtin
    from rclicks.cli import main

    root = tmp_path / "old"
    old = [_req("alice__m__1"), _req("bob__n__1", submitter="bob")]
    old[1].status, old[1].shards, old[1].config = FINISHED, {"grabcut__baseline": 60}, {"policy": "sam", "variant": "vit_b"}
    _write_old_layout(root, old)
    store = RequestsStore(str(root))
    # readers work on the old layout as it is
    assert sorted(r.id for r in store.all()) == ["alice__m__1", "bob__n__1"] and store.exists("bob__n__1")
    assert store.get("bob__n__1").shards == {"grabcut__baseline": 60} and len(store.table()) == 2
    before = store.all()
    # writes are refused, naming the command, and nothing is written
    for write in (lambda: store.save(_req("carol__k__1")), lambda: store.claim(store.get("alice__m__1"), "w1"),
                  lambda: store.retry("bob__n__1"), lambda: queue_builtin("grabcut", store)):
        with pytest.raises(RClicksError, match="rclicks leaderboard migrate --requests"):
            write()
    assert sorted(p.name for p in root.iterdir()) == ["alice__m__1.json", "bob__n__1.json"]
    assert main(["leaderboard", "migrate"]) == 1 and "name a store" in capsys.readouterr().err
    assert main(["leaderboard", "migrate", "--requests", str(root)]) == 0
    assert "migrated 2 file(s)" in capsys.readouterr().out
    assert sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()) == [
        "README.md", "data/alice__m__1.json", "data/bob__n__1.json"]
    assert all((root / "data" / f"{r.id}.json").read_text().count("\n") == 1 for r in old)
    after = RequestsStore(str(root))
    assert after.all() == before and after.old_layout_files() == []  # nothing but the layout changed
    assert after.claim(after.get("alice__m__1"), "w1").status == RUNNING  # writable now
    assert sorted(r["id"] for r in _hub_rows(root, tmp_path, monkeypatch)) == ["alice__m__1", "bob__n__1"]


def test_migration_leaves_bad_and_duplicate_files_and_names_them(tmp_path, capsys):
    from rclicks_leaderboard.requests import RequestsStore, migrate_requests
    from rclicks.cli import main

    root = tmp_path / "old"
    _write_old_layout(root, [_req("a"), _req("b")])
    (root / "broken.json").write_text("{not json")
    assert main(["leaderboard", "migrate", "--requests", str(root)]) == 1
    err = capsys.readouterr().err
    assert "2 request(s) moved" in err and "broken.json" in err
    store = RequestsStore(str(root))
    with pytest.raises(RClicksError, match="migrate --requests"):  # still refused while it is there
        store.save(_req("c"))
    (root / "broken.json").unlink()
    (root / "a.json").write_text(_req("a").to_json())  # a copy left beside its migrated file
    errors: list[str] = []
    assert [r.id for r in store.all(errors)] == ["a", "b"] and "also stored under data/" in errors[0]
    with pytest.raises(RClicksError, match="already exists"):
        migrate_requests(str(root))
    assert (root / "a.json").exists()
    (root / "a.json").unlink()
    assert migrate_requests(str(root)) == []
    store.save(_req("c"))
