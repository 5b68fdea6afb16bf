"""Write artefacts (``rclicks_leaderboard.artefacts``) to a folder: CSV + Markdown + LaTeX per table, interactive HTML + static
PNG per figure, and an ``index.html`` gallery captioning each with its paper reference, the command and the data.

PNGs come from plotly's image export (kaleido 1.x), which drives a Chrome/Chromium: when
``BROWSER_PATH`` is unset the first of ``chromium``, ``chromium-browser``, ``google-chrome``
on ``PATH`` is used (Debian's Chromium is ``/usr/bin/chromium``). All figures are exported
in one browser session (``plotly.io.write_images``), MathJax off, so it costs seconds.
"""

from __future__ import annotations

import html
import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd

from rclicks_leaderboard.artefacts import Artefact


def cell(v) -> str:
    """A table cell as the Markdown and LaTeX tables print it: floats to 4 significant digits (whole
    numbers whole), NaN as ``—`` (the CSV keeps every digit)."""
    if isinstance(v, (float, np.floating)):
        if np.isnan(v):
            return "—"
        return str(int(v)) if float(v).is_integer() and abs(v) < 1e15 else f"{v:.4g}"
    return str(v)


def markdown(table: pd.DataFrame) -> str:
    """A GitHub-flavoured Markdown table of ``table``, cells as :func:`cell` prints them."""
    from rclicks_leaderboard.paper import markdown as md

    t = _flat(table)
    return md(pd.DataFrame([[cell(v) for v in row] for row in t.itertuples(index=False)], columns=t.columns))


def latex(table: pd.DataFrame) -> str:
    """A booktabs-free LaTeX tabular of ``table`` (cells as :func:`cell` prints them, escaped; ± and Δ as math)."""
    t = _flat(table)

    def esc(v) -> str:
        s = cell(v)
        s = s.replace("\\", "\0")
        for a, b in (("&", r"\&"), ("%", r"\%"), ("_", r"\_"), ("#", r"\#"), ("$", r"\$"), ("{", r"\{"), ("}", r"\}")):
            s = s.replace(a, b)
        s = s.replace("\0", r"\textbackslash{}")
        return s.replace("±", r"$\pm$").replace("Δ", r"$\Delta$").replace("ρ", r"$\rho$").replace("—", "--")

    cols = list(t.columns)
    lines = [r"\begin{tabular}{" + "l" * len(cols) + "}", r"\hline", " & ".join(esc(c) for c in cols) + r" \\", r"\hline"]
    lines += [" & ".join(esc(v) for v in row) + r" \\" for row in t.itertuples(index=False)]
    lines += [r"\hline", r"\end{tabular}", ""]
    return "\n".join(lines)


def _flat(table: pd.DataFrame) -> pd.DataFrame:
    return table.reset_index() if table.index.name is not None or isinstance(table.index, pd.MultiIndex) else table


def configure_image_export() -> str | None:
    """Point kaleido at a Chromium when ``BROWSER_PATH`` is unset; return the browser path used (None: none found)."""
    from rclicks import settings

    browser = settings.text("BROWSER_PATH")
    if browser:
        return browser
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome"):
        exe = shutil.which(name)
        if exe:
            os.environ["BROWSER_PATH"] = exe  # kaleido's own variable: setting up its environment, not configuration
            return exe
    return None


def write_pngs(figs: list, paths: list[str]) -> str | None:
    """Export ``figs`` as PNG to ``paths`` in one browser session; return None, or why it failed."""
    if not figs:
        return None
    try:
        import plotly.io as pio

        configure_image_export()
        pio.defaults.mathjax = None  # MathJax is not used; loading it costs a second per figure
        # the figures' own sizes (write_images would use plotly's 700 × 500 default)
        width = [int(f.layout.width or 900) for f in figs]
        height = [int(f.layout.height or 500) for f in figs]
        pio.write_images(figs, paths, format="png", scale=2, width=width, height=height)
        return None
    except Exception as exc:  # kaleido or the browser is missing/broken: the HTML figures still stand
        return f"PNG export failed ({type(exc).__name__}: {str(exc).strip().splitlines()[0][:160] if str(exc).strip() else ''}); " \
               "install kaleido and Chromium (apt-get install chromium) or set BROWSER_PATH"


def write_gallery(artefacts: list[Artefact], out_dir: str | os.PathLike, command: str, data: str) -> tuple[list[str], list[str]]:
    """Write every artefact's files and ``index.html`` into ``out_dir``; return (files written, notes)."""
    from rclicks_leaderboard._fs import write_bytes_atomic

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written: list[str] = []
    notes: list[str] = []
    figs, pngs = [], []
    files: dict[str, list[str]] = {}

    def put(path: Path, text: str) -> None:
        write_bytes_atomic(str(path), text.encode())
        written.append(str(path))
        files.setdefault(current, []).append(path.name)

    have_js = False
    for a in artefacts:
        current = a.key
        if a.skipped:
            notes.append(f"{a.paper} {a.ref} ({a.key}) skipped: {a.note}")
            continue
        for stem, table in a.tables.items():
            index = table.index.name is not None or isinstance(table.index, pd.MultiIndex)
            put(out / f"{stem}.csv", table.to_csv(index=index))
            put(out / f"{stem}.md", markdown(table))
            put(out / f"{stem}.tex", latex(table))
        if a.figure is not None:
            if not have_js:
                import plotly.offline

                write_bytes_atomic(str(out / "plotly.min.js"), plotly.offline.get_plotlyjs().encode())
                have_js = True
            put(out / f"{a.key}.html", a.figure.to_html(include_plotlyjs="plotly.min.js", full_html=True))
            figs.append(a.figure)
            pngs.append(str(out / f"{a.key}.png"))
    failed = write_pngs(figs, pngs)
    if failed:
        notes.append(failed)
    else:
        for a, p in zip([a for a in artefacts if a.figure is not None and not a.skipped], pngs):
            written.append(p)
            files.setdefault(a.key, []).append(Path(p).name)
    index = out / "index.html"
    write_bytes_atomic(str(index), index_html(artefacts, files, command, data, notes).encode())
    written.append(str(index))
    return written, notes


_CSS = """
body{font-family:'DejaVu Sans',Arial,sans-serif;max-width:1200px;margin:2em auto;padding:0 1em;color:#222;line-height:1.45}
h1{font-size:1.6em} h2{font-size:1.3em;border-bottom:2px solid #0072B2;padding-bottom:.2em;margin-top:2em}
figure{margin:1.2em 0;padding:1em;border:1px solid #ddd;border-radius:6px;background:#fafafa}
figure img{max-width:100%;height:auto;background:white} figcaption{font-size:.95em}
.ref{font-weight:bold;color:#0072B2} .skip{color:#7a4b00;background:#fff6e5;padding:.6em 1em;border-radius:6px;margin:.6em 0}
code{background:#eee;padding:0 .25em;border-radius:3px;font-size:.92em} .files a{margin-right:.8em}
table.preview{border-collapse:collapse;font-size:.85em;margin:.6em 0;display:block;overflow-x:auto}
table.preview td,table.preview th{border:1px solid #ccc;padding:.2em .5em;white-space:nowrap}
"""


def index_html(artefacts: list[Artefact], files: dict[str, list[str]], command: str, data: str, notes: list[str]) -> str:
    """The gallery page: per paper, each artefact's PNG (linked to its interactive HTML), caption, files, or its note."""
    e = html.escape
    parts = ["<!doctype html><html><head><meta charset='utf-8'><title>rclicks — paper artefacts</title>",
             f"<style>{_CSS}</style></head><body>", "<h1>Paper tables and figures, regenerated from a results store</h1>",
             f"<p>Command: <code>{e(command)}</code><br>Data: <code>{e(data)}</code><br>Every number comes from the results "
             "table through <code>rclicks.metrics</code>; no model is re-run. See <code>docs/reproduce.md</code>.</p>"]
    for paper in dict.fromkeys(a.paper for a in artefacts):
        parts.append(f"<h2>{e(paper)}</h2>")
        for a in (a for a in artefacts if a.paper == paper):
            head = f"<span class='ref'>{e(a.paper)} — {e(a.ref)}</span>: {e(a.title)}"
            if a.skipped:
                parts.append(f"<div class='skip' id='{e(a.key)}'>{head}<br><b>Not produced:</b> {e(a.note or '')}</div>")
                continue
            names = files.get(a.key, [])
            parts.append(f"<figure id='{e(a.key)}'>")
            if f"{a.key}.png" in names:
                parts.append(f"<a href='{e(a.key)}.html'><img src='{e(a.key)}.png' alt='{e(a.title)}'></a>")
            elif f"{a.key}.html" in names:
                parts.append(f"<p><a href='{e(a.key)}.html'>interactive figure</a> (no PNG: see the notes)</p>")
            for stem, table in a.tables.items():
                if a.figure is None:
                    parts.append(_preview(table))
            links = " ".join(f"<a href='{e(n)}'>{e(n)}</a>" for n in names)
            parts.append(f"<figcaption>{head}. {e(a.caption)}<br>Data: {e(a.data or data)}. "
                         f"Command: <code>{e(command)}</code><br><span class='files'>{links}</span></figcaption></figure>")
    if notes:
        parts.append("<h2>Notes</h2><ul>" + "".join(f"<li>{e(n)}</li>" for n in notes) + "</ul>")
    parts.append("</body></html>")
    return "\n".join(parts)


def _preview(table: pd.DataFrame, rows: int = 12) -> str:
    t = _flat(table).head(rows)
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in t.columns)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(cell(v))}</td>" for v in r) + "</tr>" for r in t.itertuples(index=False))
    more = f"<p>… {len(table) - rows} more rows in the CSV</p>" if len(table) > rows else ""
    return f"<table class='preview'><tr>{head}</tr>{body}</table>{more}"


def _write_csv(df: pd.DataFrame, path: Path, written: list[str]) -> None:
    from rclicks_leaderboard._fs import write_bytes_atomic

    write_bytes_atomic(str(path), df.to_csv(index=isinstance(df.index, pd.MultiIndex) or df.index.name is not None).encode())
    written.append(str(path))


def reproduce(df: pd.DataFrame, out_dir: str | os.PathLike, *, clicks: pd.DataFrame | None = None,
              heatmaps: str | os.PathLike | None = None, command: str | None = None,
              data: str | None = None, scribbles: list | None = None) -> tuple[list[str], list[str]]:
    """Write every paper artefact for the results ``df`` into ``out_dir`` (``rclicks_leaderboard.artefacts``, written by
    :func:`write_gallery`, plus ``baseline_table.csv``); return (files written, notes, one per artefact skipped)."""
    from rclicks.errors import RClicksError
    from rclicks_leaderboard.artefacts import build_artefacts
    from rclicks_leaderboard.paper import baseline_table

    if df.empty:
        raise RClicksError("results table is empty: nothing to reproduce")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written: list[str] = []
    _write_csv(baseline_table(df), out / "baseline_table.csv", written)
    artefacts = build_artefacts(df, clicks=clicks, heatmaps=heatmaps, scribbles=scribbles)
    files, notes = write_gallery(artefacts, out, command or f"rclicks reproduce --out {out}", data or "results table")
    return written + files, notes
