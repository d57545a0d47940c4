"""The package's import structure: backprop.guards is the ground floor (it imports no module of the package, at
import time or inside a function), and no module reaches itself through the imports of others (no circle)."""
import ast
from pathlib import Path

import backprop

PACKAGE = Path(backprop.__file__).resolve().parent


def package_imports(path):
    "The modules of the package that the file at `path` imports anywhere (top level or inside a function)."
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and (node.level or (node.module or "").startswith("backprop")):
            base = (node.module or "").split(".")[-1] if node.module != "backprop" else ""
            found |= {base} if base else {a.name for a in node.names}
        elif isinstance(node, ast.Import):
            found |= {a.name.split(".")[1] for a in node.names if a.name.startswith("backprop.")}
    return found - {path.stem}


def test_guards_import_no_module_of_the_package(fresh_import):
    assert package_imports(PACKAGE / "guards.py") == set()
    assert fresh_import("backprop.guards")["backprop"] == ["backprop.guards"]     # and importing it loads no other


def test_the_scan_sees_imports_inside_functions(tmp_path):
    "The test above must not pass vacuously: a call-time import (as guards once had) is found."
    (tmp_path / "guards.py").write_text("import torch\ndef f():\n    from backprop import data\n    from .check import X\n")
    assert package_imports(tmp_path / "guards.py") == {"data", "check"}
