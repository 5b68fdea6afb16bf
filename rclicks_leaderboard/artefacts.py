"""Every table and figure of the five papers, built from a results table through the one metrics layer.

Each artefact is a function of :class:`Inputs` (the results table, optionally a clicks
table and a folder of heatmap files) returning an :class:`Artefact`: its tables (pandas)
and its figure (plotly), or a ``note`` saying why the data do not allow it. Numbers come
from ``rclicks.metrics`` (``summarize``, ``per_click_curve``, ``human_axis``,
``ambiguity``, ``rclicks_table``/``paper_table``, ``instance_nsr``, ``bootstrap``) and
``rclicks.attacks.adversarial.attack_summary``; nothing here re-runs a model and no
number is computed twice. ``rclicks_leaderboard.gallery`` writes them (``rclicks reproduce``),
``rclicks_app/tabs/paper_tab.py`` shows them in the app.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd

RCLICKS, TETRIS, IPOL, PSEUDO, DISNET, EXTRA = (
    "RClicks (NeurIPS 2024)", "TETRIS (AAAI 2024)", "IPOL 2024", "PseudoClick (ECCV 2022)", "DISNet (first-click ambiguity)",
    "Beyond the papers")
GROUPS = tuple(f"g{i}" for i in range(1, 11))
ADV = ("adv_min", "adv_max")
#: Clicker names of replayed real first clicks (``rclicks.clicks.replay`` writes ``replay``; ``real``: older stores).
REAL_CLICKERS = ("replay", "real")
#: Okabe–Ito: distinguishable with the common colour-vision deficiencies.
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"]
COUNT_METRICS = ("iou", "dice", "precision", "recall", "accuracy", "fscore")


@dataclass
class Artefact:
    """One paper artefact: ``tables`` (file stem → table), ``figure`` (plotly) or ``note`` (why it was skipped)."""

    key: str
    paper: str
    ref: str
    title: str
    caption: str = ""
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    figure: Any = None
    note: str | None = None
    data: str = ""

    @property
    def skipped(self) -> bool:
        return self.figure is None and not self.tables


@dataclass
class Inputs:
    """What the artefacts are built from. ``df``: long-form results (``rclicks.results.SCHEMA``); ``clicks``: a real-clicks
    table (``rclicks.clicks.CLICKS_SCHEMA``) or None; ``heatmaps``: a folder of ``rclicks heatmap`` outputs (``.npy`` + ``.json``)."""

    df: pd.DataFrame
    clicks: pd.DataFrame | None = None
    heatmaps: str | os.PathLike | None = None
    scribbles: list | None = None  # folders of real GrabCut scribbles (``<image>-anno.png``) for the click-map table

    def __post_init__(self) -> None:
        df = self.df.copy()
        for c in ("model", "dataset", "clicker", "policy", "instance", "clickmap"):
            df[c] = df[c].astype(str)
        self.df = df

    @cached_property
    def summary(self) -> pd.DataFrame:
        from rclicks.metrics.curves import summarize

        return summarize(self.df)

    @cached_property
    def curves(self) -> pd.DataFrame:
        from rclicks.metrics.curves import per_click_curve

        return per_click_curve(self.df, metrics=COUNT_METRICS + ("biou",))

    @cached_property
    def rc(self) -> pd.DataFrame:
        from rclicks_leaderboard.paper import rclicks_table

        return rclicks_table(self.df)

    @cached_property
    def groups(self) -> pd.DataFrame:
        return self.df[self.df["group"].between(1, 10)]

    @cached_property
    def robots(self) -> list[str]:
        """Clickers that are robots (baseline, IPOL robots): not groups, not attacks, not real clicks, not heatmap positions."""
        from rclicks.metrics.robustness import HEATMAP_CLICKER

        names = set(self.df["clicker"]) - set(GROUPS) - set(ADV) - set(REAL_CLICKERS) - {HEATMAP_CLICKER}
        return sorted(n for n in names if not re.match(r"^g\d+@", n))

    @cached_property
    def oracle(self) -> tuple[str, ...]:
        from rclicks.models.multimask import ORACLE_POLICIES

        return tuple(ORACLE_POLICIES)


# ---- style ---------------------------------------------------------------------------------------------------


def style(fig, title: str, height: int | None = None, width: int | None = None):
    """The one figure style: white, 14 px DejaVu Sans, Okabe–Ito colours, facet titles without ``name=``."""
    fig.update_layout(template="plotly_white", colorway=PALETTE, title={"text": title, "x": 0.01, "font": {"size": 17}},
                      font={"family": "DejaVu Sans, Arial, sans-serif", "size": 14}, margin={"l": 70, "r": 30, "t": 80, "b": 60},
                      legend={"title": {"font": {"size": 13}}, "font": {"size": 13}})
    if height:
        fig.update_layout(height=height)
    if width:
        fig.update_layout(width=width)
    fig.for_each_annotation(lambda a: a.update(text=a.text.split("=", 1)[-1]) if a.text and "=" in a.text else None)
    # plotly express assigns its own default colours per trace: map them onto the palette
    from plotly.colors import qualitative

    remap = {c.lower(): PALETTE[i % len(PALETTE)] for i, c in enumerate(qualitative.Plotly)}

    def recolor(t) -> None:
        for part in ("line", "marker"):
            obj = getattr(t, part, None)
            if obj is not None and isinstance(getattr(obj, "color", None), str) and obj.color.lower() in remap:
                obj.color = remap[obj.color.lower()]

    fig.for_each_trace(recolor)
    return fig


def _panel_size(n_rows: int, n_cols: int, row_h: int = 300, col_w: int = 330) -> dict:
    return {"height": 140 + row_h * max(n_rows, 1), "width": max(700, 120 + col_w * max(n_cols, 1))}


def _natural(name: str) -> tuple:
    return (name != "baseline", [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", str(name))])


def _wrap(n: int, limit: int = 4) -> int | None:
    return limit if n > limit else None


# ---- RClicks ---------------------------------------------------------------------------------------------------


def rclicks_tables(inp: Inputs) -> list[Artefact]:
    from rclicks.metrics.benchmark import paper_table

    refs = {"main": ("Tab. 4", "Main benchmark: Sample NoC@90 ± std, ΔSB %, ΔGR % per dataset"),
            "noc": ("Tab. 9 (suppl.)", "NoC@90: Sample ± std, Base, ΔSB %, ΔGR %, ΔHH %"),
            "nof": ("Tab. 10 (suppl.)", "NoF@90: Sample ± std, Base, ΔSB, ΔGR, ΔHH (instances)"),
            "iou": ("Tab. 11 (suppl.)", "IoU = IoU-AuC over all clicks (%), NSR %")}
    out = []
    for which, (ref, title) in refs.items():
        a = Artefact(f"rclicks_{which}", RCLICKS, ref, title, data="baseline + clicking groups g1..g10",
                     caption="`rclicks.metrics.benchmark.paper_table` of `rclicks_table` (the authors' notebook formulas); "
                             "models as rows, per dataset the paper's columns.")
        if inp.rc.empty:
            a.note = "needs the baseline and all ten clicking groups on every instance (rclicks evaluate --clicker groups)"
        else:
            table = paper_table(inp.rc, which)
            if which == "main":
                table = _with_intervals(table, inp.df)
                a.caption += (" `… 95 % CI`: percentile-bootstrap interval of the mean Sample NoC@90 over instances "
                              "(`rclicks.metrics.bootstrap.mean_intervals`, default click map).")
            a.tables = {f"rclicks_{which}": table}
            if which == "main":
                a.tables["table"] = inp.rc
        out.append(a)
    return out


def _with_intervals(table: pd.DataFrame, df: pd.DataFrame) -> pd.DataFrame:
    """The paper-layout main table with, after each dataset's Sample NoC@90, its 95 % bootstrap interval
    (``mean_intervals``; rows of the default click map only, "—" elsewhere)."""
    from rclicks.metrics.benchmark import DEFAULT_CLICKMAP
    from rclicks.metrics.bootstrap import mean_intervals

    ci = mean_intervals(df) if len(table) else pd.DataFrame()
    if ci.empty or "Sample NoC@90 lo" not in ci:
        return table
    keys = ["model", "policy", "max_clicks", "dataset"]
    ci = ci.assign(**{k: ci[k].astype(int if k == "max_clicks" else str) for k in keys}).set_index(keys)
    by = {key: (lo, hi) for key, lo, hi in zip(ci.index, ci["Sample NoC@90 lo"], ci["Sample NoC@90 hi"])}
    out = table.copy()
    for col in [c for c in table.columns if c.endswith(" Sample NoC@90")]:
        ds = col[: -len(" Sample NoC@90")]
        values = []
        for _, r in table.iterrows():
            lo, hi = by.get((str(r["model"]), str(r.get("policy", "")), int(r.get("max_clicks", 0)), ds), (np.nan, np.nan))
            default = str(r.get("clickmap", DEFAULT_CLICKMAP)) == DEFAULT_CLICKMAP
            values.append(f"[{lo:.2f}, {hi:.2f}]" if default and np.isfinite(lo) else "—")
        out.insert(out.columns.get_loc(col) + 1, f"{ds} Sample NoC@90 95 % CI", values)
    return out


def iou_band(inp: Inputs) -> Artefact:
    """IoU per click: the baseline as a line, the ten clicking groups as their mean ± std band (std over the group curves)."""
    a = Artefact("iou_curves", RCLICKS, "Fig. 6", "IoU per click: baseline vs clicking groups (mean ± std band)",
                 data="per_click_curve over baseline and g1..g10",
                 caption="Line: mean IoU of the baseline robot after each click. Band: mean ± std (ddof 0) over the ten "
                         "clicking groups' mean-IoU curves.")
    c = inp.curves
    cols = ["model", "dataset", "clicker", "policy", "max_clicks", "click", "iou", "biou"]
    a.tables = {"iou_curves": c[cols]}
    base = c[c["clicker"] == "baseline"]
    grp = c[c["clicker"].isin(GROUPS)]
    if base.empty and grp.empty:
        a.note, a.tables = "needs baseline or clicking-group rows", {}
        return a
    keys = ["model", "dataset", "policy", "max_clicks", "click"]
    band = grp.groupby(keys, observed=True)["iou"].agg(groups_mean="mean", groups_std=lambda s: s.std(ddof=0)).reset_index()
    merged = base[keys + ["iou"]].rename(columns={"iou": "baseline"}).merge(band, on=keys, how="outer")
    a.tables["iou_band"] = merged
    a.figure = _band_figure(merged)
    return a


def _band_figure(band: pd.DataFrame):
    from plotly.subplots import make_subplots
    import plotly.graph_objects as go

    models = sorted(band["model"].unique())
    datasets = sorted(band["dataset"].unique())
    # one line per (policy, click budget): runs of different lengths are different curves; the default policy first
    policies = sorted(band["policy"].astype(str).unique(), key=lambda p: (p != "single", p))
    budgets = sorted(band["max_clicks"].unique(), reverse=True)
    many_p, many_b = len(policies) > 1, len(budgets) > 1
    colours = [PALETTE[i] for i in (0, 2, 3, 4, 5, 7, 6)]
    fig = make_subplots(rows=len(datasets), cols=len(models), shared_xaxes=True, shared_yaxes=True,
                        column_titles=models, row_titles=datasets, horizontal_spacing=0.03, vertical_spacing=0.08)
    shown: set[str] = set()

    def legend(name: str) -> dict:
        first = name not in shown
        shown.add(name)
        return {"name": name, "legendgroup": name, "showlegend": first}

    for i, ds in enumerate(datasets, 1):
        for j, m in enumerate(models, 1):
            sub = band[(band["dataset"] == ds) & (band["model"] == m)]
            for (pol, mc), part in sub.groupby(["policy", "max_clicks"], sort=True, observed=True):
                part = part.sort_values("click")
                tags = ([str(pol)] if many_p else []) + ([f"{int(mc)} clicks"] if many_b else [])
                suffix = f" ({', '.join(tags)})" if tags else ""
                color = colours[policies.index(str(pol)) % len(colours)]
                dash = "solid" if mc == budgets[0] else "dot"
                if part["groups_mean"].notna().any():
                    lo, hi = part["groups_mean"] - part["groups_std"], part["groups_mean"] + part["groups_std"]
                    fig.add_trace(go.Scatter(x=list(part["click"]) + list(part["click"][::-1]), y=list(hi) + list(lo[::-1]),
                                             fill="toself", fillcolor="rgba(230,159,0,0.25)", line={"width": 0}, mode="lines",
                                             hoverinfo="skip", **legend("groups mean ± std" + suffix)), i, j)
                    fig.add_trace(go.Scatter(x=part["click"], y=part["groups_mean"], line={"color": PALETTE[1], "dash": "dash"},
                                             mode="lines", **legend("groups mean" + suffix)), i, j)
                if part["baseline"].notna().any():
                    fig.add_trace(go.Scatter(x=part["click"], y=part["baseline"], line={"color": color, "width": 2.5, "dash": dash},
                                             marker={"size": 5}, mode="lines+markers", **legend("baseline robot" + suffix)), i, j)
    fig.update_xaxes(title_text="click", row=len(datasets))
    fig.update_yaxes(title_text="mean IoU", col=1)
    return style(fig, "IoU per click: baseline robot vs clicking groups G1…G10", **_panel_size(len(datasets), len(models)))


def dataset_difficulty(inp: Inputs) -> Artefact:
    a = Artefact("dataset_difficulty", RCLICKS, "Fig. 7", "Dataset difficulty: mean vs std of first-click IoU",
                 caption="Per model and dataset: the mean over instances of the mean and of the std (ddof 0) of the IoU "
                         "after the first click over the clicking groups (`rclicks.metrics.benchmark.instance_nsr`). "
                         "The paper uses real users' first clicks; without a clicks table replayed in the store "
                         "(clicker `replay`, from `rclicks clicks replay`) the ten groups stand in, and the figure says so.")
    from rclicks.metrics.benchmark import instance_nsr

    real = inp.df[inp.df["clicker"].isin(REAL_CLICKERS)]
    source = "real first clicks (clicker replay)" if len(real) else "clicking groups G1…G10 (no real clicks in the store)"
    a.data = source
    if real.empty and inp.groups.empty:
        a.note = "needs clicking groups or replayed real clicks"
        return a
    if len(real):
        first = real[real["click"] == 1]
        inst = first.groupby(["model", "dataset", "policy", "instance"])["iou"].agg(mean="mean", std=lambda s: s.std(ddof=0)).reset_index()
    else:
        inst = instance_nsr(inp.groups, k=1)
    ds = inst.groupby(["model", "dataset", "policy"], observed=True).agg(mean=("mean", "mean"), std=("std", "mean"),
                                                                         instances=("mean", "size")).reset_index()
    ds["source"] = "real clicks" if len(real) else "clicking groups"
    a.tables = {"dataset_difficulty": ds}
    import plotly.express as px

    fig = px.scatter(ds, x="mean", y="std", color="dataset", symbol="model", hover_data=["policy", "instances"],
                     labels={"mean": "mean first-click IoU", "std": "std of first-click IoU"})
    fig.update_traces(marker={"size": 13, "line": {"width": 1, "color": "white"}})
    return _done(a, style(fig, f"Dataset difficulty from {source}", height=480, width=780))


def nsr_scatter(inp: Inputs) -> Artefact:
    from rclicks.metrics.benchmark import instance_nsr
    import plotly.express as px

    a = Artefact("nsr_scatter", RCLICKS, "Fig. 7 (per instance)", "Per-instance difficulty: NSR = std / mean of first-click IoU",
                 data="clicking groups g1..g10", caption="`rclicks.metrics.benchmark.instance_nsr` (k = 1) per instance.")
    if inp.groups.empty:
        a.note = "needs clicking-group rows"
        return a
    nsr = instance_nsr(inp.groups, k=1)
    a.tables = {"nsr": nsr}
    fig = px.scatter(nsr, x="mean", y="std", color="model", facet_col="dataset", hover_data=["instance", "nsr"],
                     facet_col_wrap=_wrap(nsr["dataset"].nunique()),
                     labels={"mean": "mean first-click IoU", "std": "std of first-click IoU"})
    fig.update_traces(marker={"size": 10})
    return _done(a, style(fig, "Per-instance difficulty (first click, ten groups)", height=460,
                          width=max(720, 380 * min(4, nsr["dataset"].nunique()))))


def group_positions(inp: Inputs, max_instances: int = 2) -> Artefact:
    a = Artefact("group_positions", RCLICKS, "Fig. 3", "Spatial distribution of clicking groups G1…G10",
                 data="first-click (x, y) of g1..g10 rows",
                 caption="First clicks of the ten clicking groups on a few instances (pixel column x, row y; image "
                         "from the bundled data when found). G1 = least likely tenth of the clickability mass, "
                         "G10 = most likely.")
    g = inp.groups[inp.groups["click"] == 1]
    if g.empty:
        a.note = "needs clicking-group rows"
        return a
    pts = g.drop_duplicates(["dataset", "instance", "clicker", "seed", "x", "y"])[["dataset", "instance", "group", "seed", "x", "y"]]
    chosen = pts[["dataset", "instance"]].drop_duplicates().sort_values(["dataset", "instance"]).groupby("dataset").head(1)
    chosen = chosen.head(max_instances)
    pts = pts.merge(chosen, on=["dataset", "instance"]).sort_values(["dataset", "instance", "group"])
    a.tables = {"group_positions": pts.reset_index(drop=True)}
    a.figure = _positions_figure(pts, chosen)
    return a


def _load_sample(dataset: str, instance: str):
    """The bundled sample (image, ground truth, valid pixels) of ``dataset``/``instance``, or None when the data are not found."""
    try:
        from rclicks.data import load_dataset

        d = load_dataset(dataset)
        if not hasattr(d, "index_of"):  # a Hub dataset: its samples are only known decoded
            return next((s for s in d if s.instance == instance), None)
        i = d.index_of(instance)  # found by its key; only that sample's files are read
        return None if i is None else d[i]
    except Exception:  # the figures work without the data (or say what they need)
        return None


def _load_image(dataset: str, instance: str):
    """The bundled sample's image (uint8 H×W×3) or None when the data are not found."""
    s = _load_sample(dataset, instance)
    return None if s is None else s.image


def _image_trace(img: np.ndarray, **kwargs):
    """A plotly image of ``img`` (uint8 H×W×3 RGB) as an embedded JPEG, not as ``z`` (a JSON list of every pixel's
    numbers, about 40 bytes a pixel: a grid of two dozen photos made a 19 MB page); pixel coordinates are kept."""
    import base64

    import cv2
    import plotly.graph_objects as go

    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(np.ascontiguousarray(img), cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 90])
    if not ok:  # cannot happen for uint8 RGB; keep the figure working anyway
        return go.Image(z=img, hoverinfo="skip", **kwargs)
    return go.Image(source="data:image/jpeg;base64," + base64.b64encode(buf.tobytes()).decode(), hoverinfo="skip", **kwargs)


def _positions_figure(pts: pd.DataFrame, chosen: pd.DataFrame):
    from plotly.subplots import make_subplots
    import plotly.graph_objects as go

    names = [f"{d}/{i}" for d, i in chosen.itertuples(index=False)]
    fig = make_subplots(rows=1, cols=len(names), subplot_titles=names, horizontal_spacing=0.04)
    for j, (ds, inst) in enumerate(chosen.itertuples(index=False), 1):
        img = _load_image(ds, inst)
        if img is not None:
            fig.add_trace(_image_trace(img, opacity=0.8), 1, j)
        p = pts[(pts["dataset"] == ds) & (pts["instance"] == inst)]
        fig.add_trace(go.Scatter(x=p["x"], y=p["y"], mode="markers", text=[f"G{g}" for g in p["group"]],
                                 hovertemplate="%{text}: x %{x}, y %{y}<extra></extra>",
                                 marker={"size": 14, "color": p["group"], "colorscale": "Viridis", "cmin": 1, "cmax": 10,
                                         "line": {"width": 1.5, "color": "white"},
                                         "colorbar": {"title": "group", "tickvals": [1, 5, 10]} if j == 1 else None,
                                         "showscale": j == 1},
                                 name=inst, showlegend=False), 1, j)
        fig.update_yaxes(autorange="reversed", scaleanchor=f"x{j if j > 1 else ''}", row=1, col=j)
    fig.update_xaxes(title_text="x (pixel column)")
    fig.update_yaxes(title_text="y (pixel row)", col=1)
    return style(fig, "First clicks of the clicking groups G1…G10 (colour: group)", height=560, width=max(760, 560 * len(names)))


def rank_correlation_fig(inp: Inputs) -> Artefact:
    from rclicks_leaderboard.paper import rank_correlation
    import plotly.express as px

    if len(inp.rc):
        ranks, metric = inp.rc, "Sample NoC@90"
    else:
        s = inp.summary
        ranks, metric = s[s["clicker"] == "baseline"], "NoC@90"
    a = Artefact("rank_correlation", RCLICKS, "Fig. 8", f"Dataset rank correlation of {metric}", data=metric,
                 caption="Spearman correlation between datasets of the models' rankings (`rclicks_leaderboard.paper.rank_correlation`).")
    if ranks.empty or ranks["dataset"].nunique() < 2 or ranks["model"].nunique() < 2:
        a.note = "needs at least 2 models and 2 datasets"
        return a
    corr = rank_correlation(ranks, metric)
    a.tables = {"rank_correlation": corr}
    fig = px.imshow(corr, text_auto=".2f", zmin=-1, zmax=1, color_continuous_scale="RdBu",
                    labels={"color": "Spearman ρ", "x": "dataset", "y": "dataset"})
    return _done(a, style(fig, f"Spearman ρ of model rankings by {metric} across datasets", height=460, width=600))


#: The click maps the quality table scores (the registry's offline ones; ``learned`` needs a trained checkpoint).
CLICKMAP_MODELS = ("uniform", "distance", "saliency")


def clickmap_quality(inp: Inputs, maps: tuple[str, ...] = CLICKMAP_MODELS, limit: int | None = None) -> Artefact:
    """RClicks Tab. 2: each click map scored against real human inputs (``rclicks.clickmaps.evaluation``): real first
    clicks (``Inputs.clicks``: KS, PL1, WD, NSS, PDE) and the bundled GrabCut scribbles (``Inputs.scribbles``: NSS, PDE)."""
    import plotly.express as px

    from rclicks.clickmaps.evaluation import evaluate_on_clicks, evaluate_on_scribbles, summary

    a = Artefact("clickmap_quality", RCLICKS, "Tab. 2", "Clickability-map quality (KS, PL1, WD, NSS, PDE)",
                 caption="Each click map (uniform, distance = the groups' default, saliency) scored where real people "
                         "marked the object (`rclicks.clickmaps.evaluation`): against real first clicks (KS, NSS, PDE "
                         "higher is better; PL1, WD lower) when a clicks table is given, and against the real foreground "
                         "scribbles of the GrabCut sets 1 and 2 (NSS, PDE at the stroke pixels) — scribbles are strokes, "
                         "not first clicks, so they score NSS and PDE only. Means over instances.")
    if inp.clicks is None and not inp.scribbles:
        a.note = ("needs real clicks (--clicks clicks.csv) or the GrabCut scribbles of the bundled data "
                  "(`rclicks reproduce` finds them under $RCLICKS_DATA/GrabCut; `rclicks clickmaps evaluate` also writes this table)")
        return a
    frames, tables = [], {}
    try:
        if inp.scribbles:
            samples = _samples_of("grabcut", limit)
            per = evaluate_on_scribbles(list(maps), samples, inp.scribbles)
            frames.append(summary(per, ["model", "set"]).assign(reference="scribbles"))
            frames.append(summary(per).assign(set="all sets", reference="scribbles"))
        if inp.clicks is not None:
            for ds in sorted(inp.clicks["dataset"].astype(str).unique()):
                samples = _samples_of(ds, limit)
                if samples:
                    per = evaluate_on_clicks(list(maps), samples, inp.clicks)
                    frames.append(summary(per).assign(set=f"{ds} first clicks", reference="clicks"))
    except Exception as exc:  # the data are not there, or do not match: say so instead of failing the gallery
        a.note = f"click maps could not be scored: {exc}"
        return a
    if not frames:
        a.note = "no dataset of the clicks table is found in the bundled data ($RCLICKS_DATA)"
        return a
    table = pd.concat(frames, ignore_index=True)
    cols = ["reference", "set", "model", *[c for c in ("ks", "pl1", "wd", "nss", "pde") if c in table.columns], "instances"]
    tables["clickmap_quality"] = table[cols]
    a.tables = tables
    a.data = "bundled GrabCut scribble sets" + (" and the real-clicks table" if inp.clicks is not None else "")
    long = table.melt(id_vars=["reference", "set", "model"], value_vars=[c for c in ("nss", "pde") if c in table.columns],
                      var_name="metric", value_name="value").dropna()
    long["metric"] = long["metric"].map({"nss": "NSS", "pde": "PDE (map density at the strokes)"})
    fig = px.bar(long, x="set", y="value", color="model", barmode="group", facet_col="metric",
                 category_orders={"model": list(maps), "metric": ["NSS", "PDE (map density at the strokes)"]},
                 color_discrete_sequence=PALETTE, labels={"value": "mean over instances", "set": "real input"})
    fig.update_yaxes(matches=None, showticklabels=True)
    return _done(a, style(fig, "Click maps against real human inputs (higher is better)", height=440, width=1000))


def _samples_of(dataset: str, limit: int | None) -> list:
    """The bundled samples of ``dataset`` (the first ``limit``), or [] when it is not found."""
    from rclicks.data import load_dataset

    try:
        d = load_dataset(dataset)
    except Exception:
        return []
    n = len(d) if limit is None else min(limit, len(d))
    return [d[i] for i in range(n)]


# ---- TETRIS ----------------------------------------------------------------------------------------------------


def _attacks(inp: Inputs) -> pd.DataFrame:
    """Per (model, policy, dataset): the mean over instances of ``attack_summary``'s columns; empty without attacks."""
    from rclicks.attacks.adversarial import attack_summary

    df = inp.df[inp.df["clicker"].isin(ADV + ("baseline",))]
    rows = []
    for (m, pol), part in df.groupby(["model", "policy"], sort=True):
        if not set(ADV) <= set(part["clicker"]):
            continue
        inst = part.groupby(["dataset", "instance"])["clicker"].nunique()
        full = inst[inst == 3].index
        part = part[pd.MultiIndex.from_frame(part[["dataset", "instance"]]).isin(full)]
        if part.empty:
            continue
        s = attack_summary(part)
        mean = s.drop(columns=["instance"]).groupby(["model", "dataset"]).mean(numeric_only=True).reset_index()
        mean.insert(1, "policy", pol)
        mean["instances"] = s.groupby(["model", "dataset"]).size().to_numpy()
        rows.append(mean)
    return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()


def tetris_table(inp: Inputs) -> Artefact:
    a = Artefact("tetris_table1", TETRIS, "Tab. 1", "IoU-/BIoU-Min, -Max, -D per model and dataset", data="adv_min, adv_max, baseline rows",
                 caption="`rclicks.attacks.adversarial.attack_summary` (IoU-AuC over each trajectory's max_clicks of the "
                         "minimising / maximising trajectories), mean over instances.")
    att = _attacks(inp)
    if att.empty:
        a.note = "needs adv_min / adv_max / baseline trajectories on the same instances (rclicks attack)"
        return a
    a.tables = {"tetris_table1": att}
    return a


def tetris_trajectories(inp: Inputs) -> Artefact:
    from plotly.subplots import make_subplots
    import plotly.graph_objects as go

    a = Artefact("tetris_f4", TETRIS, "Fig. 4", "Minimising / baseline / maximising trajectories, AuC in the legend",
                 data="adv_min, baseline, adv_max rows", caption="Mean IoU per click (`per_click_curve`) over the attacks' "
                 "10 clicks; the legend gives each curve's IoU-AuC@10 (mean over instances, `summarize`), the same k for all three.")
    att = _attacks(inp)
    if att.empty:
        a.note = "needs adversarial trajectories (adv_min, adv_max)"
        return a
    c = inp.curves[inp.curves["clicker"].isin(("adv_min", "baseline", "adv_max"))]
    s = inp.summary.set_index(["model", "dataset", "clicker", "policy"])
    c = c.merge(att[["model", "dataset", "policy"]], on=["model", "dataset", "policy"])
    a.tables = {"tetris_f4": c[["model", "dataset", "clicker", "policy", "max_clicks", "click", "iou"]]}
    panels = c[["model", "dataset", "policy"]].drop_duplicates().sort_values(["dataset", "model", "policy"]).itertuples(index=False)
    panels = list(panels)
    ncols = min(3, len(panels))
    nrows = -(-len(panels) // ncols)
    fig = make_subplots(rows=nrows, cols=ncols, subplot_titles=[f"{m} · {d}" + (f" · {p}" if c["policy"].nunique() > 1 else "")
                                                                for m, d, p in panels], vertical_spacing=0.16, horizontal_spacing=0.08)
    colors = {"adv_min": PALETTE[3], "baseline": PALETTE[0], "adv_max": PALETTE[2]}
    label = {"adv_min": "minimising", "baseline": "baseline", "adv_max": "maximising"}
    for n, (m, d, p) in enumerate(panels):
        r, col = n // ncols + 1, n % ncols + 1
        leg = f"legend{n + 1}" if n else "legend"
        for clicker in ("adv_max", "baseline", "adv_min"):
            part = c[(c["model"] == m) & (c["dataset"] == d) & (c["policy"] == p) & (c["clicker"] == clicker)].sort_values("click")
            part = part[part["click"] <= 10]  # TETRIS compares the three over the attacks' 10 clicks
            auc = s.loc[(m, d, clicker, p), "IoU-AuC@10"] if (m, d, clicker, p) in s.index else np.nan
            fig.add_trace(go.Scatter(x=part["click"], y=part["iou"], mode="lines+markers", line={"color": colors[clicker]},
                                     name=f"{label[clicker]} (AuC {float(np.mean(auc)):.3f})", legend=leg), r, col)
        xd = fig.layout[f"xaxis{n + 1 if n else ''}"].domain
        yd = fig.layout[f"yaxis{n + 1 if n else ''}"].domain
        fig.update_layout({leg: {"x": xd[1], "y": yd[0] + 0.01, "xanchor": "right", "yanchor": "bottom",
                                 "bgcolor": "rgba(255,255,255,0.8)", "font": {"size": 12}}})
    fig.update_xaxes(title_text="click")
    fig.update_yaxes(title_text="mean IoU")
    return _done(a, style(fig, "TETRIS trajectories: IoU-Min / baseline / IoU-Max", height=120 + 340 * nrows, width=120 + 400 * ncols))


def tetris_bounds(inp: Inputs) -> Artefact:
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    a = Artefact("tetris_f6", TETRIS, "Fig. 6", "IoU bounds per model, sorted by IoU-Min", data="attack_summary",
                 caption="Bar from IoU-Min to IoU-Max, marker at the baseline's IoU-AuC; models sorted by IoU-Min.")
    att = _attacks(inp)
    if att.empty:
        a.note = "needs adversarial trajectories (adv_min, adv_max)"
        return a
    att = att.assign(label=att["model"] + np.where(att["policy"].nunique() > 1, " · " + att["policy"], ""))
    a.tables = {"tetris_f6": att[["model", "policy", "dataset", "IoU-Min", "Baseline IoU-AuC", "IoU-Max", "IoU-D"]]}
    datasets = sorted(att["dataset"].unique())
    fig = make_subplots(rows=1, cols=len(datasets), subplot_titles=datasets, shared_yaxes=True)
    for j, ds in enumerate(datasets, 1):
        p = att[att["dataset"] == ds].sort_values("IoU-Min")
        fig.add_trace(go.Bar(x=p["label"], y=p["IoU-Max"] - p["IoU-Min"], base=p["IoU-Min"], marker_color=PALETTE[5],
                             name="IoU-Min … IoU-Max", showlegend=j == 1, width=0.5), 1, j)
        fig.add_trace(go.Scatter(x=p["label"], y=p["Baseline IoU-AuC"], mode="markers", marker={"color": PALETTE[0], "size": 12,
                                 "symbol": "diamond"}, name="baseline", showlegend=j == 1), 1, j)
    fig.update_yaxes(title_text="IoU-AuC", col=1)
    fig.update_xaxes(title_text="model (sorted by IoU-Min)", tickangle=-30)
    return _done(a, style(fig, "IoU bounds under adversarial clicks", height=480, width=max(700, 380 * len(datasets))))


def _model_metrics(inp: Inputs) -> pd.DataFrame:
    """Per (model, policy, dataset): baseline NoC/IoU metrics, RClicks metrics and attack bounds, for correlations."""
    s = inp.summary
    base = s[s["clicker"] == "baseline"].set_index(["model", "policy", "dataset"])
    cols = {"NoC@85": "NoC@85", "NoC@90": "NoC@90", "mIoU@1": "IoU@1", "BIoU@1": "BIoU@1", "IoU-AuC@10": "IoU-AuC@10",
            "BIoU-AuC@10": "BIoU-AuC@10", "IoU-AuC": "IoU-AuC"}
    out = base[list(cols)].rename(columns=cols)
    if len(inp.rc):
        rc = inp.rc.drop_duplicates(["model", "policy", "dataset"]).set_index(["model", "policy", "dataset"])
        out = out.join(rc[["Sample NoC@90", "ΔSB NoC@90 (%)", "ΔGR NoC@90 (%)", "NSR (%)"]], how="outer")
    att = _attacks(inp)
    if len(att):
        out = out.join(att.set_index(["model", "policy", "dataset"])[["IoU-Min", "IoU-Max", "IoU-D", "BIoU-Min", "BIoU-Max", "BIoU-D"]],
                       how="outer")
    out = out[~out.index.get_level_values("policy").isin(inp.oracle)]
    return out.dropna(axis=1, how="all")


def tetris_metric_corr(inp: Inputs) -> Artefact:
    import plotly.express as px

    a = Artefact("tetris_f9", TETRIS, "Fig. 9", "Cross-metric Spearman correlations", data="summarize, rclicks_table, attack_summary",
                 caption="Spearman ρ between metrics over every (model, dataset) row (non-oracle policies).")
    m = _model_metrics(inp)
    m = m.loc[:, m.nunique() > 1]
    if len(m) < 3 or m.shape[1] < 2:
        a.note = "needs at least 3 (model, dataset) rows and 2 varying metrics"
        return a
    corr = m.corr(method="spearman")
    corr.index.name = "metric"
    a.tables = {"tetris_f9": corr}
    fig = px.imshow(corr, text_auto=".2f", zmin=-1, zmax=1, color_continuous_scale="RdBu", labels={"color": "Spearman ρ"})
    fig.update_xaxes(tickangle=-40)
    n = corr.shape[0]
    return _done(a, style(fig, f"Spearman ρ between metrics ({len(m)} model × dataset rows)", height=260 + 42 * n, width=320 + 50 * n))


def tetris_dataset_corr(inp: Inputs) -> Artefact:
    from rclicks_leaderboard.paper import rank_correlation
    from plotly.subplots import make_subplots
    import plotly.graph_objects as go

    m = _model_metrics(inp).reset_index()
    pairs = [("IoU-Min", "BIoU-Min"), ("IoU-AuC@10", "BIoU-AuC@10"), ("IoU@1", "BIoU@1")]
    pair = next((p for p in pairs if set(p) <= set(m.columns)), pairs[-1])
    a = Artefact("tetris_f10", TETRIS, "Fig. 10", f"Cross-dataset Spearman correlations of {pair[0]} and {pair[1]}",
                 data=", ".join(pair), caption="Spearman ρ between datasets of the models' values; the paper uses the "
                 "attack bounds; without attacks the baseline IoU-AuC@10 / BIoU-AuC@10 (or, for runs under 10 clicks, "
                 "IoU@1 / BIoU@1) stand in, named in the title.")
    if not set(pair) <= set(m.columns) or m["dataset"].nunique() < 2 or m["model"].nunique() < 2:
        a.note = "needs at least 2 models and 2 datasets"
        return a
    fig = make_subplots(rows=1, cols=2, subplot_titles=pair, horizontal_spacing=0.15)
    for j, metric in enumerate(pair, 1):
        corr = rank_correlation(m, metric)
        a.tables[f"tetris_f10_{'biou' if metric.startswith('B') else 'iou'}"] = corr
        fig.add_trace(go.Heatmap(z=corr.to_numpy(), x=list(corr.columns), y=list(corr.index), zmin=-1, zmax=1, colorscale="RdBu",
                                 text=np.round(corr.to_numpy(), 2), texttemplate="%{text}", showscale=j == 2,
                                 colorbar={"title": "ρ"}), 1, j)
        fig.update_yaxes(autorange="reversed", row=1, col=j)
    return _done(a, style(fig, "Cross-dataset Spearman ρ", height=460, width=900))


def tetris_heatmaps(inp: Inputs) -> Artefact:
    a = Artefact("tetris_heatmaps", TETRIS, "Figs. 1–2", "Single-click IoU heatmaps",
                 caption="IoU of a single positive click at every grid position (store rows of clicker `heatmap`, or "
                         "`rclicks heatmap` .npy/.json given with `--heatmaps`), colour bar in IoU; the object contour "
                         "and the baseline robot's first click (RITM's, on the bundled ground truth; where the data "
                         "are not found, the map's defined cells and the cell farthest from their border: table column "
                         "`contour`), the worst/best positions (`rclicks.metrics.robustness.heatmap_summary`), any given "
                         "first click.")
    folder = Path(inp.heatmaps) if inp.heatmaps else None
    files = sorted(folder.glob("*.npy")) if folder and folder.is_dir() else []
    files = [f for f in files if f.with_suffix(".json").exists()]
    if files:
        a.data = str(folder)
        a.figure, a.tables = _heatmap_figure([_map_of_file(f) for f in files[:4]])
        return a
    if (inp.df["clicker"] == "heatmap").any():
        a.data = "store rows of clicker heatmap"
        a.figure, a.tables = _heatmap_figure(_maps_of_rows(inp.df)[:4])
        return a
    a.note = ("needs heatmap rows in the store (the backend's `heatmap` protocol) or heatmap files: run "
              "`rclicks heatmap … --out DIR/name` and pass `--heatmaps DIR`")
    return a


def _map_of_file(f: Path) -> dict:
    """One map of an ``rclicks heatmap`` output: its stride grid (values at ``offset + k·stride``) and its summary."""
    import json

    meta = json.loads(f.with_suffix(".json").read_text())
    dense = np.load(f)
    stride = int(meta.get("stride") or 1)
    inside = np.isfinite(dense)
    # grid maps hold values at stride//2 + k·stride (rclicks.attacks.heatmap.grid_points): find the offset
    where = np.argwhere(inside)
    oy, ox = (int(where[:, 0].min()) % stride, int(where[:, 1].min()) % stride) if where.size else (0, 0)
    summary = {"file": f.name, **{k: meta.get(k) for k in ("model", "sample", "positions", "min", "max", "spread", "mean", "stride")}}
    return {"title": f"{meta.get('model', '?')} · {meta.get('sample', f.stem)}", "grid": dense[oy::stride, ox::stride],
            "ox": ox, "oy": oy, "stride": stride, "worst": meta.get("worst"), "best": meta.get("best"),
            "first_click": meta.get("first_click"), "summary": summary,
            "dataset": meta.get("dataset") if meta.get("dataset") != "files" else None, "instance": meta.get("instance")}


def _maps_of_rows(df: pd.DataFrame) -> list[dict]:
    """The store's heatmaps (rows of clicker ``heatmap``), one per (model, dataset, policy, lattice, instance), with the
    metrics layer's summary (``heatmap_summary``); grid lattices only (the positions of ``clickmap`` ``grid stride=S``)."""
    import re

    from rclicks.metrics.robustness import MAP_KEYS, heatmap_positions, heatmap_summary

    rows = heatmap_positions(df)
    summary = heatmap_summary(df).set_index(MAP_KEYS)
    out = []
    for key, g in rows.groupby(MAP_KEYS, sort=True, observed=True):
        m = re.match(r"grid stride=(\d+)$", str(key[3]))
        if not m:
            continue
        stride = int(m.group(1))
        x, y = g["x"].to_numpy(int), g["y"].to_numpy(int)
        ox, oy = int(x.min()) % stride, int(y.min()) % stride
        grid = np.full(((y.max() - oy) // stride + 1, (x.max() - ox) // stride + 1), np.nan)
        grid[(y - oy) // stride, (x - ox) // stride] = g["iou"].to_numpy(float)
        s = summary.loc[key]
        out.append({"title": f"{key[0]} · {key[1]}/{key[4]}", "grid": grid, "ox": ox, "oy": oy, "stride": stride,
                    "dataset": str(key[1]), "instance": str(key[4]),
                    "worst": (int(s["worst_x"]), int(s["worst_y"])), "best": (int(s["best_x"]), int(s["best_y"])),
                    "first_click": None,
                    "summary": {"model": key[0], "dataset": key[1], "policy": key[2], "instance": key[4], "stride": stride,
                                **{k: s[k] for k in ("positions", "min", "max", "spread", "mean", "frac_below_0.5")}}})
    return out


def _object_outline(m: dict) -> tuple[list[np.ndarray], tuple[int, int], str]:
    """The heatmap's object contours (closed (x, y) pixel polylines), the baseline robot's first click (x, y) and
    where both come from: the bundled ground truth of ``m["dataset"]``/``m["instance"]`` when it is found and has the
    map's extent (RITM's exact first click, ``baseline_click`` on an empty prediction), else the map's own grid (its
    defined cells, and the cell farthest from their border: an estimate)."""
    import cv2

    grid, ox, oy, stride = m["grid"], m["ox"], m["oy"], m["stride"]
    sample = _load_sample(m["dataset"], m["instance"]) if m.get("dataset") and m.get("instance") else None
    h, w = oy + (grid.shape[0] - 1) * stride, ox + (grid.shape[1] - 1) * stride  # the map's last row / column
    if sample is not None and h < sample.mask.shape[0] and w < sample.mask.shape[1]:
        from rclicks.clickers.baseline import baseline_click
        from rclicks.clickers.regions import valid_or_none

        obj = (sample.mask & sample.valid).astype(np.uint8)
        click = baseline_click(sample.mask, np.zeros_like(sample.mask), valid_or_none(sample))
        contours, _ = cv2.findContours(obj, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        return [np.concatenate([c[:, 0], c[:1, 0]]) for c in contours], (click.x, click.y), "ground truth"
    obj = np.isfinite(grid).astype(np.uint8)
    contours, _ = cv2.findContours(obj, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    lines = [np.concatenate([c[:, 0], c[:1, 0]]) * stride + np.array([ox, oy]) for c in contours]
    dist = cv2.distanceTransform(np.pad(obj, 1), cv2.DIST_L2, 5)[1:-1, 1:-1]
    by, bx = np.unravel_index(int(np.argmax(dist)), dist.shape)
    return lines, (int(ox + bx * stride), int(oy + by * stride)), "grid"


def _heatmap_figure(maps: list[dict]):
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    fig = make_subplots(rows=1, cols=len(maps), subplot_titles=[m["title"] for m in maps], horizontal_spacing=0.05)
    for j, m in enumerate(maps, 1):
        grid, ox, oy, stride = m["grid"], m["ox"], m["oy"], m["stride"]
        gy, gx = oy + np.arange(grid.shape[0]) * stride, ox + np.arange(grid.shape[1]) * stride
        fig.add_trace(go.Heatmap(z=grid, x=gx, y=gy, zmin=0, zmax=1, colorscale="Viridis", showscale=j == 1,
                                 colorbar={"title": "IoU"}, hovertemplate="x %{x}, y %{y}: IoU %{z:.3f}<extra></extra>"), 1, j)
        contours, (bx, by), m["summary"]["contour"] = _object_outline(m)
        for k, pts in enumerate(contours):
            fig.add_trace(go.Scatter(x=pts[:, 0], y=pts[:, 1], mode="lines", line={"color": PALETTE[4], "width": 2},
                                     name="object contour", showlegend=j == 1 and k == 0, legendgroup="contour"), 1, j)
        marks = [("baseline click", bx, by, "star", PALETTE[1])]
        for name, sym, color in (("worst", "x", PALETTE[3]), ("best", "circle", PALETTE[2])):
            if m.get(name):
                marks.append((f"{name} position", m[name][0], m[name][1], sym, color))
        if m.get("first_click"):
            marks.append(("given first click", m["first_click"][0], m["first_click"][1], "diamond", PALETTE[5]))
        for name, x, y, sym, color in marks:
            fig.add_trace(go.Scatter(x=[x], y=[y], mode="markers", marker={"symbol": sym, "size": 15, "color": color,
                                     "line": {"width": 1.5, "color": "black"}}, name=name, showlegend=j == 1, legendgroup=name), 1, j)
        fig.update_yaxes(autorange="reversed", scaleanchor=f"x{j if j > 1 else ''}", row=1, col=j)
    fig.update_xaxes(title_text="x (pixel column)")
    fig.update_yaxes(title_text="y (pixel row)", col=1)
    fig = style(fig, "Single-click IoU at every grid position", height=560, width=max(760, 460 * len(maps)))
    fig.update_layout(legend={"orientation": "h", "y": -0.18})
    return fig, {"tetris_heatmaps": pd.DataFrame([m["summary"] for m in maps])}


def tetris_real_clicks(inp: Inputs) -> list[Artefact]:
    f3 = Artefact("tetris_f3", TETRIS, "Fig. 3", "IoU spread over real first clicks", data="replayed real first clicks",
                  caption="IoU after each real user's first click, replayed with the store's model (`rclicks clicks "
                          "replay`: rows of clicker `replay`); the table is `replay_summary` per instance (mean, std, "
                          "NSR over its real clicks).")
    f5 = Artefact("tetris_f5", TETRIS, "Fig. 5", "Distance between real clicks and the baseline click",
                  data="replayed real first clicks and the baseline robot's first click",
                  caption="Euclidean distance from each real first click to the baseline robot's first click on the same "
                          "instance, divided by the instance diagonal (of the object's bounding box, from the bundled "
                          "ground truth).")
    real = inp.df[inp.df["clicker"].isin(REAL_CLICKERS) & (inp.df["click"] == 1)]
    if real.empty:
        f3.note = f5.note = ("needs replayed real first clicks in the store (rows of clicker `replay`: "
                             "`rclicks clicks replay --clicks clicks.csv`); no real-clicks table is available offline")
        return [f3, f5]
    import plotly.express as px

    from rclicks.metrics.benchmark import replay_summary

    inst, _ = replay_summary(real)
    f3.tables = {"tetris_f3": inst}
    order = inst.groupby("instance")["std"].mean().sort_values(ascending=False).index.tolist()
    fig = px.box(real, x="instance", y="iou", color="model", points="all", category_orders={"instance": order},
                 labels={"iou": "IoU after the real first click", "instance": "instance (widest spread first)"})
    f3.figure = style(fig, "IoU over real first clicks, per instance", height=460, width=max(760, 40 * len(order) + 300))
    base = inp.df[(inp.df["clicker"] == "baseline") & (inp.df["click"] == 1)].drop_duplicates(["model", "dataset", "instance"])
    m = real.merge(base[["model", "dataset", "instance", "x", "y"]], on=["model", "dataset", "instance"], suffixes=("", "_base"))
    diag = {}
    for ds, instance in m[["dataset", "instance"]].drop_duplicates().itertuples(index=False):
        sample = _load_sample(ds, instance)
        if sample is not None and sample.mask.any():
            ys, xs = np.nonzero(sample.mask)
            diag[(ds, instance)] = float(np.hypot(xs.max() - xs.min() + 1, ys.max() - ys.min() + 1))
    m["diagonal"] = [diag.get((d, i), np.nan) for d, i in zip(m["dataset"], m["instance"])]
    m = m.dropna(subset=["diagonal"])
    if m.empty:
        f5.note = "needs the baseline robot's first click on the replayed instances and their ground truth (the bundled data)"
        return [f3, f5]
    m["distance"] = np.hypot(m["x"] - m["x_base"], m["y"] - m["y_base"]) / m["diagonal"]
    f5.tables = {"tetris_f5": m[["model", "dataset", "instance", "x", "y", "x_base", "y_base", "diagonal", "distance"]]
                 .reset_index(drop=True)}
    hist = px.histogram(m, x="distance", color="dataset", barmode="overlay", nbins=30,
                        labels={"distance": "distance to the baseline click / instance diagonal"})
    hist.update_yaxes(title_text="real first clicks")
    f5.figure = style(hist, "Real first clicks vs the baseline click", height=440, width=760)
    return [f3, f5]


# ---- IPOL ------------------------------------------------------------------------------------------------------


def longest_runs(c: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Per-click curve rows (``per_click_curve``) of the longest run (largest ``max_clicks``) of each ``keys`` combination:
    a line drawn through a 5-click and a 20-click run of the same model would zig-zag between them."""
    if c.empty:
        return c
    longest = c.groupby(keys, observed=True)["max_clicks"].transform("max")
    return c[c["max_clicks"] == longest]


def robot_runs(c: pd.DataFrame) -> pd.DataFrame:
    """The robot curves the IPOL figures draw: per model the policy with the most robots (then the first by name; the
    other policies are DISNet's), per robot and dataset its longest run."""
    if c.empty:
        return c
    n = c.groupby(["model", "policy"], observed=True)["clicker"].nunique().reset_index()
    n["order"] = n["policy"] != "single"
    best = n.sort_values(["model", "clicker", "order", "policy"], ascending=[True, False, True, True]).drop_duplicates("model")
    c = c.merge(best[["model", "policy"]], on=["model", "policy"])
    return longest_runs(c, ["model", "dataset", "clicker", "policy"])


def ipol_robots(inp: Inputs) -> Artefact:
    import plotly.express as px

    a = Artefact("ipol_f6", IPOL, "Fig. 6", "IoU vs clicks for each model × robot", data="robot clickers: " + ", ".join(inp.robots),
                 caption="Mean IoU after each click (`per_click_curve`) per clicking robot (baseline = RITM's; the IPOL "
                         "robots random, fr, lfr, fdr, click-aware, gto99, ritm when stored); per model its policy with "
                         "the most robots, per robot and dataset its longest run (`robot_runs`; the table has every run).")
    every = inp.curves[inp.curves["clicker"].isin(inp.robots)]
    c = robot_runs(every)
    if c.empty:
        a.note = "needs robot trajectories (rclicks evaluate --clicker baseline/gto99/random/…)"
        return a
    a.tables = {"ipol_f6": every[["model", "dataset", "clicker", "policy", "max_clicks", "click", "iou"]]}
    fig = px.line(c, x="click", y="iou", color="clicker", line_dash="dataset", facet_col="model",
                  facet_col_wrap=_wrap(c["model"].nunique()), category_orders={"clicker": sorted(c["clicker"].unique(), key=_natural)},
                  labels={"iou": "mean IoU", "click": "click", "clicker": "robot"})
    n = c["model"].nunique()
    return _done(a, style(fig, "IoU per click for each model and robot", height=140 + 320 * (-(-n // 4)), width=max(760, 120 + 330 * min(n, 4))))


def ipol_metrics(inp: Inputs) -> Artefact:
    import plotly.express as px

    a = Artefact("ipol_f4_f7", IPOL, "Figs. 4, 7", "Every mask metric vs clicks, per robot", data="tp, fp, fn, tn per click",
                 caption="IoU, Dice, precision, recall, accuracy and F-score after each click, from the stored confusion "
                         "counts (`per_click_curve` with `metric_from_counts`); mean over instances; the runs of "
                         "Fig. 6 (`robot_runs`; the table has every run).")
    every = inp.curves[inp.curves["clicker"].isin(inp.robots)]
    c = robot_runs(every)
    if c.empty:
        a.note = "needs robot trajectories"
        return a
    long = c.melt(id_vars=["model", "dataset", "clicker", "policy", "click"], value_vars=list(COUNT_METRICS), var_name="metric",
                  value_name="value")
    a.tables = {"ipol_f4_f7": every[["model", "dataset", "clicker", "policy", "max_clicks", "click", *COUNT_METRICS]]}
    robots = sorted(c["clicker"].unique(), key=_natural)
    fig = px.line(long, x="click", y="value", color="model", line_dash="dataset", symbol="clicker", facet_col="metric",
                  facet_col_wrap=3, category_orders={"metric": list(COUNT_METRICS), "clicker": robots}, markers=len(robots) > 1,
                  labels={"value": "mean value", "click": "click", "clicker": "robot"}, facet_row_spacing=0.12)
    fig.update_yaxes(matches=None, showticklabels=True)
    return _done(a, style(fig, "Mask metrics per click from the confusion counts", height=760, width=1250))


def ipol_overlays(inp: Inputs, clicks: tuple[int, ...] = (1, 3, 5, 10)) -> Artefact:
    a = Artefact("ipol_overlays", IPOL, "Fig. 5", "TP / TN / FP / FN overlays with the clicks",
                 data="rows with stored masks (mask_rle) of the robot clickers; ground truth from the bundled data",
                 caption="The mask after clicks 1, 3, 5 and 10 of each robot on one instance: TP green, FP red, FN "
                         "yellow, TN untouched; the clicks so far drawn larger the more recent (green positive, red "
                         "negative). The table's counts are recomputed from the stored mask and the ground truth "
                         "(`rclicks.metrics.mask.confusion`) and equal the run's own `tp, fp, fn, tn`.")
    if "mask_rle" not in inp.df.columns or inp.df["mask_rle"].isna().all():
        a.note = "needs stored masks (results column mask_rle: rclicks evaluate --keep-masks, or RCLICKS_LB_KEEP_MASKS); models are not re-run"
        return a
    rows = inp.df[inp.df["mask_rle"].notna() & inp.df["clicker"].isin(inp.robots)]
    if rows.empty:
        a.note = "stored masks found, but none of a robot clicker"
        return a
    # one model and policy (the one with the most robots stored, then by name), on its first instance
    keys = ["model", "dataset", "policy"]
    robots = rows.groupby(keys)["clicker"].nunique().reset_index().sort_values(["clicker", *keys], ascending=[False, True, True, True])
    model, dataset, policy = robots.iloc[0][keys]
    rows = rows[(rows["model"] == model) & (rows["dataset"] == dataset) & (rows["policy"] == policy)]
    instance = sorted(rows["instance"].unique())[0]
    sample = _load_sample(dataset, instance)
    if sample is None:
        a.note = f"needs the ground truth of {dataset}/{instance} (the bundled data, $RCLICKS_DATA)"
        return a
    table, panels = _overlay_panels(rows[rows["instance"] == instance], sample, clicks)
    a.tables = {"ipol_overlays": table}
    a.figure = _image_grid(panels, f"TP / FP / FN after each click · {model} ({policy}) · {dataset}/{instance}")
    return a


def _overlay_panels(sel: pd.DataFrame, sample, clicks: tuple[int, ...]) -> tuple[pd.DataFrame, list[list[tuple]]]:
    """Per robot (rows) and click (columns): the confusion overlay with the clicks so far, and a table of the counts."""
    import json

    from rclicks.clickers.regions import valid_or_none
    from rclicks.metrics.mask import confusion, iou_from_counts
    from rclicks.metrics.rle import rle_decode
    from rclicks.types import Click
    from rclicks.viz import confusion_overlay, draw_clicks

    valid = valid_or_none(sample)
    records, grid = [], []
    for clicker in sorted(sel["clicker"].unique(), key=_natural):
        g = sel[sel["clicker"] == clicker].sort_values(["seed", "max_clicks", "click"])
        g = g[(g["seed"] == g["seed"].iloc[0]) & (g["max_clicks"] == g["max_clicks"].iloc[0])]
        line = []
        for k in [k for k in clicks if k <= len(g)]:
            r = g.iloc[k - 1]
            mask = rle_decode(json.loads(r["mask_rle"]))
            tp, fp, fn, tn = confusion(sample.mask, mask, valid)
            records.append({"model": r["model"], "dataset": r["dataset"], "instance": r["instance"], "clicker": clicker,
                            "policy": r["policy"], "click": k, "tp": tp, "fp": fp, "fn": fn, "tn": tn,
                            "iou": iou_from_counts(tp, fp, fn, tn), "stored_iou": float(r["iou"])})
            pts = [Click(int(c.x), int(c.y), bool(c.positive)) for c in g.iloc[:k].itertuples()]
            img = draw_clicks(confusion_overlay(sample.image, sample.mask, mask, valid), pts, numbered=False, recency=True)
            line.append((img, f"{clicker} · click {k} · IoU {records[-1]['iou']:.3f}"))
        grid.append(line)
    return pd.DataFrame(records), grid


def _image_grid(panels: list[list[tuple]], title: str):
    """A plotly figure of images in rows (``panels[row][col] = (uint8 H×W×3, subtitle)``), axes hidden."""
    from plotly.subplots import make_subplots

    n_rows, n_cols = len(panels), max(len(p) for p in panels)
    titles = [panels[i][j][1] if j < len(panels[i]) else "" for i in range(n_rows) for j in range(n_cols)]
    fig = make_subplots(rows=n_rows, cols=n_cols, subplot_titles=titles, horizontal_spacing=0.01, vertical_spacing=0.04)
    for i, line in enumerate(panels, 1):
        for j, (img, _) in enumerate(line, 1):
            fig.add_trace(_image_trace(img), i, j)
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    h, w = panels[0][0][0].shape[:2]
    col_w = 300
    row_h = int(col_w * h / w) + 40
    fig = style(fig, title, height=row_h * n_rows + 120, width=col_w * n_cols + 80)
    fig.update_annotations(font_size=12)
    return fig


# ---- PseudoClick -----------------------------------------------------------------------------------------------


def pseudoclick(inp: Inputs) -> list[Artefact]:
    import plotly.express as px

    from rclicks.metrics.curves import human_axis, per_click_curve, summarize

    noc = Artefact("pseudoclick_noc", PSEUDO, "Tab. 2", "NoC@85/90 with and without model-proposed clicks",
                   data="runs with source = model rows",
                   caption="`summarize` on the all-clicks axis (every click counts) and on the human-click axis "
                           "(`human_axis`: a model-proposed click is free), and of the same model without the proposer "
                           "on the same instances (`no proposer`), when the store has it.")
    miou = Artefact("pseudoclick_miou5", PSEUDO, "Fig. 5", "mIoU over the first 5 human clicks", data="human_axis",
                    caption="Mean IoU after human click k = 1..5 (`per_click_curve` of `human_axis`): the model with the proposer "
                            "(`NAME+PROPOSER`) and, on the same instances, without it (`NAME`).")
    if "source" not in inp.df.columns or not (inp.df["source"] == "model").any():
        noc.note = miou.note = "needs a proposer run (rows with source = model: rclicks evaluate --proposer disagreement)"
        return [noc, miou]
    from rclicks.registry import split_proposer

    traj = ["model", "dataset", "clicker", "policy", "seed", "max_clicks", "instance"]
    has = inp.df.groupby(traj)["source"].transform(lambda s: (s == "model").any())
    prop = inp.df[has]
    # without proposals: the same model (``NAME`` of ``NAME+PROPOSER``) on the same trajectories' instances
    bases = {split_proposer(m)[0] for m in prop["model"].unique() if split_proposer(m)[1]}
    same = ["dataset", "clicker", "policy", "max_clicks", "instance"]
    without = inp.df[inp.df["model"].isin(bases)].merge(prop[same].drop_duplicates(), on=same)
    cols = ["model", "dataset", "clicker", "policy", "max_clicks", "n", "NoC@85", "NoC@90", "NoF@90"]
    parts = [summarize(prop)[cols].assign(axis="all clicks"), summarize(human_axis(prop))[cols].assign(axis="human clicks")]
    if len(without):
        parts.append(summarize(without)[cols].assign(axis="no proposer"))
    noc.tables = {"pseudoclick_noc": pd.concat(parts, ignore_index=True)}
    curve = per_click_curve(pd.concat([human_axis(prop), without], ignore_index=True), metrics=("iou",))
    curve = curve[curve["click"] <= 5]
    miou.tables = {"pseudoclick_miou5": curve}
    fig = px.line(curve, x="click", y="iou", color="model", line_dash="policy", facet_col="dataset", markers=True,
                  facet_col_wrap=_wrap(curve["dataset"].nunique()), labels={"click": "human click", "iou": "mean IoU"})
    fig.update_xaxes(dtick=1)
    miou.figure = style(fig, "mIoU over the first five human clicks (proposed clicks free)", height=440,
                        width=max(720, 380 * min(4, curve["dataset"].nunique())))
    return [noc, miou]


# ---- DISNet ----------------------------------------------------------------------------------------------------


def disnet(inp: Inputs) -> list[Artefact]:
    import plotly.express as px

    curves = Artefact("disnet_curves", DISNET, "Fig. 4", "mIoU vs clicks, first click emphasised", data="baseline robot, every policy",
                      caption="Mean IoU after each baseline click per model and multi-mask policy (`per_click_curve`); the "
                              "first click, where the candidate masks are ambiguous, is drawn large; per model, dataset "
                              "and policy its longest run (`longest_runs`; the table has every run).")
    cands = Artefact("disnet_candidates", DISNET, "Fig. 1", "First-click candidate masks with their IoU",
                     caption="The K candidate masks the model returned for the first (baseline) click of the first "
                             "instances, each with its IoU against the ground truth (`rclicks.metrics.mask.confusion`), "
                             "the one the policy kept marked; the best of them and the kept mask is the run's `best_iou`.")
    pol = Artefact("disnet_policies", DISNET, "Tab. 1", "NoC@85/90 and NoF@90 per policy, oracle rows marked",
                   data="baseline robot", caption="`summarize` per model × dataset × policy; `oracle` marks policies that "
                   "pick by IoU against the ground truth (an upper bound, never on the leaderboard). Best-of-K IoU@1 and "
                   "the ambiguity gap from `ambiguity` (multi-mask models only).")
    c = inp.curves[inp.curves["clicker"] == "baseline"]
    if c.empty:
        curves.note = pol.note = "needs baseline-robot trajectories"
    else:
        curves.tables = {"disnet_curves": c[["model", "dataset", "policy", "max_clicks", "click", "iou"]]}
        c = longest_runs(c, ["model", "dataset", "policy"])
        fig = px.line(c, x="click", y="iou", color="model", line_dash="policy", facet_col="dataset", markers=True,
                      facet_col_wrap=_wrap(c["dataset"].nunique()), labels={"iou": "mean IoU", "click": "click"})
        fig.for_each_trace(lambda t: t.update(marker={"size": [16] + [6] * (len(t.x) - 1), "line": {"width": 1, "color": "black"}}))
        curves.figure = style(fig, "mIoU per click (first click emphasised)", height=460,
                              width=max(720, 380 * min(4, c["dataset"].nunique())))
        s = inp.summary[inp.summary["clicker"] == "baseline"]
        t = s[["model", "dataset", "policy", "max_clicks", "n", "NoC@85", "NoC@90", "NoF@90", "mIoU@1", "Best-of-K IoU@1",
               "Ambiguity gap@1"]].copy()
        t.insert(3, "oracle", t["policy"].isin(inp.oracle))
        pol.tables = {"disnet_policies": t.reset_index(drop=True)}
    _candidates(inp, cands)
    return [curves, cands, pol]


def _first_click_candidates(df: pd.DataFrame) -> pd.DataFrame:
    """First-click rows whose stored mask carries the model's candidates (``"candidates"`` in the ``mask_rle`` JSON)."""
    if "mask_rle" not in df.columns:
        return df.iloc[:0]
    first = df[(df["click"] == 1) & df["mask_rle"].notna()]
    return first[first["mask_rle"].astype(str).str.contains('"candidates"', regex=False)]


def _candidates(inp: Inputs, a: Artefact, max_instances: int = 3) -> None:
    """The first click's candidate masks (``mask_rle``'s ``"candidates"``) of a few instances with their IoU, the kept one marked."""
    import json

    from rclicks.clickers.regions import valid_or_none
    from rclicks.metrics.mask import confusion, iou_from_counts
    from rclicks.metrics.rle import rle_decode
    from rclicks.types import Click
    from rclicks.viz import draw_clicks, overlay_mask

    stored = _first_click_candidates(inp.df)
    if stored.empty:
        a.note = ("needs stored candidate masks (results column mask_rle with \"candidates\": a multi-mask model run with "
                  "rclicks evaluate --keep-masks, or RCLICKS_LB_KEEP_MASKS); Best-of-K IoU@1 is in Tab. 1")
        return
    rows = stored.sort_values(["model", "policy", "dataset", "instance"])
    first = rows.iloc[0]
    rows = rows[(rows["model"] == first["model"]) & (rows["policy"] == first["policy"]) & (rows["dataset"] == first["dataset"])]
    records, grid = [], []
    for r in rows.drop_duplicates("instance").head(max_instances).itertuples(index=False):
        sample = _load_sample(r.dataset, r.instance)
        if sample is None:
            continue
        valid = valid_or_none(sample)
        stored_rle = json.loads(r.mask_rle)
        kept = rle_decode(stored_rle)
        click = [Click(int(r.x), int(r.y), bool(r.positive))]
        line = [(draw_clicks(overlay_mask(sample.image, sample.mask, colour=(255, 200, 0)), click, numbered=False),
                 f"{r.instance} · ground truth")]
        for k, rle in enumerate(stored_rle["candidates"]):
            m = rle_decode(rle)
            tp, fp, fn, tn = confusion(sample.mask, m, valid)
            is_kept = bool(np.array_equal(m, kept))
            records.append({"model": r.model, "dataset": r.dataset, "instance": r.instance, "policy": r.policy,
                            "candidate": k + 1, "iou": iou_from_counts(tp, fp, fn, tn), "kept": is_kept,
                            "kept_iou": float(r.iou), "best_iou": float(r.best_iou)})
            line.append((draw_clicks(overlay_mask(sample.image, m), click, numbered=False),
                         f"candidate {k + 1}: IoU {records[-1]['iou']:.3f}{' (kept)' if is_kept else ''}"))
        grid.append(line)
    if not grid:
        a.note = "needs the ground truth of the instances with stored candidates (the bundled data, $RCLICKS_DATA)"
        return
    a.data = f"first-click candidate masks (mask_rle \"candidates\") of {first['model']} under policy {first['policy']}"
    a.tables = {"disnet_candidates": pd.DataFrame(records)}
    a.figure = _image_grid(grid, f"First-click candidate masks · {first['model']} ({first['policy']}) · {first['dataset']}")


# ---- beyond the papers -----------------------------------------------------------------------------------------


def bootstrap(inp: Inputs) -> Artefact:
    from rclicks.metrics.bootstrap import B_DEFAULT, SEED_DEFAULT, pairwise_differences

    a = Artefact("bootstrap_ci", EXTRA, "—", "Paired bootstrap 95 % intervals of NoC@90 and Sample NoC@90 differences",
                 data=f"per-instance NoC@90 (baseline) and Sample NoC@90 (groups); B = {B_DEFAULT}, seed {SEED_DEFAULT}",
                 caption="For each pair of models on the same instances: Δ = mean(a − b) and its percentile-bootstrap "
                         "interval (`rclicks.metrics.bootstrap.pairwise_differences`); an interval excluding 0 means the "
                         "difference is not resampling noise. Oracle policies excluded.")
    d = pairwise_differences(inp.df, exclude_policies=inp.oracle)
    if d.empty:
        a.note = "needs at least two models evaluated on the same instances"
        return a
    d["interval"] = [f"{x:+.2f} [{lo:+.2f}, {hi:+.2f}]" for x, lo, hi in zip(d["diff"], d["lo"], d["hi"])]
    a.tables = {"bootstrap_ci": d}
    return a


def _done(a: Artefact, fig) -> Artefact:
    a.figure = fig
    return a


#: Every artefact builder, in gallery order.
BUILDERS: list[Callable[[Inputs], Artefact | list[Artefact]]] = [
    rclicks_tables, iou_band, dataset_difficulty, nsr_scatter, group_positions, rank_correlation_fig, clickmap_quality,
    tetris_table, tetris_trajectories, tetris_bounds, tetris_metric_corr, tetris_dataset_corr, tetris_heatmaps, tetris_real_clicks,
    ipol_robots, ipol_metrics, ipol_overlays, pseudoclick, disnet, bootstrap,
]


def build_artefacts(df: pd.DataFrame, clicks: pd.DataFrame | None = None, heatmaps: str | os.PathLike | None = None,
                    scribbles: list | None = None) -> list[Artefact]:
    """Every artefact for the results ``df`` (skipped ones carry a ``note``); ``scribbles``: real-scribble folders for
    the click-map quality table (see :func:`bundled_scribbles`)."""
    inp = Inputs(df, clicks, heatmaps, scribbles)
    out: list[Artefact] = []
    for build in BUILDERS:
        got = build(inp)
        out.extend(got if isinstance(got, list) else [got])
    return out


def bundled_scribbles() -> list:
    """The GrabCut scribble sets of the bundled data (``$RCLICKS_DATA/GrabCut/scribbles-set-*``), [] when absent."""
    from rclicks.settings import data_root

    return sorted((data_root() / "GrabCut").glob("scribbles-set-*"))
