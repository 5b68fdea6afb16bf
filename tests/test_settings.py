"""rclicks.settings: the one table of environment variables, read only through it, documented from it.

* the README's configuration table is the generated one;
* no module of the project reads the environment except through ``rclicks.settings`` (exceptions named below), and
  every ``RCLICKS_*`` name in the source and the docs is declared;
* a bad value gives one line naming the variable and the fix; empty means unset; defaults are the documented ones;
* importing the settings, the leaderboard and the app's tabs starts no thread and creates no folder.
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from rclicks import settings
from rclicks.errors import RClicksError

ROOT = Path(__file__).resolve().parents[1]
SOURCES = sorted([*(ROOT / "rclicks").rglob("*.py"), *(ROOT / "rclicks_leaderboard").rglob("*.py"),
                  *(ROOT / "rclicks_app").rglob("*.py"), ROOT / "app.py"])

#: Uses of the process environment outside rclicks/settings.py: each sets up a child's or a library's environment
#: (not configuration), so it stays where it is done.
ALLOWED = {
    ("rclicks/threads.py", "OMP_NUM_THREADS/MKL/OPENBLAS"): "thread budget of this worker process",
    ("rclicks_leaderboard/gallery.py", "BROWSER_PATH"): "tells kaleido which Chromium to drive (read through settings)",
}

#: ``RCLICKS_``-prefixed words in the source that are not environment variables.
NOT_VARIABLES = {"RCLICKS_KEYS"}  # rclicks.metrics.benchmark: key columns of a results table

#: The defaults of the modules this table replaced (rclicks/config.py, rclicks_leaderboard/envs.py,
#: rclicks_app/envs.py and the library's stray reads): changing one is a decision, not a drift.
DEFAULTS = {
    "RCLICKS_MAX_PIXELS": 64_000_000, "RCLICKS_PREPARE_MAX_BYTES": 16 * 1024**3, "RCLICKS_MAX_CLICKS_LIMIT": 100,
    "RCLICKS_ORT_SPINNING": False, "RCLICKS_NPM_REGISTRY": "https://registry.npmjs.org",
    "RCLICKS_RESULTS_URL": "./hub/results", "RCLICKS_REQUESTS_URL": "./hub/requests", "RCLICKS_MODELS_URL": "./hub/models",
    "RCLICKS_LOGS_DIR": Path("./hub/logs"), "HF_TOKEN": None, "RCLICKS_MAX_SUBMISSION_BYTES": 2_000_000_000,
    "RCLICKS_MAX_PENDING": 3, "RCLICKS_HEARTBEAT_TIMEOUT_S": 600, "RCLICKS_MAX_ATTEMPTS": 3,
    "RCLICKS_LB_DATASETS": ("grabcut", "davis"), "RCLICKS_LB_PROTOCOLS": ("groups",), "RCLICKS_LB_ATTACKS": False,
    "RCLICKS_LB_ATTACK_DATASETS": ("grabcut",), "RCLICKS_LB_ATTACK_CLICKS": 10, "RCLICKS_LB_HEATMAP_STRIDE": 16, "RCLICKS_LB_KEEP_MASKS": (), "RCLICKS_LB_MAX_CLICKS": 20,
    "RCLICKS_LB_SEED": 0, "RCLICKS_SHARD_TIMEOUT_S": 3600, "RCLICKS_SHARD_MEMORY_MB": 6144,
    "RCLICKS_SHARD_ADDRESS_SPACE_MB": 32768, "RCLICKS_SHARD_INSTANCES": 25, "RCLICKS_RAY_CPUS_PER_TASK": 1,
    "BROWSER_PATH": None, "GRADIO_SERVER_NAME": "127.0.0.1", "GRADIO_SERVER_PORT": 7860, "GRADIO_TEMP_DIR": None,
    "SPACE_ID": None, "RCLICKS_OPERATOR": None, "RCLICKS_APP_MAX_SIDE": 1024, "RCLICKS_APP_SAMPLES": 16,
    "RCLICKS_APP_CONCURRENCY": 2, "RCLICKS_APP_MAX_PIXELS": 25_000_000, "RCLICKS_APP_MAX_UPLOAD_BYTES": 2_000_000_000,
    "RCLICKS_APP_MAX_ZIP_MEMBERS": 64, "RCLICKS_APP_CACHE_TTL_S": 3600, "RCLICKS_APP_MODEL_WAIT_S": 20,
    "RCLICKS_APP_REQUEST_BUDGET_S": 60, "RCLICKS_APP_HEATMAP_BUDGET_S": 300, "RCLICKS_APP_CI_MAX_ROWS": 2_000_000,
    "RCLICKS_CLICKS_STORE": Path("hub/clicks"), "RCLICKS_CLICKS_HF_REPO": None, "RCLICKS_CLICKS_SYNC_MINUTES": 5,
    "RCLICKS_REAL_CLICKS": (),
}
#: Computed defaults (checked below with a controlled environment).
COMPUTED = {"RCLICKS_DATA", "RCLICKS_CACHE", "XDG_CACHE_HOME", "RCLICKS_SHIPPED_RESULTS", "RCLICKS_LB_SCAN_CACHE"}


@pytest.fixture
def clean(monkeypatch):
    for s in settings.SETTINGS:
        monkeypatch.delenv(s.name, raising=False)
    return monkeypatch


# ------------------------------------------------------------------------------------------------ the README table


def _readme_table() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    m = re.search(r"<!-- settings table:[^\n]*-->\n(.*?)<!-- end of settings table -->", text, flags=re.S)
    assert m, "README.md has no generated settings table (markers missing)"
    return m.group(1)


def test_the_readme_table_is_the_generated_one():
    assert _readme_table() == settings.markdown_table(), "regenerate it: python -m rclicks.settings"


def test_the_table_is_complete_and_unique():
    names = [s.name for s in settings.SETTINGS]
    assert len(names) == len(set(names)) and len(names) >= 50
    for s in settings.SETTINGS:
        assert s.part in (settings.LIBRARY, settings.LEADERBOARD, settings.APP), s.name
        assert s.type in ("int", "switch", "text", "path", "list", "paths"), s.name
        assert s.description and "\n" not in s.description and "|" not in s.description, s.name
    assert set(names) == set(DEFAULTS) | COMPUTED


def test_other_docs_point_to_the_readme_table_instead_of_repeating_it():
    for doc in ("docs/app.md", "rclicks_leaderboard/README.md"):
        text = (ROOT / doc).read_text(encoding="utf-8")
        assert "README.md#configuration" in text, doc
        assert "| variable | default |" not in text and "| default |" not in text, f"{doc} repeats the defaults"


# ----------------------------------------------------------------------------------- read only through the module


def _environ_uses(path: Path) -> list[tuple[int, str]]:
    """(line, what) for every use of the process environment in ``path`` (``os.environ``, ``os.getenv``)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    out = []
    for node in ast.walk(tree):
        is_environ = isinstance(node, ast.Attribute) and node.attr in ("environ", "getenv", "environb") \
            and isinstance(node.value, ast.Name) and node.value.id == "os"
        is_environ |= isinstance(node, ast.Name) and node.id in ("environ", "getenv")
        if not is_environ:
            continue
        parent = parents.get(node)
        if isinstance(parent, ast.Subscript) and isinstance(parent.ctx, ast.Store):
            out.append((node.lineno, "write"))
        else:
            out.append((node.lineno, "read"))
    return sorted(out)


def test_no_module_reads_the_environment_except_settings():
    offenders = []
    writes = {}
    for path in SOURCES:
        rel = path.relative_to(ROOT).as_posix()
        if rel == "rclicks/settings.py":
            continue
        for line, what in _environ_uses(path):
            if what == "read":
                offenders.append(f"{rel}:{line}: reads the environment; declare the variable in rclicks/settings.py")
            else:
                writes.setdefault(rel, []).append(line)
    assert offenders == []
    assert sorted(writes) == sorted(p for p, _ in ALLOWED), f"unexplained environment writes: {writes}"


def test_the_checker_sees_reads():
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        f = Path(tmp) / "m.py"
        f.write_text("import os\nfrom os import environ\na = os.environ.get('RCLICKS_X')\nb = os.getenv('Y')\n"
                     "c = os.environ['Z']\nos.environ['W'] = '1'\nd = 'V' in environ\n")
        assert _environ_uses(f) == [(3, "read"), (4, "read"), (5, "read"), (6, "write"), (7, "read")]


def _names(text: str) -> set[str]:
    return {m for m in re.findall(r"\bRCLICKS_[A-Z0-9_]*[A-Z0-9]\b", text)} - NOT_VARIABLES


def test_every_rclicks_name_in_the_source_and_docs_is_declared():
    docs = [ROOT / "README.md", ROOT / "rclicks_leaderboard" / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    undeclared = {}
    for path in [*SOURCES, *docs, *sorted((ROOT / "benchmarks").glob("*.py"))]:
        for name in sorted(_names(path.read_text(encoding="utf-8")) - set(settings.BY_NAME)):
            undeclared.setdefault(name, []).append(path.relative_to(ROOT).as_posix())
    assert undeclared == {}


def test_removed_configuration_modules_stay_removed():
    assert not (ROOT / "rclicks" / "config.py").exists() and not (ROOT / "rclicks_app" / "envs.py").exists()


# -------------------------------------------------------------------------------------------------- values


@pytest.mark.parametrize("name", [s.name for s in settings.SETTINGS if s.name in DEFAULTS])
def test_defaults_are_the_documented_ones(clean, name):
    s = settings.setting(name)
    assert s.get() == DEFAULTS[name]
    documented = {r.split(" | ")[0].strip("| `"): r.split(" | ")[2] for r in settings.markdown_table().splitlines()[2:]}
    assert s.default_text() in documented[name]


def test_computed_defaults(clean, tmp_path):
    clean.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert settings.cache_dir() == tmp_path / "xdg" / "rclicks"
    assert settings.path("RCLICKS_LB_SCAN_CACHE") == tmp_path / "xdg" / "rclicks" / "leaderboard-scan"
    clean.setenv("RCLICKS_CACHE", "~/c")
    assert settings.cache_dir() == Path.home() / "c"
    clean.delenv("XDG_CACHE_HOME")
    clean.delenv("RCLICKS_CACHE")
    assert settings.cache_dir() == Path.home() / ".cache" / "rclicks"
    expected = settings.REPO_ROOT.parent / "shared" / "data"
    assert settings.data_root() == (expected if expected.is_dir() or not settings.SAMPLES_ROOT.is_dir()
                                    else settings.SAMPLES_ROOT)
    clean.setenv("RCLICKS_DATA", str(tmp_path))
    assert settings.data_root() == tmp_path and settings.is_set("RCLICKS_DATA")
    assert settings.path("RCLICKS_SHIPPED_RESULTS") == (settings.CHECKOUT_RESULTS if settings.CHECKOUT_RESULTS.is_dir()
                                                         else None)


def test_configuration_objects_match_their_dataclass_defaults(clean):
    from rclicks_leaderboard import envs

    assert envs.limits() == envs.Limits()
    assert envs.shard_limits() == envs.ShardLimits()
    assert envs.eval_config() == envs.EvalConfig()


def test_values_are_read_when_called(clean, tmp_path):
    assert settings.integer("RCLICKS_APP_MAX_SIDE") == 1024
    clean.setenv("RCLICKS_APP_MAX_SIDE", " 400 ")
    assert settings.integer("RCLICKS_APP_MAX_SIDE") == 400
    clean.setenv("RCLICKS_APP_MAX_SIDE", "   ")  # empty or spaces: unset
    assert settings.integer("RCLICKS_APP_MAX_SIDE") == 1024
    clean.setenv("RCLICKS_LB_DATASETS", " davis, ,berkeley ")
    assert settings.items("RCLICKS_LB_DATASETS") == ["davis", "berkeley"]
    clean.setenv("RCLICKS_REAL_CLICKS", os.pathsep.join([str(tmp_path / "a.csv"), "", str(tmp_path / "b")]))
    assert settings.paths("RCLICKS_REAL_CLICKS") == [tmp_path / "a.csv", tmp_path / "b"]
    clean.setenv("RCLICKS_ORT_SPINNING", "1")
    assert settings.flag("RCLICKS_ORT_SPINNING") is True
    for off in ("off", "0", "None"):
        clean.setenv("RCLICKS_LB_SCAN_CACHE", off)
        assert settings.path("RCLICKS_LB_SCAN_CACHE") is None
    clean.setenv("RCLICKS_OPERATOR", "  ops-team ")
    assert settings.text("RCLICKS_OPERATOR") == "ops-team"


def _bad(s: settings.Setting) -> list[str]:
    if s.type == "int":
        out = ["abc", "1.5"]
        if s.minimum is not None:
            out.append(str(s.minimum - 1))
        if s.maximum is not None:
            out.append(str(s.maximum + 1))
        return out
    return ["yes", "true", "2"] if s.type == "switch" else []


@pytest.mark.parametrize("name", [s.name for s in settings.SETTINGS if _bad(s)])
def test_bad_values_give_one_line_naming_the_variable_and_the_fix(clean, name):
    s = settings.setting(name)
    for raw in _bad(s):
        clean.setenv(name, raw)
        with pytest.raises(RClicksError) as info:
            s.get()
        msg = str(info.value)
        assert msg.startswith(f"{name}={raw!r}: expected ") and "\n" not in msg, msg
        assert f"unset it (default {s.default_text()})" in msg, msg


def test_the_error_reads_as_documented(clean):
    clean.setenv("RCLICKS_APP_MAX_PIXELS", "abc")
    with pytest.raises(RClicksError) as info:
        settings.integer("RCLICKS_APP_MAX_PIXELS")
    assert str(info.value) == "RCLICKS_APP_MAX_PIXELS='abc': expected an integer ≥ 1; set it to one or unset it (default 25000000)"
    clean.setenv("GRADIO_SERVER_PORT", "70000")
    with pytest.raises(RClicksError, match="GRADIO_SERVER_PORT='70000': expected an integer from 1 to 65535"):
        settings.integer("GRADIO_SERVER_PORT")


def test_undeclared_names_and_wrong_types_are_programming_errors():
    with pytest.raises(KeyError, match="RCLICKS_NOPE is not declared"):
        settings.integer("RCLICKS_NOPE")
    with pytest.raises(TypeError, match="RCLICKS_RESULTS_URL is declared as 'text'"):
        settings.integer("RCLICKS_RESULTS_URL")


def test_bad_values_reach_the_callers_as_one_line(clean):
    """Through the configuration objects and the library too (the CLI prints RClicksError as one line)."""
    from rclicks.data.io import max_pixels
    from rclicks_leaderboard import envs

    clean.setenv("RCLICKS_SHARD_TIMEOUT_S", "0")
    with pytest.raises(RClicksError, match="RCLICKS_SHARD_TIMEOUT_S='0': expected an integer ≥ 1"):
        envs.shard_limits()
    clean.setenv("RCLICKS_MAX_PIXELS", "lots")
    with pytest.raises(RClicksError, match="RCLICKS_MAX_PIXELS='lots'"):
        max_pixels()


# ---------------------------------------------------------------------------------------------- no side effects


def test_importing_settings_leaderboard_and_app_starts_no_thread_and_creates_nothing(tmp_path):
    code = ("import threading\n"
            "import rclicks.settings, rclicks_leaderboard.envs, rclicks_leaderboard.backend, rclicks_leaderboard.table\n"
            "import rclicks_app.pool, rclicks_app.samples\n"
            "import rclicks_app.tabs.click_yourself, rclicks_app.tabs.compare, rclicks_app.tabs.submit\n"
            "import rclicks_app.tabs.leaderboard_tab, rclicks_app.tabs.paper_tab\n"
            "print(threading.active_count(), sorted(t.name for t in threading.enumerate()))\n")
    home = tmp_path / "home"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HOME": str(home), "XDG_CACHE_HOME": str(home / ".cache"),
           "RCLICKS_CLICKS_HF_REPO": "org/never-pushed"}
    env.pop("RCLICKS_CACHE", None)
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "1 ['MainThread']", out.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == [], "importing created files or folders"


def test_without_shipped_results_the_app_tabs_say_so_in_one_line(clean, tmp_path):
    gr = pytest.importorskip("gradio")
    from rclicks_app.tabs import leaderboard_tab, paper_tab

    clean.setenv("RCLICKS_SHIPPED_RESULTS", str(tmp_path / "absent"))
    clean.chdir(tmp_path)  # no ./hub/results
    table, messages = leaderboard_tab.load_table()
    assert table.empty and len(messages) == 1 and messages[0].startswith("RCLICKS_SHIPPED_RESULTS=")
    items, problem = paper_tab.artefacts()
    assert items == [] and problem.startswith("RCLICKS_SHIPPED_RESULTS=") and "\n" not in problem
    with gr.Blocks():
        leaderboard_tab.build()  # an empty table with the notice, not a traceback
        paper_tab.build()
