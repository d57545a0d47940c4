"""The package as users get it, imported outside the repo: a wheel built from setup.py + settings.ini,
a source distribution (sdist) built into a package again, as `pip install backprop-*.tar.gz` does, and
what `pip install` of the wheel adds to an environment that already has torch, numpy and matplotlib."""
import importlib.metadata
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from configparser import ConfigParser
from pathlib import Path

import pytest
from packaging.requirements import Requirement

root = Path(__file__).resolve().parent.parent
cfg = ConfigParser(); cfg.read(root / "settings.ini")
VERSION = cfg["DEFAULT"]["version"]


def _run(cmd, cwd, env=None):
    res = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env=env)
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


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    "The package's wheel, built once for this file's tests (pip wheel of the repository, as a user builds it)."
    out = tmp_path_factory.mktemp("wheel")
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out), str(root)],
         cwd=out)
    (whl,) = out.glob("backprop-*.whl")
    return whl


def test_wheel_holds_the_modules_and_the_data_and_imports_outside_the_repo(tmp_path, wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    modules = sorted(p.name for p in (root / "backprop").glob("*.py"))
    assert {"__init__.py", "data.py", "forward.py", "grads.py"} <= set(modules)
    for mod in modules:
        assert f"backprop/{mod}" in names, f"backprop/{mod} is missing from the wheel"
    assert {"backprop/mnist_5k.npz", "backprop/names.txt", "backprop/DATA.md"} <= names
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
    assert {"setup.py", "settings.ini", "README.md", "backprop/mnist_5k.npz", "backprop/names.txt", "backprop/DATA.md"} <= names
    site = tmp_path / "site"                   # pip builds the sdist into a wheel and installs it here
    _run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-build-isolation", "--no-index", "-q",
          "--target", str(site), str(sdist)], cwd=tmp_path)
    _import_from(site, tmp_path)


# What `pip install backprop` may add to an environment that has torch, numpy and matplotlib: the package and
# its progress bar. A new requirement goes here on purpose, after a look at what it pulls in.
ADDED_BY_THE_INSTALL = {"backprop", "fastprogress"}
# A web framework (fastprogress 1.1 and later pull python-fasthtml, with starlette, uvicorn and httpx2).
WEB_FRAMEWORK = {"python-fasthtml", "starlette", "uvicorn", "httpx", "httpx2", "fastlite", "oauthlib", "websockets"}


def _canonical(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def _closure(names):
    "The distributions of this environment that `names` need, with what they need in turn: {canonical name: dist}."
    seen, todo = {}, list(names)
    while todo:
        name = todo.pop()
        if _canonical(name) in seen: continue
        try: dist = importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError: continue
        seen[_canonical(name)] = dist
        todo += [r.name for r in map(Requirement, dist.requires or []) if r.marker is None or r.marker.evaluate({"extra": ""})]
    return seen


def _distributions(python, cwd):
    "{canonical name: total bytes of its installed files} of every distribution the interpreter `python` sees."
    code = ("import importlib.metadata as m, json; print(json.dumps({d.metadata['Name']: "
            "sum(f.size or 0 for f in d.files or []) for d in m.distributions()}))")
    out = subprocess.run([str(python), "-I", "-c", code], cwd=cwd, capture_output=True, text=True, env={"PATH": "/usr/bin:/bin"})
    assert out.returncode == 0, out.stderr
    return {_canonical(k): v for k, v in json.loads(out.stdout).items()}


def test_install_adds_no_web_framework(tmp_path, wheel, record_property):
    """pip install of the wheel into a venv that already has torch, numpy and matplotlib (this environment's own,
    linked in, so nothing large is downloaded) adds the package and fastprogress, and no web framework."""
    base = tmp_path / "base"                   # links to torch, numpy, matplotlib and what they need, nothing else
    base.mkdir()
    for dist in _closure(["torch", "numpy", "matplotlib"]).values():
        for top in {Path(f).parts[0] for f in dist.files or []} - {"..", "__pycache__"}:
            if not (base / top).exists(): (base / top).symlink_to(dist.locate_file(top))
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], cwd=tmp_path)
    python = venv / "bin" / "python"
    site = _run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], cwd=tmp_path).stdout.strip()
    Path(site, "torch_numpy_matplotlib.pth").write_text(f"{base}\n")
    before = _distributions(python, tmp_path)
    assert {"torch", "numpy", "matplotlib"} <= set(before) and not WEB_FRAMEWORK & set(before), before

    no_repo = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}   # else pip finds the repo's backprop installed
    _run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q", str(wheel)], cwd=tmp_path, env=no_repo)
    after = _distributions(python, tmp_path)
    added = {name: size for name, size in after.items() if name not in before}
    assert not WEB_FRAMEWORK & set(after), f"the install brought a web framework: {sorted(WEB_FRAMEWORK & set(after))}"
    assert set(added) == ADDED_BY_THE_INSTALL, f"pip install added {sorted(added)}, expected {sorted(ADDED_BY_THE_INSTALL)}"
    _run([str(python), "-I", "-c", "import backprop.train, backprop.losses, backprop.cli; from backprop.train import fit; from backprop.cli import main"], cwd=tmp_path)
    record_property("summary", "pip install of the wheel beside torch, numpy, matplotlib adds "
                    + ", ".join(f"{n} ({s / 1024:.0f} KiB)" for n, s in sorted(added.items()))
                    + f": {sum(added.values()) / 1024:.0f} KiB in all")
