"""The 2-layer MLP of chapters 2-3 as a row of tensors and operations, with every shape."""
from pathlib import Path

import matplotlib.pyplot as plt
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

# (label, shape, kind) left to right; kind picks the colour: data, parameter-fed op, or plain op.
STEPS = [
    ("x", "(N, 784)", "tensor"),
    ("lin", "w1 (784, 50)\nb1 (50,)", "op"),
    ("l1", "(N, 50)", "tensor"),
    ("relu", "", "op"),
    ("l2", "(N, 50)", "tensor"),
    ("lin", "w2 (50, 1)\nb2 (1,)", "op"),
    ("out", "(N, 1)", "tensor"),
    ("mse", "targ (N,)", "op"),
    ("loss", "() scalar", "tensor"),
]
COLOURS = {"tensor": "#dbe9f6", "op": "#fde3c8"}


def draw(out_dir):
    "Draw the MLP with the shape of every tensor; return the path written."
    fig, ax = plt.subplots(figsize=(12, 2.6))
    ax.set_xlim(-0.6, len(STEPS) - 0.4)
    ax.set_ylim(-1.3, 1.0)
    ax.axis("off")
    for i, (label, shape, kind) in enumerate(STEPS):
        box = FancyBboxPatch((i - 0.38, -0.35), 0.76, 0.7, boxstyle="round,pad=0.02",
                             fc=COLOURS[kind], ec="#444444", lw=1.2)
        ax.add_patch(box)
        ax.text(i, 0.0, label, ha="center", va="center", fontsize=13,
                family="monospace", weight="bold")
        ax.text(i, -0.62, shape, ha="center", va="top", fontsize=9.5, family="monospace")
        if i:
            ax.add_patch(FancyArrowPatch((i - 0.62, 0), (i - 0.38, 0), arrowstyle="-|>",
                                         mutation_scale=14, color="#444444"))
    ax.set_title("Forward pass of the 2-layer MLP: blue boxes are tensors (with shapes), "
                 "orange boxes are operations (with their parameters)", fontsize=10)
    path = Path(out_dir) / "mlp_shapes.png"
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return [path]
