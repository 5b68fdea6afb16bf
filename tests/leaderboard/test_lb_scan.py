"""The store scan behind ``build_from_store`` equals ``build_table(store.load())`` exactly, skips what ``load`` skips, and caches."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rclicks_leaderboard.scan import clear_cache, scan_store
from rclicks_leaderboard.store import ResultsStore, ShardKey
from rclicks_leaderboard.table import build_from_store, build_oracle_table, build_table
from rclicks.results import write_results

GROUPS = ("baseline",) + tuple(f"g{i}" for i in range(1, 11))


@pytest.fixture(autouse=True)
def _fresh_cache():
    clear_cache()
    yield
    clear_cache()


def _reference(url: str, oracle: bool = False) -> tuple[pd.DataFrame, list[str]]:
    store = ResultsStore(url)
    df, errors = store.load()
    build = build_oracle_table if oracle else build_table
    return build(df, store.metadata_table()), errors


def _fill(store: ResultsStore, make_table, seed: int = 0, models=("m0", "m1", "m2", "m3")) -> None:
    """Shards per (model, dataset, protocol) like the backend writes: groups (baseline + g1..g10), attacks, an oracle run, sizes."""
    rng = np.random.default_rng(seed)
    for k, m in enumerate(models):
        for d in ("grabcut", "davis"):
            groups = make_table(rng, models=(m,), datasets=(d,), clickers=GROUPS, instances=4, clicks=8)
            store.write_shard(ShardKey(m, d, "groups"), groups, {"model_bytes": 1_000_000 * (k + 1)})
            attack = make_table(rng, models=(m,), datasets=(d,), clickers=("adv_min", "adv_max"), instances=4, clicks=8)
            if k % 2:
                attack["best_iou"] = np.minimum(attack["iou"] + 0.05, 1.0)  # an optional column in some files only
            elif k == 2:  # recorded but all null: the scan skips reading it (statistics), the table must not change
                attack["best_iou"], attack["source"] = np.nan, None
            store.write_shard(ShardKey(m, d, "attack"), attack)
        oracle = make_table(rng, models=(m,), datasets=("grabcut",), clickers=("baseline",), instances=4, clicks=8, policy="oracle")
        store.write_shard(ShardKey(m, "grabcut", "oracle"), oracle)


def test_equals_build_table_on_the_loaded_store(tmp_path, make_table):
    store = ResultsStore(str(tmp_path / "r"))
    _fill(store, make_table)
    ref, ref_errors = _reference(store.url)
    for batch_rows in (1, 10**9):  # one batch per model, and everything in one batch
        clear_cache()
        scan_store(store.url, batch_rows=batch_rows)
        table, errors = build_from_store(store.url)
        pd.testing.assert_frame_equal(table, ref, check_exact=True)
        assert errors == ref_errors == []
    assert "Size (MB)" in table and table["Size (MB)"].notna().all()
    oracle, _ = build_from_store(store.url, oracle=True)
    pd.testing.assert_frame_equal(oracle, _reference(store.url, oracle=True)[0], check_exact=True)


def test_bad_files_are_skipped_with_loads_messages(tmp_path, make_table):
    store = ResultsStore(str(tmp_path / "r"))
    _fill(store, make_table, models=("m0", "m1"))
    root = tmp_path / "r" / "data"
    (root / "m1" / "corrupt.parquet").write_bytes(b"PAR1 not really")
    rng = np.random.default_rng(9)
    bad = make_table(rng, models=("m1",), datasets=("davis",), clickers=("baseline",), instances=2, clicks=4)
    write_results(bad, root / "m1" / "negative.parquet")
    import pyarrow as pa
    import pyarrow.parquet as pq

    tb = pq.read_table(root / "m1" / "negative.parquet")
    tb = tb.set_column(tb.schema.get_field_index("tp"), "tp", pa.array(np.full(tb.num_rows, -1, np.int64)))
    pq.write_table(tb, root / "m1" / "negative.parquet")  # bypasses validation: read_results must reject it
    tb = tb.set_column(tb.schema.get_field_index("tp"), "tp", pa.array(np.ones(tb.num_rows, np.int64)))
    tb = tb.set_column(tb.schema.get_field_index("click"), "click", pa.array(np.full(tb.num_rows, 99, np.int64)))
    pq.write_table(tb, root / "m1" / "too_far.parquet")
    ref, ref_errors = _reference(store.url)
    table, errors = build_from_store(store.url)
    assert len(ref_errors) == 3 and errors == ref_errors
    pd.testing.assert_frame_equal(table, ref, check_exact=True)


def test_a_file_holding_several_models_keeps_the_numbers(tmp_path, make_table):
    store = ResultsStore(str(tmp_path / "r"))
    _fill(store, make_table, models=("m0", "m1", "m2"))
    both = make_table(np.random.default_rng(2), models=("m0", "m2"), datasets=("ade",), clickers=("baseline",), instances=3, clicks=8)
    write_results(both, tmp_path / "r" / "mixed.parquet")  # not a store shard: two models in one file
    ref, _ = _reference(store.url)
    table, _ = build_from_store(store.url)
    pd.testing.assert_frame_equal(table, ref, check_exact=True)


def test_an_unchanged_store_is_not_read_again_and_a_changed_shard_is(tmp_path, make_table):
    store = ResultsStore(str(tmp_path / "r"))
    _fill(store, make_table)
    first = scan_store(store.url, batch_rows=1)
    assert first.files_read == len(store.files())
    again = scan_store(store.url, batch_rows=1)
    assert again.per is first.per and again.files_read == 0
    # rewrite one model's shard: only that model's files are read again, and the table follows
    rng = np.random.default_rng(5)
    new = make_table(rng, models=("m2",), datasets=("davis",), clickers=GROUPS, instances=4, clicks=8)
    new["iou"] = 1.0
    store.write_shard(ShardKey("m2", "davis", "groups"), new)
    after = scan_store(store.url, batch_rows=1)
    assert 0 < after.files_read <= 5  # m2's five shards
    table, _ = build_from_store(store.url)
    pd.testing.assert_frame_equal(table, _reference(store.url)[0], check_exact=True)
    assert table.set_index("model").loc["m2", "davis NoC@90"] == 1.0


def test_disk_cache_serves_a_new_process_and_recomputes_only_changed_batches(tmp_path, monkeypatch, make_table):
    """A new process on an unchanged store opens no shard; after one model's shard changes only that model's
    batch is read; each table equals the reference exactly; ``off`` disables the disk cache."""
    import os
    import subprocess
    import sys

    monkeypatch.setenv("RCLICKS_LB_SCAN_CACHE", str(tmp_path / "cache"))
    store = ResultsStore(str(tmp_path / "r"))
    _fill(store, make_table, models=("m0", "m1", "m2"))
    probe = (
        "import sys\n"
        "from rclicks_leaderboard.scan import scan_store\n"
        "from rclicks_leaderboard.table import build_from_store\n"
        "s = scan_store(sys.argv[1], batch_rows=1)\n"
        "build_from_store(sys.argv[1])[0].to_pickle(sys.argv[2])\n"
        "print(s.files_read)\n"
    )

    def run(cache: str | None = None) -> tuple[int, pd.DataFrame]:
        env = dict(os.environ, RCLICKS_LB_SCAN_CACHE=cache or str(tmp_path / "cache"))
        out = tmp_path / "table.pkl"
        proc = subprocess.run([sys.executable, "-c", probe, store.url, str(out)], capture_output=True, text=True, env=env)
        assert proc.returncode == 0, proc.stderr
        return int(proc.stdout.split()[-1]), pd.read_pickle(out)

    n_files = len(store.files())
    (first, t1), (second, t2) = run(), run()
    assert (first, second) == (n_files, 0)
    ref = _reference(store.url)[0]
    pd.testing.assert_frame_equal(t1, ref, check_exact=True)
    pd.testing.assert_frame_equal(t2, ref, check_exact=True)
    new = make_table(np.random.default_rng(5), models=("m1",), datasets=("davis",), clickers=GROUPS, instances=4, clicks=8)
    new["iou"] = 1.0
    store.write_shard(ShardKey("m1", "davis", "groups"), new)
    third, t3 = run()
    assert 0 < third <= 5  # m1's five shards; m0's and m2's batches come from the disk cache
    pd.testing.assert_frame_equal(t3, _reference(store.url)[0], check_exact=True)
    assert t3.set_index("model").loc["m1", "davis NoC@90"] == 1.0
    # bounded: the store's superseded scan and m1's old batch were deleted (one scan, one batch per model)
    cached = sorted(p.name.split("-")[1] for p in (tmp_path / "cache").glob("*.pkl"))
    assert cached == ["batch", "batch", "batch", "scan"]
    assert run("off")[0] == n_files


def test_first_click_spread_column_from_heatmap_rows(tmp_path, make_table):
    """Heatmap rows (clicker ``heatmap``: one one-click trajectory per position) give ``<dataset> First-click spread``:
    the mean over instances of max − min first-click IoU, the same from the store scan and from the loaded table."""
    store = ResultsStore(str(tmp_path / "r"))
    _fill(store, make_table, models=("m0", "m1"))
    rng = np.random.default_rng(11)
    expected = {}
    for m in ("m0",):  # m1 has no heatmap: its column stays NaN
        rows = []
        for inst in ("img0", "img1", "img2"):
            ious = rng.uniform(0.2, 1.0, 6)
            for k, iou in enumerate(ious):
                rows.append({"instance": inst, "x": 8 + 16 * k, "y": 8, "iou": float(iou)})
        heat = make_table(rng, models=(m,), datasets=("grabcut",), clickers=("heatmap",), instances=1, clicks=1)
        heat = pd.concat([heat] * len(rows), ignore_index=True)
        for col in ("instance", "x", "y", "iou"):
            heat[col] = [r[col] for r in rows]
        heat["biou"], heat["clickmap"], heat["protocol"] = heat["iou"], "grid stride=16", "heatmap"
        heat["max_clicks"], heat["click"] = 1, 1
        store.write_shard(ShardKey(m, "grabcut", "heatmap"), heat)
        by = pd.DataFrame(rows).groupby("instance")["iou"]
        expected[m] = float((by.max() - by.min()).mean())  # the definition, recomputed here
    table, _ = build_from_store(store.url)
    ref, _ = _reference(store.url)
    pd.testing.assert_frame_equal(table, ref, check_exact=True)
    got = table.set_index("model")["grabcut First-click spread"]
    assert got["m0"] == pytest.approx(expected["m0"], abs=1e-12) and np.isnan(got["m1"])
    assert "davis First-click spread" not in table.columns
