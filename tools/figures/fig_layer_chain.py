"""The 2-layer MLP of chapter 5 as a chain of layers: values flow right, gradients flow left, with shapes."""
from pathlib import Path

import matplotlib.pyplot as plt
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

# Layers left to right: (name, its parameters above it, their gradients below it).
LAYERS = [
    ("Lin", "w1 (784, 50)\nb1 (50,)", "w1.g (784, 50)\nb1.g (50,)"),
    ("Relu", "", ""),
    ("Lin", "w2 (50, 1)\nb2 (1,)", "w2.g (50, 1)\nb2.g (1,)"),
    ("Mse", "targ (N,)", ""),
]
# The tensors between the layers: (name, shape, its gradient with the same shape), one more than the layers.
TENSORS = [
    ("x", "(N, 784)", "x.g (N, 784)"),
    ("l1", "(N, 50)", "l1.g (N, 50)"),
    ("l2", "(N, 50)", "l2.g (N, 50)"),
    ("out", "(N, 1)", "out.g (N, 1)"),
    ("L", "()", "dL/dL = 1"),
]
FWD, BWD, BOX, PARAM = "#1f5fa8", "#c0392b", "#fde3c8", "#dbe9f6"
STEP = 2.6        # distance between two layers


def draw(out_dir):
    "Draw the chain of layers with forward values (right) and gradients (left); return the path written."
    fig, ax = plt.subplots(figsize=(13, 4.4))
    ax.set_xlim(-0.9, STEP * len(LAYERS) + 0.9)
    ax.set_ylim(-2.0, 2.1)
    ax.axis("off")
    for i, (name, params, grads) in enumerate(LAYERS):
        cx = STEP * (i + 0.5)
        ax.add_patch(FancyBboxPatch((cx - 0.55, -0.45), 1.1, 0.9, boxstyle="round,pad=0.03",
                                    fc=BOX, ec="#444444", lw=1.3))
        ax.text(cx, 0.0, name, ha="center", va="center", fontsize=14, family="monospace", weight="bold")
        if params:
            ax.text(cx, 1.05, params, ha="center", va="bottom", fontsize=9.5, family="monospace",
                    bbox=dict(boxstyle="round,pad=0.25", fc=PARAM, ec="#888888"))
            ax.add_patch(FancyArrowPatch((cx, 1.0), (cx, 0.5), arrowstyle="-|>", mutation_scale=12,
                                         color="#666666"))
        if grads:
            ax.text(cx, -1.05, grads, ha="center", va="top", fontsize=9.5, family="monospace",
                    color=BWD, bbox=dict(boxstyle="round,pad=0.25", fc="white", ec=BWD))
            ax.add_patch(FancyArrowPatch((cx, -0.5), (cx, -1.0), arrowstyle="-|>", mutation_scale=12,
                                         color=BWD))
    for j, (name, shape, grad) in enumerate(TENSORS):
        x0 = STEP * j                  # tensor j sits between layer j-1 and layer j
        a = STEP * (j - 0.5) + 0.6 if j else x0 - 0.6                 # right edge of layer j-1
        b = STEP * (j + 0.5) - 0.6 if j < len(LAYERS) else x0 + 0.6   # left edge of layer j
        ax.add_patch(FancyArrowPatch((a, 0.2), (b, 0.2), arrowstyle="-|>", mutation_scale=16, color=FWD, lw=1.8))
        ax.add_patch(FancyArrowPatch((b, -0.2), (a, -0.2), arrowstyle="-|>", mutation_scale=16, color=BWD, lw=1.8))
        mid = (a + b) / 2
        ax.text(mid, 0.32, f"{name} {shape}", ha="center", va="bottom", fontsize=9.5, family="monospace",
                color=FWD)
        ax.text(mid, -0.32, grad, ha="center", va="top", fontsize=9.5, family="monospace", color=BWD)
    ax.text(0.0, 1.85, "forward: each layer saves its inputs and passes its output right  \u2192",
            fontsize=10.5, color=FWD, ha="left")
    ax.text(STEP * len(LAYERS), -1.85, "\u2190  backward: each layer turns out.g into the .g of its inputs "
            "and parameters", fontsize=10.5, color=BWD, ha="right")
    path = Path(out_dir) / "layer_chain.png"
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return [path]
