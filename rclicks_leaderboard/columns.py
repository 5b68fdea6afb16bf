"""Leaderboard column definitions, in one place (the README's column table is generated from these).

Per-dataset columns are named ``"<dataset> <metric>"``; model-level columns have no prefix.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Column:
    """A leaderboard column: ``label`` (the metric part of the name), its source and direction."""

    label: str
    description: str
    source: str
    lower_is_better: bool | None


#: Model-level columns.
MODEL_COLUMNS: list[Column] = [
    Column("model", "leaderboard name of the model", "request / results `model`", None),
    Column("policy", "multi-mask policy (single, score, sam); oracle rows live in a separate table", "results `policy`", None),
    Column("max_clicks", "clicks per trajectory of the runs behind the row (NoC is capped there); the paper protocol is 20", "results `max_clicks`", None),
    Column("Size (MB)", "total size of the submitted weight files, when known", "shard metadata `model_bytes`", True),
    Column("s/click", "mean seconds per click over every stored trajectory of the model", "mean of `time_s`", True),
    Column("Avg NoC@90", "mean over datasets of the baseline NoC@90 (the default sort key, after `max_clicks` and the number of datasets a row covers)", "baseline clicker", True),
]

#: Per-dataset columns, in display order. Absent when the results lack what they need.
DATASET_COLUMNS: list[Column] = [
    Column("instances", "instances evaluated with the baseline robot", "`rclicks.metrics.curves.summarize` (n)", None),
    Column("NoC@85", "mean over instances of the first click with IoU ≥ 0.85 under the baseline robot (max_clicks when never; RITM)", "`rclicks.metrics.curves.summarize`", True),
    Column("NoC@90", "the same for IoU 0.90", "`rclicks.metrics.curves.summarize`", True),
    Column("NoC@95", "the same for IoU 0.95", "`rclicks.metrics.curves.summarize`", True),
    Column("NoF@90", "baseline trajectories with NoC@90 == max_clicks (RITM's rule)", "`rclicks.metrics.curves.summarize`", True),
    Column("IoU@1", "mean IoU after the first baseline click", "`rclicks.metrics.curves.summarize` (mIoU@1)", False),
    Column("IoU-AuC@10", "trapezoid area under the baseline IoU-per-click curve over clicks 1..10, / 9 (TETRIS)", "`rclicks.metrics.curves.summarize`", False),
    Column("Best-of-K IoU@1", "mean best IoU among the first baseline click's candidate masks and the kept one (multi-mask models; DISNet)", "`rclicks.metrics.curves.summarize` (best_iou)", False),
    Column("Ambiguity gap@1", "Best-of-K IoU@1 − IoU@1: what the model's own mask choice loses on the first click", "`rclicks.metrics.curves.summarize`", True),
    Column("Sample NoC@90", "mean over instances of the mean NoC@90 over the clicking groups G1..G10 (RClicks)", "`rclicks.metrics.benchmark.rclicks_table`", True),
    Column("Sample NoC@90 std", "mean over instances of the std (ddof 0) of NoC@90 over the ten groups", "`rclicks.metrics.benchmark.rclicks_table`", True),
    Column("ΔSB (%)", "100 × mean over instances of (mean_g NoC@90 − baseline NoC@90) / baseline NoC@90", "`rclicks.metrics.benchmark.rclicks_table`", True),
    Column("ΔGR (%)", "100 × mean over instances of (NoC@90 of G1 − NoC@90 of G10) / NoC@90 of G10", "`rclicks.metrics.benchmark.rclicks_table`", True),
    Column("NSR (%)", "100 × mean over instances of std/mean over the ten groups of IoU-AuC over all clicks", "`rclicks.metrics.benchmark.rclicks_table`", True),
    Column("IoU-Min", "IoU-AuC@10 of the adversarial minimising trajectories (clicker adv_min, TETRIS)", "`summarize` on clicker `adv_min`", False),
    Column("IoU-Max", "IoU-AuC@10 of the adversarial maximising trajectories (clicker adv_max)", "`summarize` on clicker `adv_max`", False),
    Column("IoU-D", "IoU-Max − IoU-Min: how much click placement alone changes the result", "derived", True),
    Column("First-click spread", "mean over instances of max − min first-click IoU over a heatmap's click positions (TETRIS)",
           "`rclicks.metrics.robustness.first_click_spread` on clicker `heatmap`", True),
]


def dataset_column(dataset: str, label: str) -> str:
    """The table column name of metric ``label`` on ``dataset``."""
    return f"{dataset} {label}"


def markdown_table() -> str:
    """The column documentation as a markdown table (pasted into rclicks_leaderboard/README.md)."""
    lines = ["| column | meaning | computed by | better |", "|---|---|---|---|"]
    better = {True: "lower", False: "higher", None: "—"}
    for c in MODEL_COLUMNS:
        lines.append(f"| `{c.label}` | {c.description} | {c.source} | {better[c.lower_is_better]} |")
    for c in DATASET_COLUMNS:
        lines.append(f"| `<dataset> {c.label}` | {c.description} | {c.source} | {better[c.lower_is_better]} |")
    return "\n".join(lines)
