"""The package as users get it, imported outside the repo: a wheel built from setup.py + settings.ini,
and a source distribution (sdist) built into a package again, as `pip install backprop-*.tar.gz` does."""
import importlib.util
import shutil
import subprocess
import sys
import tarfile
import zipfile
from configparser import ConfigParser
from pathlib import Path

root = Path(__file__).resolve().parent.parent
cfg = ConfigParser(); cfg.read(root / "settings.ini")
VERSION = cfg["DEFAULT"]["version"]


def _run(cmd, cwd):
    res = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    assert res.returncode == 0, f"{' '.join(map(str, cmd))} failed:\n{res.stdout[-3000:]}\n{res.stderr[-3000:]}"
    return res


def _import_from(site, cwd):
    """Import backprop and every module from `site` alone (python -I: no repo, no PYTHONPATH), load the
    shipped digits; return (backprop.__version__, backprop.__file__)."""
    code = ("import backprop, sys; from backprop.grads import mse_grad, relu_grad, lin_grad, forward_and_backward; "
            "from backprop.data import load_mnist_sample; x, y = load_mnist_sample(); import backprop.layers, backprop.check, backprop.losses, backprop.train, backprop.autograd, backprop.fast; "
            "assert x.shape == (5000, 784); print(backprop.__version__, backprop.__file__)")
    env = {"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-I", "-c", f"import sys; sys.path.insert(0, {str(site)!r}); {code}"],
                         cwd=cwd, capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr
    version, location = out.stdout.split()
    assert version == VERSION
    assert Path(location).is_relative_to(site), f"imported {location}, not the installed copy"
    return version, location


def test_wheel_holds_the_modules_and_the_data_and_imports_outside_the_repo(tmp_path):
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
          "-w", str(tmp_path), str(root)], cwd=tmp_path)
    (wheel,) = tmp_path.glob("backprop-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    modules = sorted(p.name for p in (root / "backprop").glob("*.py"))
    assert {"__init__.py", "data.py", "forward.py", "grads.py"} <= set(modules)
    for mod in modules:
        assert f"backprop/{mod}" in names, f"backprop/{mod} is missing from the wheel"
    assert {"backprop/mnist_5k.npz", "backprop/DATA.md"} <= names
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    _import_from(site, tmp_path)


def test_sdist_holds_what_setup_py_reads_and_installs(tmp_path):
    "setup.py reads settings.ini: an sdist without it (no MANIFEST.in) fails to install with KeyError 'lib_name'."
    # Built from a copy of the tree as a clean clone has it: setuptools also puts in an sdist every file
    # that an old backprop.egg-info/SOURCES.txt lists, which would hide a file missing from MANIFEST.in.
    src, dist = tmp_path / "src", tmp_path / "dist"
    shutil.copytree(root, src, ignore=shutil.ignore_patterns(".*", "*.egg-info", "build", "dist", "_site", "_docs",
                                                             "_proc", "__pycache__", "artifacts"))
    if importlib.util.find_spec("build"):     # PyPA's `build`, when the venv has it; else setuptools' own command
        _run([sys.executable, "-m", "build", "--sdist", "--no-isolation", "--outdir", str(dist), str(src)], cwd=src)
    else:
        _run([sys.executable, "setup.py", "-q", "sdist", "--dist-dir", str(dist)], cwd=src)
    (sdist,) = dist.glob("backprop-*.tar.gz")
    with tarfile.open(sdist) as tar:
        names = {n.split("/", 1)[1] for n in tar.getnames() if "/" in n}
    assert {"setup.py", "settings.ini", "README.md", "backprop/mnist_5k.npz", "backprop/DATA.md"} <= names
    site = tmp_path / "site"                   # pip builds the sdist into a wheel and installs it here
    _run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-build-isolation", "--no-index", "-q",
          "--target", str(site), str(sdist)], cwd=tmp_path)
    _import_from(site, tmp_path)
