"""Install `backprop` from `settings.ini`, the single place where name, version and requirements live.

nbdev's template setup.py imports `pkg_resources`, which current setuptools no longer ships;
this one needs only the standard library and setuptools.
"""
from configparser import ConfigParser
from pathlib import Path

import setuptools

here = Path(__file__).parent
settings = here / "settings.ini"
if not settings.is_file():  # ConfigParser.read would skip it silently, and fail later on a missing key
    raise SystemExit(f"setup.py: {settings} is missing: name, version and requirements are read from it "
                     "(a source distribution must include it: see MANIFEST.in)")
cfg = ConfigParser(delimiters=["="])
cfg.read(settings, encoding="utf-8")
cfg = cfg["DEFAULT"]

licenses = {"apache2": "Apache Software License 2.0"}
readme = here / "README.md"

setuptools.setup(
    name=cfg["lib_name"],
    version=cfg["version"],
    description=cfg["description"],
    long_description=readme.read_text(encoding="utf-8") if readme.exists() else cfg["description"],
    long_description_content_type="text/markdown",
    author=cfg["author"],
    license=licenses[cfg["license"]],
    keywords=cfg["keywords"].split(),
    python_requires=">=" + cfg["min_python"],
    packages=setuptools.find_packages(include=[cfg["lib_name"], cfg["lib_name"] + ".*"]),
    package_data={cfg["lib_name"]: ["*.npz", "*.txt", "DATA.md"]},
    include_package_data=True,
    install_requires=cfg["requirements"].split(),
    extras_require={"dev": cfg["dev_requirements"].split()},
    zip_safe=False,
    entry_points={"nbdev": [f"{cfg['lib_path']}={cfg['lib_path']}._modidx:d"]},
)
