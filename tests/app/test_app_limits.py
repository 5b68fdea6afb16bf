"""Upload limits on a real app server (driven through gradio_client): submission zips are checked
from their directory before extraction and cleaned up, corrupt zips get a clear reason, oversized
uploads are refused by Gradio, huge images are refused before decoding, and the submitter is the
operator identity rather than free text."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

gradio_client = pytest.importorskip("gradio_client")


@pytest.fixture(scope="module")
def client(app_url):
    return gradio_client.Client(app_url, verbose=False)


def _submit(client, path: Path, name: str) -> str:
    result, _queue = client.predict(gradio_client.handle_file(str(path)), name, "sam", "vit_b", "mit", api_name="/do_submit")
    return result


def _leftovers(app_env) -> list[str]:
    return sorted(p.name for p in Path(app_env["TMPDIR"]).glob("rclicks-submit-*"))


def test_a_zip_bomb_is_refused_before_extraction(client, app_env, tmp_path):
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("m/model.onnx", b"\0" * 50_000_000)  # 50 MB of zeros, ~50 kB compressed
    result = _submit(client, bomb, "bomb")
    assert "Rejected" in result and "unpacks to 50000000 bytes" in result and "RCLICKS_MAX_SUBMISSION_BYTES" in result
    assert _leftovers(app_env) == []


def test_corrupt_zip_and_too_many_members(client, app_env, tmp_path):
    bad = tmp_path / "bad.zip"
    bad.write_bytes(b"PK\x03\x04 this is not really a zip")
    assert "not a readable .zip archive" in _submit(client, bad, "bad")
    many = tmp_path / "many.zip"
    with zipfile.ZipFile(many, "w") as zf:
        for i in range(100):
            zf.writestr(f"f{i}.txt", b"x")
    assert "100 archive members, more than 64" in _submit(client, many, "many")


def test_rejected_uploads_leave_no_temporary_folders(client, app_env, tmp_path):
    z = tmp_path / "m.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("m/model.onnx", b"not onnx")
        zf.writestr("m/rclicks.json", b"{}")
    for i in range(12):
        assert "Rejected" in _submit(client, z, f"m{i}")
    assert _leftovers(app_env) == []


def test_an_upload_over_the_size_limit_is_refused_by_gradio(client, tmp_path):
    big = tmp_path / "big.pt"
    big.write_bytes(b"\0" * 6_000_000)  # over RCLICKS_APP_MAX_UPLOAD_BYTES=5000000 of the test server
    with pytest.raises(Exception, match="(?i)size|large|413"):
        _submit(client, big, "big")


def test_a_huge_image_is_refused_before_decoding(client, tmp_path):
    buf = io.BytesIO()
    Image.new("L", (13000, 13000)).save(buf, format="PNG", optimize=True)
    (tmp_path / "huge.png").write_bytes(buf.getvalue())
    assert len(buf.getvalue()) < 1_000_000
    out = client.predict(gradio_client.handle_file(str(tmp_path / "huge.png")), gradio_client.handle_file(str(tmp_path / "huge.png")),
                         api_name="/take_upload")
    text = " ".join(str(o) for o in out)
    assert "13000×13000" in text and "RCLICKS_APP_MAX_PIXELS" in text


def test_submissions_are_bound_to_the_operator_identity(client, app_env, tmp_path):
    from safetensors.numpy import save_file

    from rclicks_leaderboard.requests import RequestsStore

    save_file({"w": np.ones((2, 3), np.float32)}, str(tmp_path / "ok.safetensors"))
    assert "Queued" in _submit(client, tmp_path / "ok.safetensors", "ok-model")
    stored = RequestsStore(app_env["RCLICKS_REQUESTS_URL"]).all()
    assert [r.submitter for r in stored if r.model == "ok-model"] == ["tester"]
