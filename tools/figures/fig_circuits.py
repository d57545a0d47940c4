"""Circuit diagrams in the manner of CS231n's notes: each wire carries a forward value above it and its gradient
(red) below it. Chapter 3's network on paper, and chapter 4's five patterns (add, multiply, max, copy, matmul)."""
from pathlib import Path

import matplotlib.pyplot as plt
from matplotlib.patches import Circle

VALUE, GRAD, NODE = "#1a1a1a", "#c0392b", "#fde3c8"
FONT = dict(family="monospace", fontsize=9.5)


def matrix(rows):
    "A small matrix as text, one bracketed row a line, numbers right-aligned: [[3, -1], [1, 4]] -> '[3 -1]\\n[1  4]'."
    rows = [r if isinstance(r, (list, tuple)) else [r] for r in rows]
    width = max(len(f"{v:g}") for r in rows for v in r)
    return "\n".join("[" + " ".join(f"{v:g}".rjust(width) for v in r) + "]" for r in rows)


def node(ax, x, y, text, r=0.32):
    "An operation: a circle with its name."
    ax.add_patch(Circle((x, y), r, fc=NODE, ec="#444444", lw=1.2, zorder=3))
    ax.text(x, y, text, ha="center", va="center", fontsize=10 if len(text) < 3 else 8, family="monospace",
            weight="bold", zorder=4)


def wire(ax, points, value=None, grad=None, at=0, arrow=True):
    """A wire through `points` (the last one at an operation's edge, or the loose end of an output). `value` is
    written above segment `at`, `grad` below it in red."""
    xs, ys = zip(*points)
    ax.plot(xs, ys, color="#555555", lw=1.4, zorder=1)
    if arrow:
        ax.annotate("", xy=points[-1], xytext=points[-2], zorder=2,
                    arrowprops=dict(arrowstyle="-|>", color="#555555", lw=1.4, shrinkA=0, shrinkB=0))
    (x0, y0), (x1, y1) = points[at], points[at + 1]
    mx, my = (x0 + x1) / 2, (y0 + y1) / 2
    if value is not None: ax.text(mx, my + 0.12, value, ha="center", va="bottom", color=VALUE, **FONT)
    if grad is not None: ax.text(mx, my - 0.12, grad, ha="center", va="top", color=GRAD, **FONT)


def save(fig, ax, out_dir, name, title=None):
    ax.set_aspect("equal"); ax.axis("off")
    if title: ax.set_title(title, fontsize=10)
    path = Path(out_dir) / name
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path


# Chapter 3's network on paper: N = 2 digits of 3 pixels, a 3 -> 2 -> 1 MLP; every value and gradient an integer.
X, W1, B1, W2, B2, Y = [[1, 2, 0], [3, -1, 1]], [[1, 0], [1, -1], [-1, 2]], [0, 1], [[1], [-1]], [1], [2, -1]
XW1, Z1, A1, A1W2, OUT = [[3, -2], [1, 3]], [[3, -1], [1, 4]], [[3, 0], [1, 4]], [[3], [-3]], [[4], [-2]]
G_OUT, G_A1, G_Z1 = [[2], [-1]], [[2, -2], [-1, 1]], [[2, 0], [-1, 1]]
G_X, G_W1, G_B1, G_W2, G_B2 = [[2, 2, -2], [-1, -2, 3]], [[-1, 3], [5, -1], [-1, 1]], [1, 1], [[5], [-4]], [1]


def draw_paper_network(out_dir):
    "The network on paper as a circuit: @, +, relu, @, +, mse; values above each wire, gradients below."
    fig, ax = plt.subplots(figsize=(15, 5.2))
    ops = ["@", "+", "relu", "@", "+", "mse"]
    xs = [2.6 + 2.9 * i for i in range(len(ops))]
    main = [("X (inp)", X, G_X, "inp.g"), ("X W1", XW1, G_Z1, ""), ("Z1 (l1)", Z1, G_Z1, "l1.g"),
            ("A1 (l2)", A1, G_A1, "l2.g"), ("A1 W2", A1W2, G_OUT, ""), ("y_hat (out)", OUT, G_OUT, "out.g"),
            ("L", [[2.5]], [[1]], "dL/dL")]
    starts = [0.0] + [x + 0.32 for x in xs]
    ends = [x - 0.32 for x in xs] + [xs[-1] + 2.2]
    for (name, v, g, gname), a, b, i in zip(main, starts, ends, range(len(main))):
        wire(ax, [(a, 0), (b, 0)], f"{name}\n{matrix(v)}", f"{matrix(g)}\n{gname}".rstrip(), arrow=i < len(ops))
    side = [(0, "W1", W1, G_W1, "w1.g"), (1, "b1", [B1], [G_B1], "b1.g"), (3, "W2", W2, G_W2, "w2.g"),
            (4, "b2", B2, G_B2, "b2.g"), (5, "y (targ)", [Y], None, "")]
    for k, name, v, g, gname in side:
        x = xs[k]
        grad = None if g is None else f"{matrix(g)}\n{gname}"
        wire(ax, [(x - 1.9, 2.3), (x - 0.15, 2.3), (x, 0.32)], f"{name}\n{matrix(v)}", grad)
    for x, op in zip(xs, ops): node(ax, x, 0, op)
    ax.set_xlim(-0.6, xs[-1] + 2.6); ax.set_ylim(-1.3, 3.7)
    return save(fig, ax, out_dir, "paper_network.png",
                "The network on paper: forward values (black) above each wire, gradients dL/d(wire) (red) below it; "
                "the backward pass fills in the red numbers from right to left")


def two_inputs(out_dir, name, op, x, y, z, dz, dx, dy, title):
    "A pattern with two inputs x, y and one output z = op(x, y)."
    fig, ax = plt.subplots(figsize=(4.4, 2.4))
    wire(ax, [(-0.6, 0.9), (1.4, 0.9), (1.75, 0.22)], f"x = {x:g}", f"{dx}")
    wire(ax, [(-0.6, -0.9), (1.4, -0.9), (1.75, -0.22)], f"y = {y:g}", f"{dy}")
    wire(ax, [(2.32, 0), (3.8, 0)], f"z = {z:g}", f"dz = {dz:g}", arrow=False)
    node(ax, 2.0, 0, op)
    ax.set_xlim(-0.8, 4.0); ax.set_ylim(-1.6, 1.6)
    return save(fig, ax, out_dir, name, title)


def draw_patterns(out_dir):
    "Chapter 4's five patterns, one small figure each."
    paths = [
        two_inputs(out_dir, "pattern_add.png", "+", 2, -3, -1, 4, "dx = dz = 4", "dy = dz = 4",
                   "add distributes: each input gets dz"),
        two_inputs(out_dir, "pattern_mul.png", "*", 2, -3, -6, 4, "dx = y dz = -12", "dy = x dz = 8",
                   "multiply swaps: each input gets the other one times dz"),
        two_inputs(out_dir, "pattern_max.png", "max", 2, -3, 2, 4, "dx = dz = 4", "dy = 0",
                   "max routes: the larger input gets dz, the other 0"),
    ]
    fig, ax = plt.subplots(figsize=(4.4, 2.4))                       # copy: one value, two uses
    wire(ax, [(0, 0), (1.2, 0)], "x = 3", "dx = da + db = 3", arrow=False)
    wire(ax, [(1.2, 0), (1.7, 0.9), (3.2, 0.9)], "a = x", "da = 4", at=1)
    wire(ax, [(1.2, 0), (1.7, -0.9), (3.2, -0.9)], "b = x", "db = -1", at=1)
    ax.add_patch(Circle((1.2, 0), 0.07, color="#555555", zorder=3))
    ax.set_xlim(-0.3, 3.5); ax.set_ylim(-1.6, 1.6)
    paths.append(save(fig, ax, out_dir, "pattern_copy.png", "a copy sums: the gradients of the uses add up"))
    fig, ax = plt.subplots(figsize=(7.0, 2.6))                       # matmul: the shapes decide
    wire(ax, [(-1.4, 0.9), (2.0, 0.9), (2.4, 0.25)], "X (N, n_in)", "dX = dZ @ W.T\n(N, n_out) @ (n_out, n_in)")
    wire(ax, [(-1.4, -0.9), (2.0, -0.9), (2.4, -0.25)], "W (n_in, n_out)", "dW = X.T @ dZ\n(n_in, N) @ (N, n_out)")
    wire(ax, [(2.97, 0), (5.2, 0)], "Z (N, n_out)", "dZ (N, n_out)", arrow=False)
    node(ax, 2.65, 0, "@")
    ax.set_xlim(-1.6, 5.4); ax.set_ylim(-2.0, 1.6)
    paths.append(save(fig, ax, out_dir, "pattern_matmul.png",
                      "matmul: the only products of dZ with W or X that have the shapes of X and W"))
    return paths


def draw(out_dir):
    "Draw the network on paper and the five patterns; return the paths written."
    return [draw_paper_network(out_dir), *draw_patterns(out_dir)]
