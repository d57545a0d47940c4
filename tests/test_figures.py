"""The figures in images/ are made by code in the repo and can be made again."""
import subprocess
import sys
from pathlib import Path

root = Path(__file__).resolve().parent.parent


def test_every_figure_script_draws_into_a_fresh_folder(tmp_path):
    res = subprocess.run([sys.executable, str(root / "tools" / "make_figures.py"), str(tmp_path)],
                         capture_output=True, text=True, cwd=root)
    assert res.returncode == 0, res.stderr
    made = sorted(p.name for p in tmp_path.iterdir())
    assert made, "no figure was drawn"
    for name in made:
        assert (tmp_path / name).stat().st_size > 1000, f"{name} is (nearly) empty"
        assert (root / "images" / name).exists(), f"{name} is drawn but not committed in images/"


def test_every_image_a_notebook_references_exists():
    "In nbs/ (../images/NAME.png) and in its folders, such as nbs/exercises/ (../../images/NAME.png)."
    import re
    refs = 0
    for nb in (root / "nbs").glob("**/*.ipynb"):
        for ref in re.findall(r"\]\(((?:\.\./)+images/[^)\s]+)\)", nb.read_text()):
            assert (nb.parent / ref).resolve().exists(), f"{nb.name} shows {ref}, which does not exist"
            refs += 1
    assert refs > 0


def test_the_network_on_paper_figure_shows_what_the_code_computes():
    "The numbers written into images/paper_network.png (chapter 3) are the forward values and gradients of the package."
    import importlib.util
    import torch
    from torch.testing import assert_close
    from backprop.forward import lin, relu
    from backprop.grads import forward_and_backward
    spec = importlib.util.spec_from_file_location("fig_circuits", root / "tools" / "figures" / "fig_circuits.py")
    fig = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(fig)
    t = lambda v: torch.tensor(v, dtype=torch.float64)
    inp, w1, b1, w2, b2, targ = t(fig.X), t(fig.W1), t(fig.B1), t(fig.W2), t(fig.B2), t(fig.Y)
    xw1, z1 = inp @ w1, lin(inp, w1, b1)
    a1 = relu(z1)
    shown = {"XW1": (fig.XW1, xw1), "Z1": (fig.Z1, z1), "A1": (fig.A1, a1), "A1W2": (fig.A1W2, a1 @ w2),
             "OUT": (fig.OUT, lin(a1, w2, b2))}
    assert_close(forward_and_backward(inp, targ, w1, b1, w2, b2), t(2.5), rtol=0, atol=0)
    shown |= {"G_X": (fig.G_X, inp.g), "G_W1": (fig.G_W1, w1.g), "G_B1": (fig.G_B1, b1.g), "G_W2": (fig.G_W2, w2.g),
              "G_B2": (fig.G_B2, b2.g), "G_OUT": (fig.G_OUT, 2 * (lin(a1, w2, b2).squeeze(-1) - targ).unsqueeze(-1) / 2)}
    shown |= {"G_A1": (fig.G_A1, t(fig.G_OUT) @ w2.t()), "G_Z1": (fig.G_Z1, (t(fig.G_OUT) @ w2.t()) * (z1 > 0))}
    for name, (drawn, computed) in shown.items():
        assert_close(t(drawn), computed, rtol=0, atol=0, msg=lambda m: f"{name}: {m}")
    assert len(shown) == 13
