"""Every environment variable rclicks, its leaderboard and its app read: one declarative table, typed accessors.

The table (:data:`SETTINGS`) names each variable with its type, default, one-line description and the part that
reads it (``library``, ``leaderboard``, ``app``); the README's configuration table is generated from it
(:func:`markdown_table`, ``python -m rclicks.settings``) and a test keeps the two equal.

The accessors (:func:`integer`, :func:`text`, :func:`path`, :func:`flag`, :func:`items`, :func:`paths`) read the
environment **when called**, never at import, so a variable set after import (a test's ``monkeypatch.setenv``, a
worker's environment) is seen. A value that is empty or only spaces counts as unset. A bad value raises one
:class:`~rclicks.errors.RClicksError` line naming the variable, what was expected and the fix, e.g.
``RCLICKS_APP_MAX_PIXELS='abc': expected an integer ≥ 1; set it to one or unset it (default 25000000)``.

Importing this module has no side effect: it starts no thread, creates no folder and touches no network.
Setting up the environment of child processes and libraries (``OMP_NUM_THREADS`` in :mod:`rclicks.threads`,
kaleido's ``BROWSER_PATH`` in ``rclicks_leaderboard.gallery``) is not configuration and stays where it is done.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from rclicks.errors import RClicksError

#: The checkout (or installed tree) this package lives in.
REPO_ROOT = Path(__file__).resolve().parents[1]

#: The Space's own samples (a few GrabCut and DAVIS instances, provenance in its README.md).
SAMPLES_ROOT = REPO_ROOT / "assets" / "samples"

#: The results shipped with a checkout (``python -m rclicks_leaderboard.seed`` regenerates them).
CHECKOUT_RESULTS = REPO_ROOT / "assets" / "results"

LIBRARY, LEADERBOARD, APP = "library", "leaderboard", "app"

#: What each type accepts, for the error message.
_EXPECTED = {"switch": "0 or 1", "text": "a non-empty text", "path": "a folder path", "list": "comma-separated names",
             "paths": f"{os.pathsep!r}-separated paths"}


@dataclass(frozen=True)
class Setting:
    """One environment variable: its name, type, default, description and the part of the project that reads it.

    ``type``: ``int`` (an integer in ``[minimum, maximum]``), ``switch`` (``0`` or ``1``), ``text``, ``path``,
    ``list`` (comma-separated, spaces stripped, empty entries dropped) or ``paths`` (``os.pathsep``-separated).
    ``default`` is the value when unset; ``compute`` computes it instead (then ``shown`` says how, for the docs).
    ``off``: values (case-insensitive) that switch the feature off; the accessor then returns None.
    """

    name: str
    type: str
    default: object
    description: str
    part: str
    minimum: int | None = None
    maximum: int | None = None
    compute: Callable[[], object] | None = None
    shown: str | None = None
    off: tuple[str, ...] = ()

    def default_text(self) -> str:
        """The default as the docs state it."""
        if self.shown is not None:
            return self.shown
        if self.default is None or (isinstance(self.default, (list, tuple)) and not self.default):
            return "unset"
        if self.type == "switch":
            return "1" if self.default else "0"
        return ",".join(self.default) if isinstance(self.default, (list, tuple)) else str(self.default)

    def expected(self) -> str:
        """What a valid value looks like (for the error message)."""
        if self.type != "int":
            return _EXPECTED[self.type] + (f" (or {'/'.join(self.off)})" if self.off else "")
        if self.minimum is not None and self.maximum is not None:
            return f"an integer from {self.minimum} to {self.maximum}"
        return "an integer" + (f" ≥ {self.minimum}" if self.minimum is not None else "")

    def error(self, raw: str) -> RClicksError:
        """The one-line error for a bad value ``raw``."""
        return RClicksError(f"{self.name}={raw!r}: expected {self.expected()}; set it to one or unset it "
                            f"(default {self.default_text()})")

    def get(self):
        """The typed value from the environment now (the default when unset or empty)."""
        raw = os.environ.get(self.name)
        raw = raw.strip() if raw is not None else ""
        if not raw:
            return self.compute() if self.compute is not None else self.default
        if self.off and raw.lower() in self.off:
            return None
        if self.type == "int":
            try:
                value = int(raw)
            except ValueError:
                raise self.error(raw) from None
            if (self.minimum is not None and value < self.minimum) or (self.maximum is not None and value > self.maximum):
                raise self.error(raw)
            return value
        if self.type == "switch":
            if raw not in ("0", "1"):
                raise self.error(raw)
            return raw == "1"
        if self.type == "path":
            return Path(raw).expanduser()
        if self.type == "list":
            return [s.strip() for s in raw.split(",") if s.strip()]
        if self.type == "paths":
            return [Path(p).expanduser() for p in raw.split(os.pathsep) if p.strip()]
        return raw


# ------------------------------------------------------------------------------------------------ computed defaults


def _default_data() -> Path:
    shared = REPO_ROOT.parent / "shared" / "data"
    return shared if shared.is_dir() or not SAMPLES_ROOT.is_dir() else SAMPLES_ROOT


def _default_cache() -> Path:
    return path("XDG_CACHE_HOME") / "rclicks"


def _default_shipped() -> Path | None:
    return CHECKOUT_RESULTS if CHECKOUT_RESULTS.is_dir() else None


def _default_scan_cache() -> Path:
    return cache_dir() / "leaderboard-scan"


def _s(name, type, default, description, part, **kw) -> Setting:  # noqa: A002 (the table's column name)
    return Setting(name, type, default, description, part, **kw)


#: Every environment variable the project reads, by part; the README's table is generated from this one.
SETTINGS: tuple[Setting, ...] = (
    # ---- library
    _s("RCLICKS_DATA", "path", None, "folder of the datasets that `--dataset NAME` finds (`GrabCut/`, `DAVIS/`, …)",
       LIBRARY, compute=_default_data, shown="`../shared/data` beside the checkout when present, else `assets/samples`"),
    _s("RCLICKS_CACHE", "path", None, "where fetched weights, checkpoints, submissions and caches are kept", LIBRARY,
       compute=_default_cache, shown="`$XDG_CACHE_HOME/rclicks`"),
    _s("XDG_CACHE_HOME", "path", None, "the user's cache folder (freedesktop standard), parent of the default `RCLICKS_CACHE`",
       LIBRARY, compute=lambda: Path.home() / ".cache", shown="`~/.cache`"),
    _s("RCLICKS_MAX_PIXELS", "int", 64_000_000, "images and masks of a dataset over this many pixels are refused before decoding",
       LIBRARY, minimum=1),
    _s("RCLICKS_PREPARE_MAX_BYTES", "int", 16 * 1024**3, "`rclicks datasets prepare` refuses archives that download or "
       "unpack to more bytes (16 GiB)", LIBRARY, minimum=1),
    _s("RCLICKS_MAX_CLICKS_LIMIT", "int", 100, "the largest `--max-clicks` the commands accept", LIBRARY, minimum=1),
    _s("RCLICKS_ORT_SPINNING", "switch", False, "`1` lets onnxruntime's idle pool threads busy-wait (measured slower on "
       "shared cores: `benchmarks/ort_spinning.py`)", LIBRARY),
    _s("RCLICKS_NPM_REGISTRY", "text", "https://registry.npmjs.org", "npm registry of the pinned weight tarballs, "
       "used when `npm` is not on the PATH", LIBRARY),
    # ---- leaderboard
    _s("RCLICKS_RESULTS_URL", "text", "./hub/results", "results store (a folder or `hf://datasets/OWNER/NAME/results`); "
       "unset, the table shows `./hub/results` when it holds results, else the shipped results", LEADERBOARD),
    _s("RCLICKS_SHIPPED_RESULTS", "path", None, "the results shipped with the project, shown when there is no store of "
       "one's own (a pip-installed package has none: point it at a copy of `assets/results`)", LEADERBOARD,
       compute=_default_shipped, shown="the checkout's `assets/results` when it exists"),
    _s("RCLICKS_REQUESTS_URL", "text", "./hub/requests", "requests store (one JSON per submission)", LEADERBOARD),
    _s("RCLICKS_MODELS_URL", "text", "./hub/models", "where validated submissions' files are copied "
       "(`<url>/<request id>/...`)", LEADERBOARD),
    _s("RCLICKS_LOGS_DIR", "path", Path("./hub/logs"), "local folder of the backend's per-shard logs", LEADERBOARD,
       shown="./hub/logs"),
    _s("HF_TOKEN", "text", None, "Hugging Face token for `hf://` stores and `rclicks leaderboard push` (also read by "
       "`huggingface_hub` itself)", LEADERBOARD),
    _s("RCLICKS_MAX_SUBMISSION_BYTES", "int", 2_000_000_000, "size limit of one submission (all files; also the inflated "
       "size of a `.pt` archive or an uploaded `.zip`)", LEADERBOARD, minimum=1),
    _s("RCLICKS_MAX_PENDING", "int", 3, "PENDING + RUNNING requests allowed per submitter (`0`: submissions closed)",
       LEADERBOARD, minimum=0),
    _s("RCLICKS_HEARTBEAT_TIMEOUT_S", "int", 600, "a RUNNING request whose heartbeat is older returns to PENDING",
       LEADERBOARD, minimum=1),
    _s("RCLICKS_MAX_ATTEMPTS", "int", 3, "claims of one request before it ends FAILED (a worker died or was killed each time)",
       LEADERBOARD, minimum=1),
    _s("RCLICKS_LB_DATASETS", "list", ("grabcut", "davis"), "datasets every submission is evaluated on", LEADERBOARD),
    _s("RCLICKS_LB_PROTOCOLS", "list", ("groups",), "protocols (clicker lists) per dataset; `groups` = baseline + G1..G10, "
       "`PROTOCOL@MAP` runs its map-taking clickers on another click map, `heatmap` the single-click IoU grid", LEADERBOARD),
    _s("RCLICKS_LB_ATTACKS", "switch", False, "`1` adds the `attacks` protocol (TETRIS black-box IoU-Min / IoU-Max "
       "trajectories, clickers `adv_min` / `adv_max`)", LEADERBOARD),
    _s("RCLICKS_LB_ATTACK_DATASETS", "list", ("grabcut",), "datasets the `attacks` protocol runs on", LEADERBOARD),
    _s("RCLICKS_LB_ATTACK_CLICKS", "int", 10, "clicks per adversarial trajectory (IoU-AuC@10 needs 10)", LEADERBOARD,
       minimum=1),
    _s("RCLICKS_LB_HEATMAP_STRIDE", "int", 16, "grid step (px) of the `heatmap` protocol: one first click per grid "
       "position inside the object; its rows feed the `First-click spread` column", LEADERBOARD, minimum=1, maximum=256),
    _s("RCLICKS_LB_KEEP_MASKS", "list", (), "protocols whose shards also store each click's mask and the first click's "
       "candidate masks (`mask_rle`: the IPOL overlays and DISNet candidates of `rclicks reproduce`); "
       "about 3 KB per row", LEADERBOARD),
    _s("RCLICKS_LB_MAX_CLICKS", "int", 20, "clicks per trajectory", LEADERBOARD, minimum=1),
    _s("RCLICKS_LB_SEED", "int", 0, "seed of every stochastic clicker", LEADERBOARD, minimum=0, maximum=2**32 - 1),
    _s("RCLICKS_SHARD_TIMEOUT_S", "int", 3600, "wall-clock limit of one shard's child process; it is killed after that",
       LEADERBOARD, minimum=1),
    _s("RCLICKS_SHARD_MEMORY_MB", "int", 6144, "resident memory (RSS) limit of one shard's child process, watched by the "
       "backend (`0`: none)", LEADERBOARD, minimum=0),
    _s("RCLICKS_SHARD_ADDRESS_SPACE_MB", "int", 32768, "`RLIMIT_AS` of one shard's child process (`0`: none; CUDA needs "
       "a large address space)", LEADERBOARD, minimum=0),
    _s("RCLICKS_SHARD_INSTANCES", "int", 25, "instances per shard: a dataset × protocol is split into shards of about "
       "this many instances (`0`: never split)", LEADERBOARD, minimum=0),
    _s("RCLICKS_RAY_CPUS_PER_TASK", "int", 1, "CPUs a Ray shard task reserves; also its model's thread budget "
       "(onnxruntime, OpenCV, torch)", LEADERBOARD, minimum=1),
    _s("RCLICKS_LB_SCAN_CACHE", "path", None, "on-disk cache of the table's store scans (`off`, `0` or `none`: no disk "
       "cache)", LEADERBOARD, compute=_default_scan_cache, shown="`$RCLICKS_CACHE/leaderboard-scan`",
       off=("off", "0", "none")),
    _s("BROWSER_PATH", "text", None, "Chromium that kaleido uses for the PNG figures of `rclicks reproduce`",
       LEADERBOARD, shown="the first `chromium` / `google-chrome` on the PATH"),
    # ---- app
    _s("GRADIO_SERVER_NAME", "text", "127.0.0.1", "interface the app binds", APP),
    _s("GRADIO_SERVER_PORT", "int", 7860, "port the app listens on", APP, minimum=1, maximum=65535),
    _s("GRADIO_TEMP_DIR", "path", None, "where Gradio keeps uploads and the Click-yourself downloads", APP,
       shown="the system's temp folder"),
    _s("SPACE_ID", "text", None, "set by Hugging Face Spaces: submitters log in with their HF account", APP),
    _s("RCLICKS_OPERATOR", "text", None, "submitter identity of the Submit tab when there is no Hugging Face login "
       "(unset: a local app refuses to submit)", APP),
    _s("RCLICKS_APP_MAX_SIDE", "int", 1024, "uploaded images with a longer side are downscaled to this, with a notice",
       APP, minimum=1),
    _s("RCLICKS_APP_SAMPLES", "int", 16, "bundled samples in the gallery (GrabCut first, then 4 DAVIS frames)", APP,
       minimum=1),
    _s("RCLICKS_APP_CONCURRENCY", "int", 2, "concurrent jobs of the model queue", APP, minimum=1),
    _s("RCLICKS_APP_MAX_PIXELS", "int", 25_000_000, "uploaded images over this many pixels are refused before decoding",
       APP, minimum=1),
    _s("RCLICKS_APP_MAX_UPLOAD_BYTES", "int", 2_000_000_000, "Gradio refuses uploads over this size before storing them",
       APP, minimum=1),
    _s("RCLICKS_APP_MAX_ZIP_MEMBERS", "int", 64, "members a submitted `.zip` may hold", APP, minimum=1),
    _s("RCLICKS_APP_CACHE_TTL_S", "int", 3600, "Gradio's upload cache is swept this often of files older than this",
       APP, minimum=1),
    _s("RCLICKS_APP_MODEL_WAIT_S", "int", 20, "a request waits at most this long for a shared model, then is told it is "
       "busy", APP, minimum=0),
    _s("RCLICKS_APP_REQUEST_BUDGET_S", "int", 60, "model time one request may use in all (a comparison stops with a "
       "message after it)", APP, minimum=1),
    _s("RCLICKS_APP_HEATMAP_BUDGET_S", "int", 300, "model time one robustness (heatmap) request may use", APP, minimum=1),
    _s("RCLICKS_APP_CI_MAX_ROWS", "int", 2_000_000, "the leaderboard's bootstrap intervals are skipped for stores with "
       "more rows (`0`: never computed)", APP, minimum=0),
    _s("RCLICKS_CLICKS_STORE", "path", Path("hub/clicks"), "folder of consented visitor clicks (RClicks clicks schema, "
       "one parquet part per click)", APP, shown="hub/clicks"),
    _s("RCLICKS_CLICKS_HF_REPO", "text", None, "HF dataset repo the clicks store is pushed to (e.g. "
       "`org/rclicks-visitor-clicks`)", APP),
    _s("RCLICKS_CLICKS_SYNC_MINUTES", "int", 5, "minutes between two pushes of the clicks store to "
       "`RCLICKS_CLICKS_HF_REPO`", APP, minimum=1),
    _s("RCLICKS_REAL_CLICKS", "paths", (), f"real-click tables (RClicks `clicks.csv` / parquet, `{os.pathsep}`-separated) "
       "whose first clicks the Compare tab draws, besides the clicks store", APP, shown="unset"),
)

BY_NAME: dict[str, Setting] = {s.name: s for s in SETTINGS}


def setting(name: str) -> Setting:
    """The declared setting ``name`` (a name not in the table is a programming error, named)."""
    try:
        return BY_NAME[name]
    except KeyError:
        raise KeyError(f"{name} is not declared in rclicks.settings.SETTINGS; add it to the table first") from None


def _typed(name: str, *types: str):
    s = setting(name)
    if s.type not in types:
        raise TypeError(f"{name} is declared as {s.type!r}, not {'/'.join(types)}")
    return s.get()


# ------------------------------------------------------------------------------------------------------ accessors


def integer(name: str) -> int:
    """The integer setting ``name``, bounds checked."""
    return _typed(name, "int")


def text(name: str) -> str | None:
    """The text setting ``name`` (None when unset and without default)."""
    return _typed(name, "text")


def path(name: str) -> Path | None:
    """The path setting ``name`` (``~`` expanded; None when unset without default, or switched off)."""
    return _typed(name, "path")


def flag(name: str) -> bool:
    """The ``0``/``1`` setting ``name``."""
    return _typed(name, "switch")


def items(name: str) -> list[str]:
    """The comma-separated setting ``name``."""
    return list(_typed(name, "list"))


def paths(name: str) -> list[Path]:
    """The ``os.pathsep``-separated setting ``name``."""
    return list(_typed(name, "paths"))


def is_set(name: str) -> bool:
    """Whether ``name`` is set to something other than spaces (its default does not apply)."""
    setting(name)
    return bool((os.environ.get(name) or "").strip())


def data_root() -> Path:
    """Folder of the bundled datasets: ``$RCLICKS_DATA``; else ``../shared/data`` beside the repo when present;
    else the repository's own samples (``assets/samples``), so a clean clone (a Space) serves every tab."""
    return path("RCLICKS_DATA")


def cache_dir() -> Path:
    """Where fetched weights live: ``$RCLICKS_CACHE``, else ``$XDG_CACHE_HOME/rclicks`` (``~/.cache/rclicks``)."""
    return path("RCLICKS_CACHE")


# ------------------------------------------------------------------------------------------------------------ docs


def markdown_table() -> str:
    """The README's configuration table: every variable with its default and what it does, by part."""
    lines = ["| variable | part | default | what it does |", "|---|---|---|---|"]
    for s in SETTINGS:
        default = s.default_text()
        default = default if default.startswith("`") or default in ("unset",) or " " in default else f"`{default}`"
        lines.append(f"| `{s.name}` | {s.part} | {default} | {s.description} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(markdown_table(), end="")
