"""The package as users get it: a wheel built from setup.py + settings.ini, imported outside the repo."""
import subprocess
import sys
import zipfile
from configparser import ConfigParser
from pathlib import Path

root = Path(__file__).resolve().parent.parent


def test_wheel_holds_the_modules_and_the_data_and_imports_outside_the_repo(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(tmp_path), str(root)], check=True, cwd=tmp_path)
    (wheel,) = tmp_path.glob("backprop-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    modules = sorted(p.name for p in (root / "backprop").glob("*.py"))
    assert {"__init__.py", "data.py", "forward.py", "grads.py"} <= set(modules)
    for mod in modules:
        assert f"backprop/{mod}" in names, f"backprop/{mod} is missing from the wheel"
    assert {"backprop/mnist_5k.npz", "backprop/DATA.md"} <= names
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    code = ("import backprop, sys; from backprop.grads import mse_grad, relu_grad, lin_grad, forward_and_backward; "
            "from backprop.data import load_mnist_sample; x, y = load_mnist_sample(); import backprop.layers, backprop.check, backprop.losses, backprop.train, backprop.autograd, backprop.fast; "
            "assert x.shape == (5000, 784); print(backprop.__version__, backprop.__file__)")
    env = {"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-I", "-c", f"import sys; sys.path.insert(0, {str(site)!r}); {code}"],
                         cwd=tmp_path, capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr
    version, location = out.stdout.split()
    cfg = ConfigParser(); cfg.read(root / "settings.ini")
    assert version == cfg["DEFAULT"]["version"]
    assert Path(location).is_relative_to(site), f"imported {location}, not the wheel's copy"
