"""Speed of the click-map metrics (one instance, 30 real clicks, 100 draws) and of the click maps themselves.

    python benchmarks/clickmap_metrics.py

Uses a real GrabCut instance; the 30 "real" clicks are drawn (seeded) from its distance map.
"""

from __future__ import annotations


import numpy as np
from _timing import median_ms


def main() -> None:
    from rclicks.registry import build_clickmap
    from rclicks.clickmaps.distance import distance_map
    from rclicks.data import load_dataset
    from rclicks.metrics import clickmap_metrics as cm

    s = load_dataset("grabcut")[3]
    region = s.mask & s.valid
    rng = np.random.default_rng(0)
    xs, ys = cm.sample_clicks(distance_map(region), 30, rng)
    size = cm.instance_size(s.mask)
    print(f"instance {s.instance} ({s.mask.shape[1]}×{s.mask.shape[0]}), 30 clicks, 100 draws")
    for name in ("uniform", "distance", "saliency"):
        model = build_clickmap(name, cache_size=0, **({"net_cache_size": 0} if name == "saliency" else {}))
        model.click_map(s.image, s.mask, region)  # warm-up (loads the network)
        t_map = median_ms(lambda: model.click_map(s.image, s.mask, region), 5)
        cmap = model.click_map(s.image, s.mask, region)
        n = xs.size
        sx, sy = cm.sample_clicks(cmap, n * 100, np.random.default_rng(1))
        real = np.stack([xs, ys], 1)
        samp = np.stack([sx.reshape(100, n), sy.reshape(100, n)], -1)
        parts = {
            "sample 3000 clicks": median_ms(lambda: cm.sample_clicks(cmap, n * 100, np.random.default_rng(1))),
            "NSS": median_ms(lambda: cm.nss(cmap, xs, ys)),
            "PDE": median_ms(lambda: cm.pde(cmap, xs, ys)),
            "PL1": median_ms(lambda: cm.pl1(real, samp, *size)),
            "WD": median_ms(lambda: cm.wd(real, samp, *size)),
            "KS": median_ms(lambda: cm.ks_pass_rate(real, samp)),
            "all five (clickmap_scores)": median_ms(lambda: cm.clickmap_scores(cmap, xs, ys, size, np.random.default_rng(2))),
        }
        print(f"{name:9s} map {t_map:7.1f} ms | " + " | ".join(f"{k} {v:.1f} ms" for k, v in parts.items()))


if __name__ == "__main__":
    main()
