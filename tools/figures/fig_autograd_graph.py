"""The graph that backprop.autograd records for the 2-layer MLP, after backward(): shapes, gradients, operations."""
from pathlib import Path

import matplotlib.pyplot as plt
import torch

from backprop.autograd import Tensor, draw_graph, mse


def draw(out_dir):
    "Draw the recorded graph of a tiny MLP (4 digits, 3 pixels, 2 hidden units) after backward(); return the path written."
    gen = torch.Generator().manual_seed(0)
    x = Tensor(torch.randn(4, 3, generator=gen), label="x")
    targ = torch.randn(4, generator=gen)
    w1, b1 = Tensor(torch.randn(3, 2, generator=gen), True, "w1"), Tensor(torch.zeros(2), True, "b1")
    w2, b2 = Tensor(torch.randn(2, 1, generator=gen), True, "w2"), Tensor(torch.zeros(1), True, "b2")
    loss = mse((x @ w1 + b1).relu() @ w2 + b2, targ)
    loss.backward()
    ax = draw_graph(loss)
    ax.set_title("The graph recorded by the forward pass, after loss.backward(): blue boxes are tensors that need a "
                 "gradient, grey ones are data, orange circles are operations", fontsize=9)
    path = Path(out_dir) / "autograd_graph.png"
    ax.figure.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(ax.figure)
    return [path]
