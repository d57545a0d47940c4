"""Build the static HTML site of the course: `make docs` (or `python tools/build_site.py`).

    _site/index.html        the chapter list and the API pages
    _site/NN_name.html      each chapter (NN < 90) and appendix (NN >= 90) of nbs/, executed, with
                            its outputs (figures embedded)
    _site/answers/NAME.html the answers to a chapter's questionnaire (nbs/answers/, markdown only)
    _site/exercises/NAME.html  the exercise notebooks (nbs/exercises/), shown as handed out: not run
    _site/solutions/NAME.html  their worked solutions (nbs/solutions/), not run, reached from the exercise page's
                            link only: not in the sidebar, nor in the search (a learner opens them on purpose)
    _site/api/MODULE.html   each module of the package: its `__all__`, signatures and docstrings
    _site/mathjax/          MathJax 3 from the npm registry (`make mathjax`), so math needs no CDN
    _site/search_index.js   every section of every page, searched offline by lunr.js (npm) in search.js

Every page has the same sidebar: the chapters in order, the exercises, the appendices and the API, the current
page highlighted, and a search box; chapters and appendices have previous / next links. On a narrow
screen (a phone) the sidebar folds behind a "Contents" button.

Chapters are executed with nbclient (`--jobs` at a time), or taken already executed from
`--executed DIR` (the browser test passes the notebooks it ran and saved in JupyterLab). Rendering
follows nbdev's conventions: `#|` directive lines are not shown, `#| hide` cells are left out,
`#| echo: false` hides a cell's code and `#| output: false` its outputs.
"""
import argparse
import functools
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

import markupsafe
import nbformat

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = Path(__file__).resolve().parent / "site"
MATHJAX = ROOT / "build/npm/node_modules/mathjax/es5"
LUNR = ROOT / "build/npm/node_modules/lunr/lunr.min.js"
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


@functools.cache
def _exporter():
    """nbconvert's lab page with the site's template: one exporter for every page of a build, so that
    its templates are compiled once (a new exporter per page compiled them 40 times, a third of the build)."""
    from nbconvert.exporters import HTMLExporter
    from traitlets.config import Config
    c = Config()
    c.TagRemovePreprocessor.enabled = True
    c.TagRemovePreprocessor.remove_input_tags = {"remove_input"}
    exporter = HTMLExporter(config=c, template_name="lab", extra_template_paths=[str(TEMPLATES)],
                            template_file="chapter.html.j2", embed_images=True)
    # The site shows the course's own notebooks, nothing a stranger wrote: no need for the template's sanitizer
    # (bleach's clean_html on every cell's input and output), which took 40 % of a build.
    exporter.register_filter("clean_html", lambda html: html)
    return exporter


def lab_css():
    """The styles nbconvert's lab template inlines into every page (its block `notebook_css`: JupyterLab's CSS, the
    light theme, its own rules), as one stylesheet: the site's pages link it (tools/site/chapter.html.j2)."""
    env = _exporter().environment
    template = env.get_template("lab/index.html.j2")
    resources = {"include_css": lambda name: markupsafe.Markup(env.loader.get_source(env, name)[0]), "theme": "light"}
    block = "".join(template.blocks["notebook_css"](template.new_context({"resources": resources})))
    return re.sub(r"</?style[^>]*>", "", block).strip() + "\n"


def render_chapter(nb, nb_dir, site):
    "One chapter as HTML (nbconvert's lab page with the site's template)."
    exporter = _exporter()
    # Figures are referenced from nbs/ as ../images/NAME.png (from nbs/exercises/ as ../../images/NAME.png);
    # nbconvert embeds only files under the folder it is given, so give it the folder that holds images/
    # (the one above nbs/) and rewrite the paths from there.
    here = Path(nb_dir).resolve()
    base = next((p for p in [here, *here.parents] if (p / "images").is_dir()), here.parent)
    cells = site_cells(nb)
    for cell in cells:
        if cell.cell_type == "markdown":
            cell.source = _notebook_links(_rebase(cell.source, Path(nb_dir), base))
    shown = nbformat.from_dict(dict(nb, cells=cells))
    body, _ = exporter.from_notebook_node(
        shown, resources={"metadata": {"path": str(base), "name": site["title"]}, "site": site})
    return body


LOCAL_REF = re.compile(r"(!\[[^\]]*\]\(\s*|<img\b[^>]*?\bsrc=[\"'])((?:\.\./|\./)?[^)\s\"':]+)")
NOTEBOOK_LINK = re.compile(r"(\]\(\s*)((?![a-z]+:)[^)\s]*?)\.ipynb(#[^)\s]*)?(\s*\))")


def _rebase(md, nb_dir, base):
    "Image paths of a markdown cell, relative to `nb_dir`, made relative to `base` where they exist."
    def fix(m):
        target = (nb_dir / m.group(2)).resolve()
        if target.is_file() and target.is_relative_to(base):
            return m.group(1) + target.relative_to(base).as_posix()
        return m.group(0)
    return LOCAL_REF.sub(fix, md)


def _notebook_links(md):
    "Markdown links to another notebook (`answers/05_layers.ipynb`) point to its page (`answers/05_layers.html`)."
    return NOTEBOOK_LINK.sub(lambda m: f"{m[1]}{m[2]}.html{m[3] or ''}{m[4]}", md)


def short_title(title):
    "The sidebar's name of a page: its title up to the colon ('3. The backward pass: what ...' -> '3. The backward pass')."
    return title.split(":")[0].strip()


def page_kind(path):
    "'chapter' for nbs/NN_*.ipynb with NN < 90, 'appendix' for 90 and up, else 'page'."
    m = re.match(r"(\d+)_", Path(path).name)
    return "page" if not m else "chapter" if int(m.group(1)) < 90 else "appendix"


def sidebar(plan, current, root):
    """The sidebar's HTML for the page `current` (its href from the site's root): home, search, the
    chapters, the appendices and the API, the current page marked `aria-current="page"`."""
    def link(href, name):
        here = ' aria-current="page"' if href == current else ""
        return f'<li><a href="{root}{href}"{here}>{html.escape(name)}</a></li>'

    groups = [("Chapters", [(p["href"], p["short"]) for p in plan["chapters"] if p["kind"] == "chapter"]),
              ("Exercises", [(p["href"], p["short"]) for p in plan.get("exercises", [])]),
              ("Appendices", [(p["href"], p["short"]) for p in plan["chapters"] if p["kind"] != "chapter"]),
              ("API", [(f"api/{m}.html", f"backprop.{m}") for m in plan["modules"]])]
    parts = ['<input type="checkbox" id="bp-menu-toggle" class="bp-menu-toggle">',
             f'<header class="bp-topbar"><label for="bp-menu-toggle" class="bp-menu-button">&#9776; Contents</label>'
             f'<a href="{root}index.html">backprop</a></header>',
             '<nav class="bp-sidebar" aria-label="The course">',
             f'<a class="bp-home" href="{root}index.html">backprop</a>',
             f'<div class="bp-search"><input type="search" id="bp-search" placeholder="Search the course" '
             f'aria-label="Search the course" autocomplete="off" data-root="{root}">'
             f'<ol class="bp-results" id="bp-results"></ol></div>']
    for name, items in groups:
        if items:
            parts.append(f'<p class="bp-group">{name}</p><ol>' + "".join(link(h, n) for h, n in items) + "</ol>")
    parts.append("</nav>")
    return "\n".join(parts)


def pager(prev, nxt, root):
    "Previous / next links (each a page of the plan, or None)."
    left = f'<a class="bp-prev" rel="prev" href="{root}{prev["href"]}">&larr; {html.escape(prev["short"])}</a>' if prev else ""
    right = f'<a class="bp-next" rel="next" href="{root}{nxt["href"]}">{html.escape(nxt["short"])} &rarr;</a>' if nxt else ""
    return f'<nav class="bp-pager" aria-label="Previous and next">{left}{right}</nav>'


def simple_page(plan, href, title, body):
    "A page that is not a notebook (the index, an API page): the site's sidebar and MathJax around `body`."
    root = "../" * href.count("/")
    mathjax = (TEMPLATES / "mathjax_local.html.j2").read_text().replace("{{ resources.site.root }}", root)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)}</title><link rel="stylesheet" href="{root}site.css">
{mathjax}</head>
<body>
{sidebar(plan, href, root)}
<div class="bp-content"><main class="bp-page tex2jax_process">
{body}
</main></div>
<script src="{root}search.js"></script>
</body></html>
"""


def api_page(plan, modname, chapter_href):
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
    return simple_page(plan, f"api/{modname}.html", f"backprop.{modname}", "\n".join(parts))


def _md(text):
    "A docstring as HTML: markdown (backticks become code), math left for MathJax."
    from nbconvert.filters.markdown import markdown2html_mistune
    return f'<div class="tex2jax_process">{markdown2html_mistune(text)}</div>'


def _describe(name, obj):
    if callable(obj):
        try:
            sig = ADDRESS.sub(r"\1", f"{name}{inspect.signature(obj)}")
        except (TypeError, ValueError):
            sig = name
        kind = "class" if inspect.isclass(obj) else "def"
        doc = inspect.getdoc(obj) or "(no docstring)"
        return f"<pre><code>{kind} {html.escape(sig)}</code></pre>\n{_md(doc)}"
    value = ADDRESS.sub(r"\1", repr(obj))[:200]
    return f"<pre><code>{html.escape(name)} = {html.escape(value)}</code></pre>"


# A function in a signature or a value reads as its name, not `<function f at 0x7f...>` (an address that changes every build).
ADDRESS = re.compile(r"<(?:built-in )?function ([\w.<>]+)(?: at 0x[0-9a-f]+)?>")
HEADING = re.compile(r"^(#{1,3})\s+(.+?)\s*#*\s*$", re.M)


def _heading_id(text):
    "The id nbconvert gives a markdown heading (its anchor), so that a search result can link to it."
    from nbconvert.filters.markdown import markdown2html_mistune
    m = re.search(r'\bid="([^"]*)"', markdown2html_mistune(f"## {text}"))
    return html.unescape(m.group(1)) if m else ""


def search_docs(page, nb):
    """The search index's entries for one notebook page: one per section (a markdown heading of level
    1-3, outside a fenced code block, and what follows it: prose and code), each
    {'page', 'heading', 'href', 'text'}."""
    docs, cur, fenced = [], None, False
    for cell in site_cells(nb):
        for line in cell.source.splitlines():
            if cell.cell_type == "markdown" and line.lstrip().startswith("```"):
                fenced = not fenced
            m = HEADING.match(line) if cell.cell_type == "markdown" and not fenced else None
            if m or cur is None:
                heading = m.group(2).replace("`", "") if m else page["short"]
                href = f"{page['href']}#{_heading_id(m.group(2))}" if m else page["href"]
                cur = {"page": page["short"], "heading": heading, "href": href, "text": ""}
                docs.append(cur)
            if not m:
                cur["text"] += " " + " ".join(line.split())
        fenced = False
    for d in docs:
        d["text"] = " ".join(d["text"].split())[:4000]
        d["snippet"] = " ".join(PROSE_NOISE.sub(" ", d["text"]).split())[:110]
    return docs


# What a search result's snippet leaves out of a section's text: math, and markdown's marks.
PROSE_NOISE = re.compile(r"\$\$.*?\$\$|\$[^$]*\$|[*`>#|]|\\[a-z]+", re.S)


def plan(out, notebooks=None, api=True):
    """Empty `out`, put the site's fixed files in it (CSS, MathJax, search) and return the plan of the
    site: {'out', 'chapters': [{'path', 'href', 'title', 'short', 'kind', 'module', 'site'}], 'answers',
    'exercises', 'modules'}. 'chapters' are the notebooks given (default nbs/*.ipynb: chapters, then
    appendices); 'answers' and 'exercises' the notebooks of nbs/answers/ and nbs/exercises/. Titles, modules, links and the search index come from the
    notebooks as they are: executing a notebook changes none of them, so the pages can then be written
    in any order, each as soon as its notebook has run."""
    out = Path(out)
    paths = [Path(p).resolve() for p in (notebooks or sorted((ROOT / "nbs").glob("*.ipynb")))]
    if not paths:
        raise SystemExit("build_site: no notebooks found in nbs/")
    for need, how in ((MATHJAX / "tex-chtml-full.js", "MathJax"), (LUNR, "lunr.js")):
        if not need.exists():
            raise SystemExit(f"build_site: {how} is missing at {need}: run `make mathjax` (npm)")
    if out.exists():
        if not (out / MARKER).exists() and any(out.iterdir()):
            raise SystemExit(f"build_site: {out} exists and is not a site built here; not touching it")
        shutil.rmtree(out)
    (out / "api").mkdir(parents=True)
    (out / MARKER).write_text("built by tools/build_site.py; emptied by each build\n")
    for asset in ("site.css", "search.js"):
        shutil.copy(TEMPLATES / asset, out / asset)
    shutil.copy(LUNR, out / "lunr.min.js")
    (out / "mathjax").mkdir()
    shutil.copy(MATHJAX / "tex-chtml-full.js", out / "mathjax")
    shutil.copytree(MATHJAX / "output/chtml/fonts/woff-v2", out / "mathjax/output/chtml/fonts/woff-v2")
    (out / "lab.css").write_text(lab_css(), encoding="utf-8")

    def page(p, href):
        nb = nbformat.read(p, as_version=4)
        title = title_of(nb, p.stem)
        return dict(path=p, href=href, title=title, short=short_title(title), kind=page_kind(p),
                    module=module_of(nb), nb_source=nb)

    info = [page(p, page_name(p)) for p in paths]
    answers_dir = paths[0].parent / "answers"
    answers = [page(p, f"answers/{page_name(p)}") for p in sorted(answers_dir.glob("*.ipynb"))] if api else []
    exercises = [page(p, f"exercises/{page_name(p)}") for p in sorted((answers_dir.parent / "exercises").glob("*.ipynb"))] if api else []
    solutions = [page(p, f"solutions/{page_name(p)}") for p in sorted((answers_dir.parent / "solutions").glob("*.ipynb"))] if api else []
    modules = sorted(p.stem for p in (ROOT / "backprop").glob("*.py") if not p.stem.startswith("_")) if api else []
    site = {"out": out, "chapters": info, "answers": answers, "exercises": exercises, "solutions": solutions, "modules": modules}
    for i, ch in enumerate(info):
        ch["site"] = {"root": "", "title": ch["title"], "sidebar": sidebar(site, ch["href"], ""),
                      "pager": pager(info[i - 1] if i > 0 else None, info[i + 1] if i + 1 < len(info) else None, ""),
                      "api": ch["module"] and {"href": f"api/{ch['module']}.html", "name": f"backprop.{ch['module']}"}}
    chapter_by_stem = {ch["path"].stem: ch for ch in info}
    for a in answers:
        back = chapter_by_stem.get(a["path"].stem)
        a["site"] = {"root": "../", "title": a["title"], "sidebar": sidebar(site, a["href"], "../"),
                     "pager": pager(back, None, "../"), "api": None}
    for i, e in enumerate(exercises):                      # previous / next: the other exercise notebooks
        e["site"] = {"root": "../", "title": e["title"], "sidebar": sidebar(site, e["href"], "../"), "api": None,
                     "pager": pager(exercises[i - 1] if i else None, exercises[i + 1] if i + 1 < len(exercises) else None, "../")}
    exercise_by_stem = {e["path"].stem: e for e in exercises}
    for s in solutions:                                    # previous: back to the exercises it solves
        s["site"] = {"root": "../", "title": s["title"], "sidebar": sidebar(site, s["href"], "../"), "api": None,
                     "pager": pager(exercise_by_stem.get(s["path"].stem), None, "../")}
        s.pop("nb_source")                                 # not searched: a search while working must not show them
    docs = [d for p in info + answers + exercises for d in search_docs(p, p.pop("nb_source"))]
    (out / "search_index.js").write_text("window.BP_SEARCH_DOCS = " + json.dumps(docs, ensure_ascii=False) + ";\n",
                                         encoding="utf-8")
    return site


def write_chapter(plan, i, nb=None):
    "Write the page of chapter `i` of `plan`, from `nb` (executed) or else its notebook file as it is now."
    ch = plan["chapters"][i]
    nb = nb if nb is not None else nbformat.read(ch["path"], as_version=4)
    (plan["out"] / ch["href"]).write_text(render_chapter(nb, ch["path"].parent, ch["site"]), encoding="utf-8")


def write_index_and_api(plan):
    "Write the API page of each module of the plan, the pages of the answers, exercises and solutions (never executed), and the index."
    out, info, modules = plan["out"], plan["chapters"], plan["modules"]
    by_module = {ch["module"]: (ch["href"], ch["title"]) for ch in info if ch["module"]}
    for m in modules:
        (out / "api" / f"{m}.html").write_text(api_page(plan, m, by_module.get(m)), encoding="utf-8")
    for a in plan["answers"] + plan.get("exercises", []) + plan.get("solutions", []):
        (out / a["href"]).parent.mkdir(exist_ok=True)
        nb = nbformat.read(a["path"], as_version=4)
        (out / a["href"]).write_text(render_chapter(nb, a["path"].parent, a["site"]), encoding="utf-8")

    def row(ch):
        mod = ch["module"]
        api_link = f'<a href="api/{mod}.html">backprop.{mod}</a>' if mod else ""
        return (f'<tr><td><a href="{ch["href"]}">{html.escape(ch["path"].stem)}</a></td>'
                f'<td>{html.escape(ch["title"])}</td><td>{api_link}</td></tr>')

    def table(kind):
        rows = "\n".join(row(ch) for ch in info if (ch["kind"] == "chapter") == (kind == "chapter"))
        return f"<table><tr><th>notebook</th><th>question</th><th>module</th></tr>\n{rows}\n</table>"

    api = "\n".join(f'<li><a href="api/{m}.html">backprop.{m}</a></li>' for m in modules)
    exercises = "\n".join(f'<li><a href="{e["href"]}">{html.escape(e["title"])}</a></li>' for e in plan.get("exercises", []))
    body = (f"<h1>backprop</h1><p>Backpropagation from the foundations: every gradient derived, "
            f"implemented and checked. Each chapter below is a notebook of <code>nbs/</code>, shown "
            f"with its outputs. The search box of the sidebar searches every section of every page.</p>\n"
            f"<h2>Chapters</h2>\n{table('chapter')}\n"
            + (f"<h2>Exercises</h2>\n<p>Derive a gradient, write it, and a grader names your mistake: open these "
               f"notebooks of <code>nbs/exercises/</code> in JupyterLab.</p>\n<ul>\n{exercises}\n</ul>\n" if exercises else "")
            + f"<h2>Appendices</h2>\n{table('appendix')}\n"
            f"<h2>API</h2>\n<ul>\n{api}\n</ul>")
    (out / "index.html").write_text(simple_page(plan, "index.html", "backprop: the course", body), encoding="utf-8")


def build(out=ROOT / "_site", notebooks=None, executed_dir=None, jobs=2, api=True, log=print):
    """Write the site into `out` (an API page per module of the package, and the answers' pages,
    unless `api` is false); return the plan (see `plan`) with each chapter's executed notebook as
    'nb', and 'seconds'."""
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
        f"{t_exec:.1f} s), {len(site['answers'])} answer pages, {len(site['modules'])} API pages -> "
        f"{site['out']} in {site['seconds']:.1f} s")
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
