"""Build the static HTML site of the course: `make docs` (or `python tools/build_site.py`).

    _site/index.html        the chapter list and the API pages
    _site/NN_name.html      each chapter of nbs/, executed, with its outputs (figures embedded)
    _site/api/MODULE.html   each module of the package: its `__all__`, signatures and docstrings
    _site/mathjax/          MathJax 3 from the npm registry (`make mathjax`), so math needs no CDN

Chapters are executed with nbclient (`--jobs` at a time), or taken already executed from
`--executed DIR` (the browser test passes the notebooks it ran and saved in JupyterLab). Rendering
follows nbdev's conventions: `#|` directive lines are not shown, `#| hide` cells are left out,
`#| echo: false` hides a cell's code and `#| output: false` its outputs.
"""
import argparse
import html
import importlib
import inspect
import json
import re
import shutil
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = Path(__file__).resolve().parent / "site"
MATHJAX = ROOT / "build/npm/node_modules/mathjax/es5"
MARKER = ".backprop-site"  # only a folder holding this file is ever emptied by a build
DIRECTIVE = re.compile(r"^\s*#\|\s*(.*?)\s*$")


def directives(cell):
    "nbdev's `#| key: value` or `#| key value` lines of a code cell, as a dict (`#| hide` -> {'hide': ''})."
    out = {}
    for line in cell.source.splitlines():
        m = DIRECTIVE.match(line)
        if m:
            key, val = re.match(r"([\w-]*)\s*:?\s*(.*)", m.group(1)).groups()
            out[key] = val
    return out


def site_cells(nb):
    """The cells as the site shows them (a new list; `nb` is not changed): no `#|` lines, no
    `#| hide` cells, no code cell left empty without outputs; echo/output false honoured."""
    cells = []
    for cell in nb.cells:
        cell = nbformat.from_dict(json.loads(json.dumps(cell)))
        if cell.cell_type == "code":
            d = directives(cell)
            if "hide" in d or d.get("include") == "false":
                continue
            cell.source = "\n".join(l for l in cell.source.splitlines() if not DIRECTIVE.match(l)).strip("\n")
            if d.get("output") == "false":
                cell.outputs = []
            if d.get("echo") == "false":
                cell.metadata.setdefault("tags", []).append("remove_input")
            if not cell.source.strip() and not cell.outputs:
                continue
        cells.append(cell)
    return cells


def title_of(nb, default):
    "The first `# heading` of the notebook's markdown, without the #."
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            m = re.search(r"^#\s+(.+)$", cell.source, re.M)
            if m:
                return m.group(1).strip()
    return default


def module_of(nb):
    "The module a notebook exports to (`#| default_exp NAME`), or None."
    for cell in nb.cells:
        if cell.cell_type == "code":
            d = directives(cell)
            if "default_exp" in d:
                return d["default_exp"] or None
    return None


def execute(path, timeout=600):
    """Run a notebook with nbclient in its own folder (as JupyterLab would), but for cells marked
    `#| eval: false`; return it executed, or the error (a string) when a cell raised."""
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:  # as nbdev does, never run cells marked `#| eval: false`
        if cell.cell_type == "code" and directives(cell).get("eval") == "false":
            cell.metadata.setdefault("tags", []).append("skip-execution")
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(Path(path).parent)}})
    try:
        # The kernel's own stderr only says that it talks over local TCP: keep it quiet.
        client.execute(stderr=subprocess.DEVNULL)
    except CellExecutionError as e:
        return f"{Path(path).name}: a cell raised\n{str(e)[-3000:]}"
    return nb


def chapters(paths, executed_dir=None, jobs=2):
    "[(path, executed notebook)] for each notebook path, executed or read from `executed_dir`."
    if executed_dir:
        return [(p, nbformat.read(Path(executed_dir) / p.name, as_version=4)) for p in paths]
    with ProcessPoolExecutor(max_workers=max(1, jobs)) as pool:
        done = list(zip(paths, pool.map(execute, paths)))
    failed = [nb for _, nb in done if isinstance(nb, str)]
    if failed:
        raise SystemExit("build_site: executing the chapters failed:\n" + "\n\n".join(failed))
    return done


def page_name(path):
    return Path(path).stem + ".html"


def render_chapter(nb, nb_dir, site):
    "One chapter as HTML (nbconvert's lab page with the site's template)."
    from nbconvert.exporters import HTMLExporter
    from traitlets.config import Config
    c = Config()
    c.TagRemovePreprocessor.enabled = True
    c.TagRemovePreprocessor.remove_input_tags = {"remove_input"}
    exporter = HTMLExporter(config=c, template_name="lab", extra_template_paths=[str(TEMPLATES)],
                            template_file="chapter.html.j2", embed_images=True)
    # Figures are referenced from nbs/ as ../images/NAME.png; nbconvert embeds only files under
    # the folder it is given, so give it the folder above nbs/ and rewrite the paths from there.
    base = Path(nb_dir).resolve().parent
    cells = site_cells(nb)
    for cell in cells:
        if cell.cell_type == "markdown":
            cell.source = _rebase(cell.source, Path(nb_dir), base)
    shown = nbformat.from_dict(dict(nb, cells=cells))
    body, _ = exporter.from_notebook_node(
        shown, resources={"metadata": {"path": str(base), "name": site["title"]}, "site": site})
    return body


LOCAL_REF = re.compile(r"(!\[[^\]]*\]\(\s*|<img\b[^>]*?\bsrc=[\"'])((?:\.\./|\./)?[^)\s\"':]+)")


def _rebase(md, nb_dir, base):
    "Image paths of a markdown cell, relative to `nb_dir`, made relative to `base` where they exist."
    def fix(m):
        target = (nb_dir / m.group(2)).resolve()
        if target.is_file() and target.is_relative_to(base):
            return m.group(1) + target.relative_to(base).as_posix()
        return m.group(0)
    return LOCAL_REF.sub(fix, md)


CSS = """
body { margin: 0; }
.bp-nav { display: flex; gap: 1.5em; flex-wrap: wrap; padding: 0.6em 1.2em; background: #f3f3f3;
          border-bottom: 1px solid #ddd; font-family: sans-serif; font-size: 14px; }
.bp-nav a { color: #1a5fb4; text-decoration: none; }
.bp-page { max-width: 60em; margin: 1em auto; padding: 0 1.2em; font-family: sans-serif; line-height: 1.5; }
.bp-page table { border-collapse: collapse; }
.bp-page td, .bp-page th { border-bottom: 1px solid #ddd; padding: 0.3em 0.8em; text-align: left; vertical-align: top; }
.bp-page pre { background: #f6f8fa; padding: 0.6em; overflow-x: auto; }
.bp-api h3 { margin-bottom: 0.2em; }
"""


def simple_page(title, body, root=""):
    mathjax = (TEMPLATES / "mathjax_local.html.j2").read_text().replace("{{ resources.site.root }}", root)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)}</title><link rel="stylesheet" href="{root}site.css">
{mathjax}</head>
<body><nav class="bp-nav"><a href="{root}index.html">backprop: the course</a></nav>
<main class="bp-page tex2jax_process">
{body}
</main></body></html>
"""


def api_page(modname, chapter_href):
    "HTML for one module: each name of its `__all__` with its signature and docstring."
    importlib.invalidate_caches()
    mod = importlib.import_module(f"backprop.{modname}")
    names = getattr(mod, "__all__", None)
    if names is None:
        names = [n for n, o in vars(mod).items() if not n.startswith("_")
                 and getattr(o, "__module__", None) == mod.__name__]
    parts = [f"<h1>backprop.{modname}</h1>"]
    if mod.__doc__:
        parts.append(_md(inspect.cleandoc(mod.__doc__)))
    if chapter_href:
        parts.append(f'<p>Derived, implemented and checked in the chapter <a href="../{chapter_href[0]}">'
                     f"{html.escape(chapter_href[1])}</a>.</p>")
    parts.append('<div class="bp-api">')
    for name in names:
        obj = getattr(mod, name)
        parts.append(f'<h3 id="{html.escape(name)}"><code>{html.escape(name)}</code></h3>')
        parts.append(_describe(name, obj))
        if inspect.isclass(obj):
            for mname, meth in vars(obj).items():
                if mname.startswith("_") or not callable(meth):
                    continue
                parts.append(f"<h4><code>{html.escape(name)}.{html.escape(mname)}</code></h4>")
                parts.append(_describe(mname, meth))
    parts.append("</div>")
    return simple_page(f"backprop.{modname}", "\n".join(parts), root="../")


def _md(text):
    "A docstring as HTML: markdown (backticks become code), math left for MathJax."
    from nbconvert.filters.markdown import markdown2html_mistune
    return f'<div class="tex2jax_process">{markdown2html_mistune(text)}</div>'


def _describe(name, obj):
    if callable(obj):
        try:
            sig = f"{name}{inspect.signature(obj)}"
        except (TypeError, ValueError):
            sig = name
        kind = "class" if inspect.isclass(obj) else "def"
        doc = inspect.getdoc(obj) or "(no docstring)"
        return f"<pre><code>{kind} {html.escape(sig)}</code></pre>\n{_md(doc)}"
    return f"<pre><code>{html.escape(name)} = {html.escape(repr(obj)[:200])}</code></pre>"


def plan(out, notebooks=None, api=True):
    """Empty `out`, put the site's fixed files in it (CSS, MathJax) and return the plan of the site:
    {'out', 'chapters': [{'path', 'href', 'title', 'module', 'site'}], 'modules'}. Titles, modules and
    links come from the notebooks as they are: executing a notebook changes none of them, so the
    pages can then be written in any order, each as soon as its notebook has run."""
    out = Path(out)
    paths = [Path(p).resolve() for p in (notebooks or sorted((ROOT / "nbs").glob("*.ipynb")))]
    if not paths:
        raise SystemExit("build_site: no notebooks found in nbs/")
    if not (MATHJAX / "tex-chtml-full.js").exists():
        raise SystemExit(f"build_site: MathJax is missing at {MATHJAX}: run `make mathjax` (npm)")
    if out.exists():
        if not (out / MARKER).exists() and any(out.iterdir()):
            raise SystemExit(f"build_site: {out} exists and is not a site built here; not touching it")
        shutil.rmtree(out)
    (out / "api").mkdir(parents=True)
    (out / MARKER).write_text("built by tools/build_site.py; emptied by each build\n")
    (out / "site.css").write_text(CSS)
    (out / "mathjax").mkdir()
    shutil.copy(MATHJAX / "tex-chtml-full.js", out / "mathjax")
    shutil.copytree(MATHJAX / "output/chtml/fonts/woff-v2", out / "mathjax/output/chtml/fonts/woff-v2")
    info = []
    for p in paths:
        nb = nbformat.read(p, as_version=4)
        info.append(dict(path=p, href=page_name(p), title=title_of(nb, p.stem), module=module_of(nb)))
    for i, ch in enumerate(info):
        ch["site"] = {"root": "", "title": ch["title"],
                      "prev": i > 0 and {"href": info[i - 1]["href"], "name": info[i - 1]["path"].stem},
                      "next": i + 1 < len(info) and {"href": info[i + 1]["href"], "name": info[i + 1]["path"].stem},
                      "api": ch["module"] and {"href": f"api/{ch['module']}.html", "name": f"backprop.{ch['module']}"}}
    modules = sorted(p.stem for p in (ROOT / "backprop").glob("*.py") if not p.stem.startswith("_")) if api else []
    return {"out": out, "chapters": info, "modules": modules}


def write_chapter(plan, i, nb=None):
    "Write the page of chapter `i` of `plan`, from `nb` (executed) or else its notebook file as it is now."
    ch = plan["chapters"][i]
    nb = nb if nb is not None else nbformat.read(ch["path"], as_version=4)
    (plan["out"] / ch["href"]).write_text(render_chapter(nb, ch["path"].parent, ch["site"]), encoding="utf-8")


def write_index_and_api(plan):
    "Write the API page of each module of the plan, and the index."
    out, info, modules = plan["out"], plan["chapters"], plan["modules"]
    by_module = {ch["module"]: (ch["href"], ch["title"]) for ch in info if ch["module"]}
    for m in modules:
        (out / "api" / f"{m}.html").write_text(api_page(m, by_module.get(m)), encoding="utf-8")

    def row(ch):
        mod = ch["module"]
        api_link = f'<a href="api/{mod}.html">backprop.{mod}</a>' if mod else ""
        return (f'<tr><td><a href="{ch["href"]}">{html.escape(ch["path"].stem)}</a></td>'
                f'<td>{html.escape(ch["title"])}</td><td>{api_link}</td></tr>')

    rows = "\n".join(row(ch) for ch in info)
    api = "\n".join(f'<li><a href="api/{m}.html">backprop.{m}</a></li>' for m in modules)
    body = (f"<h1>backprop</h1><p>Backpropagation from the foundations: every gradient derived, "
            f"implemented and checked. Each chapter below is a notebook of <code>nbs/</code>, shown "
            f"with its outputs.</p>\n<h2>Chapters</h2>\n<table><tr><th>notebook</th><th>question</th>"
            f"<th>module</th></tr>\n{rows}\n</table>\n<h2>API</h2>\n<ul>\n{api}\n</ul>")
    (out / "index.html").write_text(simple_page("backprop: the course", body), encoding="utf-8")


def build(out=ROOT / "_site", notebooks=None, executed_dir=None, jobs=2, api=True, log=print):
    """Write the site into `out` (an API page per module of the package unless `api` is false);
    return the plan (see `plan`) with each chapter's executed notebook as 'nb', and 'seconds'."""
    t0 = time.monotonic()
    site = plan(out, notebooks, api)
    done = chapters([ch["path"] for ch in site["chapters"]], executed_dir, jobs)
    t_exec = time.monotonic() - t0
    for i, (_, nb) in enumerate(done):
        site["chapters"][i]["nb"] = nb
        write_chapter(site, i, nb)
    write_index_and_api(site)
    site["seconds"] = time.monotonic() - t0
    log(f"build_site: {len(done)} chapters ({'executed in' if not executed_dir else 'read in'} "
        f"{t_exec:.1f} s), {len(site['modules'])} API pages -> {site['out']} in {site['seconds']:.1f} s")
    return site


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(ROOT / "_site"))
    ap.add_argument("--executed", help="folder of already executed copies of the notebooks")
    ap.add_argument("--jobs", type=int, default=2, help="notebooks executed at a time")
    ap.add_argument("notebooks", nargs="*", help="default: nbs/*.ipynb")
    a = ap.parse_args()
    build(Path(a.out), a.notebooks or None, a.executed, a.jobs)


if __name__ == "__main__":
    sys.exit(main())
