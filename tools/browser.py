"""Open the course as a learner does: JupyterLab and the static site in headless Chromium.

Used by tests/test_browser.py, and runnable by hand:

    .venv/bin/python tools/browser.py [nbs/02_forward.ipynb ...]   # default: every nbs/*.ipynb

runs each notebook with Run > Run All Cells in JupyterLab and prints what is wrong with it.

Chromium is Debian's (`/usr/bin/chromium`, installed by `make chromium`), driven by Playwright's
Python API; Playwright's own browser download is never used. The Jupyter server is started with the
flags `make lab` uses (the Makefile's LAB_FLAGS: its root, its landing page), from a folder laid out
like the repository, so the browser sees the course as `make lab` shows it. It is bound to
127.0.0.1 on a free port with a token, keeps its config, data, runtime and settings in a temporary
folder, and every browser request that is not to 127.0.0.1 is aborted and reported.
"""
import asyncio
import contextlib
import functools
import http.server
import json
import os
import re
import secrets
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")  # Debian's; `make chromium` installs it
# Without the background-networking flags Chromium keeps trying to reach Google's hosts.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage"]
VIEWPORT = {"width": 1280, "height": 1000}
# Math in a markdown cell's source: $...$, $$...$$, \(...\), \[...\] or a LaTeX environment.
MATH_SRC = re.compile(r"\$[^$\s][^$]*?\$|\\\(|\\\[|\\begin\{")
# Math left as text after typesetting: a pair of dollars around something, or \( / \[ delimiters.
RAW_MATH = re.compile(r"\$[^$\s][^$]*?\$|\\\(.+?\\\)|\\\[.+?\\\]", re.S)
ERROR_TEXT = re.compile(r"Traceback \(most recent call last\)|^\w*(Error|Exception)\b", re.M)


REPO = Path(__file__).resolve().parent.parent


def lab_flags():
    """The flags `make lab` gives JupyterLab: the Makefile's `LAB_FLAGS := ...` line, as a list.
    Relative paths in them (the server's root) are relative to the repository, where `make` runs."""
    m = re.search(r"^LAB_FLAGS\s*:?=(.*)$", (REPO / "Makefile").read_text(), re.M)
    if not m or not m.group(1).strip():
        raise RuntimeError("the Makefile has no `LAB_FLAGS := ...` line (the flags of `make lab`)")
    return shlex.split(m.group(1))


def flag_value(flags, name, default):
    "The value of the last `--name=value` in `flags`, else `default`."
    values = [f.split("=", 1)[1] for f in flags if f.startswith(f"--{name}=")]
    return values[-1] if values else default


def free_port():
    "A TCP port on 127.0.0.1 that nothing listens on now."
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def chromium_missing_reason():
    "None when Chromium and Playwright can be used, else why not."
    if not os.access(CHROMIUM, os.X_OK):
        return f"{CHROMIUM} is missing: run `make chromium` (as root it installs Debian's chromium)"
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "the Python package playwright is missing: run `make install`"
    return None


def _write_json(path, obj):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj))


@contextlib.contextmanager
def jupyter_server(repo_dir, log_path=None):
    """Start `jupyter lab` in `repo_dir` (the repository, or a folder laid out like it by `stage`)
    with the flags of `make lab`, on 127.0.0.1; yield (base_url, token); stop it by its process.

    Config, data, runtime, settings and workspaces live in a temporary folder, so nothing of the
    user's JupyterLab (old tabs, extensions, news prompts) leaks in and nothing is written home.
    """
    with tempfile.TemporaryDirectory(prefix="backprop-jupyter-") as tmp:
        tmp = Path(tmp)
        env = dict(os.environ)
        for var, sub in [("JUPYTER_CONFIG_DIR", "config"), ("JUPYTER_DATA_DIR", "data"),
                         ("JUPYTER_RUNTIME_DIR", "runtime"), ("JUPYTERLAB_SETTINGS_DIR", "settings"),
                         ("JUPYTERLAB_WORKSPACES_DIR", "workspaces"), ("IPYTHONDIR", "ipython"),
                         ("MPLCONFIGDIR", "mpl")]:
            (tmp / sub).mkdir()
            env[var] = str(tmp / sub)
        env.pop("JUPYTER_TOKEN", None)
        env["PYDEVD_DISABLE_FILE_VALIDATION"] = "1"
        # No "Get Jupyter news?" toast, no update check.
        _write_json(tmp / "settings/@jupyterlab/apputils-extension/notification.jupyterlab-settings",
                    {"fetchNews": "false", "checkForUpdates": False})
        # Every cell in the page, also those below a cell that raised (by default JupyterLab
        # attaches far-off cells only when they are scrolled to).
        _write_json(tmp / "settings/@jupyterlab/notebook-extension/tracker.jupyterlab-settings",
                    {"windowingMode": "none"})
        # After a cell raises, the kernel drops the requests still queued behind it, but only those that
        # arrive within `stop_on_error_timeout` (0 s by default): on a busy machine Run All's next request
        # can arrive later and run. Give it time, so that "the cells after an error did not run" is what
        # JupyterLab shows every time (the broken-on-purpose notebook relies on it).
        (tmp / "ipython/profile_default").mkdir(parents=True)
        (tmp / "ipython/profile_default/ipython_kernel_config.py").write_text("c.Kernel.stop_on_error_timeout = 5.0\n")
        token, port = secrets.token_hex(16), free_port()
        cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
               "--port-retries=0", f"--IdentityProvider.token={token}", *lab_flags(),
               "--LabApp.expose_app_in_browser=True"]   # window.jupyterapp: to open notebooks as tabs
        if os.geteuid() == 0:
            cmd.append("--allow-root")
        log = open(log_path or tmp / "server.log", "w")
        proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=repo_dir)
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f"jupyter lab exited with {proc.returncode}; see {log.name}")
                try:
                    with urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2):
                        break
                except OSError:
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"jupyter lab did not answer on {base} in 60 s; see {log.name}")
                    time.sleep(0.2)
            yield base, token
        finally:
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            log.close()


@contextlib.contextmanager
def static_server(directory):
    "Serve `directory` over HTTP on 127.0.0.1 (a free port) in a thread; yield its base URL."
    handler = functools.partial(_QuietHandler, directory=str(directory))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@dataclass
class Report:
    "What one page showed: `problems` fail the test; `notes` are for the reader of the log."
    name: str
    problems: list = field(default_factory=list)
    notes: list = field(default_factory=list)
    seconds: float = 0.0
    screenshots: list = field(default_factory=list)
    executed: Path = None

    def __str__(self):
        lines = [f"{self.name}: {'ok' if not self.problems else 'FAILED'} in {self.seconds:.1f} s"]
        lines += [f"  problem: {p}" for p in self.problems] + [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)


async def new_context(browser, allowed_prefixes, blocked, viewport=VIEWPORT):
    """A browser context whose requests outside `allowed_prefixes` are aborted and listed in `blocked`."""
    context = await browser.new_context(viewport=viewport)

    async def guard(route):
        url = route.request.url
        if url.startswith(tuple(allowed_prefixes)) or url.startswith(("data:", "blob:")):
            await route.continue_()
        else:
            blocked.append(url)
            await route.abort()

    await context.route("**/*", guard)
    return context


@contextlib.asynccontextmanager
async def chromium():
    "Launch Debian's Chromium headless through Playwright; yield the browser."
    from playwright.async_api import async_playwright
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            await browser.close()


# One JavaScript function reads every cell of a page, in JupyterLab and in the nbconvert site alike
# (both use JupyterLab's CSS classes). For each cell: its kind, its prompt, its error outputs, the
# number of typeset formulas and of MathJax errors, the text left once formulas and code are
# removed, and every image with whether it loaded.
READ_CELLS_JS = r"""
async (root) => {
  const scope = root ? document.querySelector(root) : document;
  const cells = [...scope.querySelectorAll('.jp-Cell')];
  const out = [];
  for (const cell of cells) {
    const kind = cell.classList.contains('jp-CodeCell') ? 'code'
               : cell.classList.contains('jp-MarkdownCell') ? 'markdown' : 'raw';
    const prompt = cell.querySelector('.jp-InputArea .jp-InputPrompt');
    const errs = [...cell.querySelectorAll(
        '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')].map(e => e.textContent);
    const md = cell.querySelector('.jp-RenderedMarkdown, .jp-MarkdownOutput');
    let text = '', mjx = 0, merror = 0;
    if (md) {
      mjx = md.querySelectorAll('mjx-container, .MathJax, .MathJax_CHTML').length;
      merror = md.querySelectorAll('mjx-merror, .MathJax_Error, merror').length;
      const copy = md.cloneNode(true);
      copy.querySelectorAll('mjx-container, mjx-assistive-mml, script, code, pre, .MathJax, .MathJax_Preview')
          .forEach(e => e.remove());
      text = copy.textContent;
    }
    const imgs = [];
    for (const img of cell.querySelectorAll('img')) {
      if (!img.complete || img.naturalWidth === 0) {
        img.loading = 'eager';
        img.scrollIntoView();
        try { await Promise.race([img.decode(), new Promise(r => setTimeout(r, 3000))]); } catch (e) {}
      }
      imgs.push({src: (img.getAttribute('src') || '').split('?')[0].slice(0, 80), width: img.naturalWidth,
                 output: !!img.closest('.jp-OutputArea-output')});
    }
    out.push({kind, prompt: prompt ? prompt.textContent.trim() : null, errs, mjx, merror, text, imgs});
  }
  return out;
}
"""


def source_of(cell):
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def _label(i, cell):
    first = next((l for l in source_of(cell).splitlines() if l.strip()), "")
    return f"cell {i} ({cell['cell_type']}: {first[:60]!r})"


def check_cells(nb_cells, dom_cells, executed=True):
    """Compare a notebook's cells with what the page shows; return a list of problems.

    `executed`: every non-empty code cell must show a number (JupyterLab after Run All, or the site).
    """
    problems = []
    if len(nb_cells) != len(dom_cells):
        return [f"the page shows {len(dom_cells)} cells, the notebook has {len(nb_cells)}"]
    code = [i for i, c in enumerate(nb_cells) if c["cell_type"] == "code" and source_of(c).strip()]
    numbered, not_run = 0, []
    for i, (cell, dom) in enumerate(zip(nb_cells, dom_cells, strict=True)):
        where = _label(i, cell)
        if dom["kind"] != cell["cell_type"]:
            problems.append(f"{where}: shown as a {dom['kind']} cell")
            continue
        if cell["cell_type"] == "code":
            if re.search(r"\[\s*\d+\s*\]", dom["prompt"] or ""):
                numbered += 1
            elif executed and i in code:
                not_run.append(f"{where}: did not run (prompt {dom['prompt']!r})")
            for err in dom["errs"]:
                if ERROR_TEXT.search(err):
                    problems.append(f"{where}: error output: {err.strip().splitlines()[-1][:200]}")
        if cell["cell_type"] == "markdown":
            if dom["merror"]:
                problems.append(f"{where}: {dom['merror']} MathJax error(s) (bad TeX)")
            raw = RAW_MATH.search(dom["text"])
            if raw:
                problems.append(f"{where}: math left as raw text: {raw.group(0)[:60]!r}")
            elif MATH_SRC.search(source_of(cell)) and not dom["mjx"]:
                problems.append(f"{where}: has math in its source but nothing typeset")
        for img in dom["imgs"]:
            if not img["width"]:
                problems.append(f"{where}: image did not load: {img['src']!r}")
    if not_run:  # the first one, and how many more: after an error every later cell is unnumbered
        problems.append(not_run[0] + (f", and {len(not_run) - 1} more code cells after it" if len(not_run) > 1 else ""))
    if executed and numbered != len(code):
        problems.append(f"{numbered} numbered code cells of {len(code)}")
    return problems


def summary(dom):
    "One line: what the page showed."
    ran = sum(1 for d in dom if d["kind"] == "code" and re.search(r"\[\s*\d+\s*\]", d["prompt"] or ""))
    return (f"{ran} code cells numbered, {sum(d['mjx'] for d in dom)} formulas typeset in "
            f"{sum(1 for d in dom if d['mjx'])} markdown cells, "
            f"{sum(1 for d in dom for i in d['imgs'] if i['width'])} images loaded")


def image_outputs(nb):
    "How many image outputs an executed notebook holds."
    return sum(any(k.startswith("image/") for k in o.get("data", {}))
               for c in nb["cells"] if c["cell_type"] == "code" for o in c.get("outputs", []))


async def _wait_for(page, js, timeout_s, arg=None):
    try:
        await page.wait_for_function(js, arg=arg, timeout=timeout_s * 1000, polling=250)
        return True
    except Exception:  # playwright's TimeoutError
        return False


async def open_lab(context, base, token, disable=()):
    """Open JupyterLab (an empty workspace) in a new page of `context` at the page `make lab` lands on
    (LAB_FLAGS' default_url) and wait until it has started.
    `disable`: JupyterLab plugins to switch off in this page only (to show that the checks see what
    happens without them, e.g. no MathJax). Returns (page, page_errors): the list fills as the page logs errors."""
    page = await context.new_page()
    page_errors = []
    page.on("pageerror", lambda e: page_errors.append(str(e)))
    if disable:
        await page.add_init_script(DISABLE_PLUGINS_JS.replace("PLUGINS", json.dumps(list(disable))))
    landing = flag_value(lab_flags(), "LabApp.default_url", "/lab")
    await page.goto(f"{base}{landing}?reset&token={token}", wait_until="domcontentloaded", timeout=60000)
    if not await _wait_for(page, "() => window.jupyterapp && document.querySelector('#jp-main-dock-panel')", 60):
        raise RuntimeError("JupyterLab did not start within 60 s (window.jupyterapp missing)")
    await page.evaluate("async () => { await window.jupyterapp.restored; }")
    return page, page_errors


# Open a notebook in the page's JupyterLab as a new tab (what a double-click in the file browser
# does); return the panel's DOM id, by which every later step finds this notebook and no other.
OPEN_JS = """async (path) => {
    const w = await window.jupyterapp.commands.execute('docmanager:open', {path, factory: 'Notebook'});
    await w.context.ready;
    window.jupyterapp.shell.activateById(w.id);
    (window.__bpPanels = window.__bpPanels || {})[w.id] = w;
    return w.id; }"""
# Close the tab and shut its kernel down, so that the next notebook has the page and the cores.
CLOSE_JS = """async (id) => { const w = window.__bpPanels[id]; delete window.__bpPanels[id];
    try { await w.sessionContext.shutdown(); } finally { w.dispose(); } }"""


def _kernel_ready_js(p):
    "JavaScript: the notebook panel `p` (a CSS selector) has a kernel, idle (the indicator alone reads idle before one exists)."
    return f"""() => {{
        const ind = document.querySelector('{p} .jp-Notebook-ExecutionIndicator');
        const kn = document.querySelector('{p} .jp-NotebookPanel-toolbar .jp-KernelName, {p} .jp-NotebookPanel-toolbar [data-jp-item-name="kernelName"]');
        return ind && ind.getAttribute('data-status') === 'idle' && kn && kn.textContent.trim()
               && !/No Kernel|Connecting|Starting/i.test(kn.textContent); }}"""


async def _run_all_cells(page, p, timeout_s):
    """Run > Run All Cells, from the menu as a person would, in the notebook panel `p`; wait until it has
    finished (no [*] prompt, some prompt numbered, the kernel idle: twice in a row, 250 ms apart). False on a timeout."""
    await page.locator("li.lm-MenuBar-item", has_text=re.compile(r"^Run$")).click()
    await page.locator(".lm-Menu-item:visible .lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).click()
    await page.evaluate("() => { window.__bpDone = false; }")
    done_js = f"""() => {{
        const ps = [...document.querySelectorAll('{p} .jp-CodeCell .jp-InputPrompt')];
        const busy = ps.some(q => q.textContent.includes('*'));
        const ran = ps.some(q => /\\[\\s*\\d+\\s*\\]/.test(q.textContent));
        const ind = document.querySelector('{p} .jp-Notebook-ExecutionIndicator');
        const idle = ind && ind.getAttribute('data-status') === 'idle';
        const now = !busy && ran && idle;
        const ok = now && window.__bpDone;
        window.__bpDone = now;
        return ok; }}"""
    return await _wait_for(page, done_js, timeout_s)


@contextlib.asynccontextmanager
async def _notebook_tab(page, relpath, rep):
    """Open `relpath` (relative to the server's root) as a tab of `page` and yield its panel's id; on the way
    out close it with its kernel and set `rep.seconds`. An exception inside becomes one of `rep`'s problems:
    a broken page fails the test with a reason, it never hangs it."""
    t0, panel_id = time.monotonic(), None
    try:
        panel_id = await page.evaluate(OPEN_JS, relpath)
        yield panel_id
    except Exception as e:  # playwright's errors, and our own page scripts'
        rep.problems.append(f"browser step failed: {type(e).__name__}: {str(e).splitlines()[0][:300]}")
    finally:
        rep.seconds = time.monotonic() - t0
        if panel_id:
            with contextlib.suppress(Exception):
                await page.evaluate(CLOSE_JS, panel_id)


async def run_in_lab(page, page_errors, relpath, shots_dir=None, timeout_s=240, settle_s=5):
    """In `page` (a JupyterLab from `open_lab`), open `relpath` (relative to the server's root) as a
    tab, Run All Cells as a person would (the Run menu), save it, keep what every cell shows in the
    Report's `dom`, take a screenshot, and close the tab with its kernel. `settle_s`: how long to give
    MathJax to finish typesetting once the cells have run."""
    name = Path(relpath).stem
    rep = Report(name)
    t0 = time.monotonic()
    del page_errors[:]
    async with _notebook_tab(page, relpath, rep) as panel_id:
        p = f"#{panel_id}"                                  # every selector below stays inside this notebook
        await _wait_for(page, f"() => document.querySelector('{p} .jp-Cell')", 60)
        t_shown = time.monotonic()
        if not await _wait_for(page, _kernel_ready_js(p), 90):
            rep.problems.append("the kernel did not become idle within 90 s of opening")
            return rep
        t_ready = time.monotonic()
        if not await _run_all_cells(page, p, timeout_s):
            rep.problems.append(f"Run All Cells did not finish within {timeout_s} s")
        t_run = time.monotonic()
        # Save as a person would (Ctrl+S), and wait for the tab's dirty mark to go.
        await page.locator(f"{p} .jp-Notebook").first.click(position={"x": 5, "y": 5})
        await page.keyboard.press("Escape")
        await page.keyboard.press("Control+s")
        if not await _wait_for(page, """() => !document.querySelector('.lm-TabBar-tab.jp-mod-dirty')""", 30):
            # What is checked next is the file on disk: unsaved, it is the copy that never ran.
            rep.problems.append("the notebook did not save within 30 s (Ctrl+S): the saved copy is not the run one")
        # Math typesetting can lag rendering: give it a few seconds to finish.
        await _wait_for(page, f"""() => {{ const mds = [...document.querySelectorAll('{p} .jp-MarkdownCell .jp-RenderedMarkdown')];
            return mds.every(m => !/\\$[^$\\s][^$]*?\\$/.test(m.textContent) || m.querySelector('mjx-container')); }}""", settle_s)
        t_saved = time.monotonic()
        rep.dom = await page.evaluate(READ_CELLS_JS, f"{p} .jp-Notebook")
        t_read = time.monotonic()
        if shots_dir:  # one picture: at the first error, else the first plot, else the top
            shots_dir.mkdir(parents=True, exist_ok=True)
            await page.evaluate("""(p) => {
                const err = [...document.querySelectorAll(p + ' .jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')]
                    .find(e => /Traceback|Error/.test(e.textContent));
                const target = (err && err.closest('.jp-Cell')) || document.querySelector(p + ' .jp-OutputArea-output img');
                if (target) target.scrollIntoView({block: err ? 'start' : 'center'});
                else document.querySelector(p + ' .jp-Cell').scrollIntoView(); }""", p)
            await page.wait_for_timeout(200)
            shot = shots_dir / f"lab-{name}.png"
            await page.screenshot(path=str(shot))
            rep.screenshots.append(shot)
        rep.notes.append(f"seconds: {t_shown - t0:.1f} to show the notebook, {t_ready - t_shown:.1f} more to an "
                         f"idle kernel, {t_run - t_ready:.1f} to Run All, "
                         f"{t_saved - t_run:.1f} to save, {t_read - t_saved:.1f} to read the cells, "
                         f"{time.monotonic() - t_read:.1f} for the screenshot")
        # JupyterLab itself logs this one when several notebooks open in one browser: harmless.
        errors = [e for e in page_errors if "Window name candidate" not in e]
        if errors:
            rep.notes.append(f"page errors: {errors[:3]}")
    return rep


# Runs in the page before JupyterLab's own scripts: once the HTML is parsed (readyState
# "interactive", before deferred scripts run) add PLUGINS to the page config's disabledExtensions.
DISABLE_PLUGINS_JS = """
document.addEventListener('readystatechange', () => {
  const el = document.getElementById('jupyter-config-data');
  if (document.readyState !== 'interactive' || !el) return;
  const cfg = JSON.parse(el.textContent);
  cfg.disabledExtensions = (cfg.disabledExtensions || []).concat(PLUGINS);
  el.textContent = JSON.stringify(cfg);
});
"""


# The source of cell i of the notebook panel `id`, as JupyterLab holds it (what the learner's typing made).
CELL_SOURCE_JS = """([id, i]) => window.__bpPanels[id].content.widgets[i].model.sharedModel.getSource()"""


# The grader cells of the exercise notebooks, and the function each grades: appendix 97's `grade("sigmoid",
# sigmoid_grad)` (exercise sigmoid, function sigmoid_grad) and appendix 99's `grade_step("charmlp", dprobs)`.
GRADER_CELLS = ((re.compile(r'grade\("(\w+)"'), "{}_grad"), (re.compile(r'grade_step\("\w+", (\w+)\)'), "{}"))


async def solve_in_lab(page, page_errors, nb_path, relpath, name, lines, shots_dir=None, timeout_s=120,
                       expect="correct on all", picture=False, then=None):
    """As a learner does with an exercise notebook: open `relpath` (the notebook `nb_path`, relative to the
    server's root) as a tab, click into the stub cell of exercise `name` (`def NAME_grad(...)`, or for a
    step of appendix 99 `def NAME(...)`), select its text and type `lines` over it, key by key, pressing
    Enter between lines (the editor indents after the colon), then Run All Cells and read what the grader
    printed under it. A problem unless the typed cell holds the lines as a person would have written them,
    the grader's report for that exercise starts with `expect` ("correct on all", or "wrong on" for a wrong
    answer typed on purpose), the others say not implemented yet, and no cell shows an error. `picture`: the
    grader's cell must also show an image (a puzzle's Jacobian), loaded. `then`: (line, start) to type into a
    new cell inserted below the grader's cell (b, in command mode) and run (Shift+Enter), whose output must start
    with `start`: e.g. asking for a hint."""
    cells = [source_of(c) for c in json.loads(Path(nb_path).read_text())["cells"]]
    stub = next(i for i, src in enumerate(cells) if src.startswith((f"def {name}_grad(", f"def {name}(")))
    rep = Report(f"{Path(relpath).stem}: {cells[stub][4:].split('(')[0]} typed and graded")
    del page_errors[:]
    async with _notebook_tab(page, relpath, rep) as panel_id:
        p = f"#{panel_id}"
        if not await _wait_for(page, _kernel_ready_js(p), 90):
            rep.problems.append("the kernel did not become idle within 90 s of opening")
            return rep
        await page.locator(f"{p} .jp-Cell").nth(stub).locator(".cm-content").click()
        await page.keyboard.press("Control+a")
        for k, line in enumerate(lines):
            if k: await page.keyboard.press("Enter")
            await page.keyboard.type(line)
        typed = await page.evaluate(CELL_SOURCE_JS, [panel_id, stub])
        want = lines[0] + "".join(f"\n    {line}" for line in lines[1:])
        if typed != want:
            rep.problems.append(f"the stub cell holds {typed!r} after typing, not {want!r}")
        await page.keyboard.press("Escape")
        if not await _run_all_cells(page, p, timeout_s):
            rep.problems.append(f"Run All Cells did not finish within {timeout_s} s")
        dom = await page.evaluate(READ_CELLS_JS, f"{p} .jp-Notebook")
        shown = await page.evaluate(OUTPUT_TEXTS_JS, p)
        for i, src in enumerate(cells):
            graded = next(((m[1], fmt) for pattern, fmt in GRADER_CELLS if (m := pattern.match(src))), None)
            want_out = (graded[1].format(graded[0]) + ": " + (expect if graded[0] == name else "not implemented yet")
                        if graded else None)
            if want_out and not shown[i].startswith(want_out):
                rep.problems.append(f"cell {i} shows {shown[i][:120]!r}, not {want_out!r}...")
            elif graded and graded[0] == name:
                rep.notes.append(f"the grader printed: {shown[i].splitlines()[0]}")
                images = [img for img in dom[i]["imgs"] if img["output"]]
                if picture and not any(img["width"] for img in images):
                    rep.problems.append(f"cell {i}: no picture shown under the grader's report ({len(images)} images, none loaded)")
                elif picture:
                    rep.notes.append(f"the grader drew {len(images)} picture(s), {images[0]['width']} px wide")
            errors = [e for e in dom[i]["errs"] if ERROR_TEXT.search(e)]
            if errors: rep.problems.append(f"cell {i}: error output: {errors[0].strip().splitlines()[-1][:200]}")
        grader = stub + 1
        if then:
            line, start = then
            await page.locator(f"{p} .jp-Cell").nth(grader).locator(".jp-InputPrompt").click()
            await page.keyboard.press("Escape")
            await page.keyboard.press("b")                      # a new cell below, in command mode
            await page.keyboard.press("Enter")                  # edit it
            await page.keyboard.type(line)
            await page.keyboard.press("Shift+Enter")
            ran = await _wait_for(page, f"""() => {{ const c = document.querySelectorAll('{p} .jp-Cell')[{grader + 1}];
                const q = c && c.querySelector('.jp-InputPrompt'); const o = c && c.querySelector('.jp-OutputArea');
                return q && /\\[\\s*\\d+\\s*\\]/.test(q.textContent) && o && o.innerText.trim(); }}""", 30)
            out = (await page.evaluate(OUTPUT_TEXTS_JS, p))[grader + 1]
            if not ran or not out.startswith(start):
                rep.problems.append(f"the new cell {line!r} shows {out[:120]!r}, not {start!r}...")
            else:
                rep.notes.append(f"{line} printed: {out.splitlines()[0]}")
        if shots_dir:
            top = grader if picture else stub - 1              # the picture, or the exercise's text and stub
            await page.locator(f"{p} .jp-Cell").nth(stub).scroll_into_view_if_needed()
            await page.evaluate("([p, i]) => document.querySelectorAll(p + ' .jp-Cell')[i].scrollIntoView({block: 'start'})",
                                [p, top])
            shot = shots_dir / f"lab-exercise-{Path(relpath).stem}.png"
            await page.screenshot(path=str(shot))
            rep.screenshots.append(shot)
    return rep


# The text each cell of the notebook panel `p` shows in its output area ('' for none).
OUTPUT_TEXTS_JS = """(p) => [...document.querySelectorAll(p + ' .jp-Cell')].map(c => {
    const o = c.querySelector('.jp-OutputArea'); return o ? o.innerText : ''; })"""


def check_lab_report(rep, nb_saved):
    "Add to `rep` the problems found comparing the saved (executed) notebook with the page."
    if not hasattr(rep, "dom"):
        return rep
    nb = json.loads(Path(nb_saved).read_text())
    rep.problems += check_cells(nb["cells"], rep.dom)
    errors = [c for c in nb["cells"] for o in c.get("outputs", []) if o.get("output_type") == "error"]
    if errors:
        rep.problems.append(f"the saved notebook holds {len(errors)} error output(s): "
                            f"{errors[0]['outputs'][-1].get('ename', '?')}")
    shown = sum(1 for d in rep.dom for i in d["imgs"] if i["output"])
    if shown != image_outputs(nb):
        rep.problems.append(f"the page shows {shown} output images, the saved notebook has {image_outputs(nb)}")
    rep.notes.append(summary(rep.dom))
    warned = sum(1 for d in rep.dom for e in d["errs"] if not ERROR_TEXT.search(e))
    if warned:
        rep.notes.append(f"{warned} stderr output(s) without an error (warnings)")
    return rep


async def run_lab(browser, root_dir, relpaths, shots_dir=None, parallel=2, timeout_s=240, disable=None, on_done=None,
                  first=(), exercises=()):
    """Start one Jupyter server in `root_dir` (a folder laid out like the repository, see `stage`),
    with the flags of `make lab`, and run every notebook of `relpaths` (relative to `root_dir`) in `browser`.

    `parallel` JupyterLab pages each take the next notebook from one queue (those of `first`, then
    the longest), open it as a tab, run it, and close it: JupyterLab starts once per page, not once
    per notebook. `disable` maps a relpath to plugins switched off: such notebooks run in a page of
    their own, beside the others. `on_done(relpath)` is called as soon as a notebook has run and been
    saved (to render it meanwhile). `exercises`: (relpath, name, lines) or (relpath, name, lines, options) to solve
    by typing, as `solve_in_lab` does (options: its keyword arguments, e.g. a wrong answer's `expect`), each by the
    first page (with no plugin off) to run out of notebooks; its Report is under "relpath: name".
    Returns ({relpath: Report}, blocked_urls)."""
    disable = {rel: tuple(v) for rel, v in (disable or {}).items()}
    root_dir = Path(root_dir)
    blocked, reports = [], {}
    if shots_dir:
        shots_dir.mkdir(parents=True, exist_ok=True)
    # The server's root, as `make lab` sets it (relative to where it starts), and each notebook's
    # path in it; a notebook outside it cannot be opened, as in `make lab`.
    server_root = (root_dir / flag_value(lab_flags(), "ServerApp.root_dir", ".")).resolve()
    in_server = {}
    for rel in relpaths:
        try:
            in_server[rel] = (root_dir / rel).resolve().relative_to(server_root).as_posix()
        except ValueError:
            reports[rel] = Report(Path(rel).stem, problems=[f"{rel} is outside the root of `make lab`'s server "
                                                            f"({server_root}; the Makefile's LAB_FLAGS)"])
            if on_done: on_done(rel)
    groups = {}                                             # plugins switched off -> its notebooks, in running order
    for rel in sorted(in_server, key=lambda r: (r not in first, -(root_dir / r).stat().st_size)):
        groups.setdefault(disable.get(rel, ()), []).append(rel)
    to_type = list(exercises)
    if to_type: groups.setdefault((), [])
    with jupyter_server(root_dir, log_path=(shots_dir / "jupyter-server.log") if shots_dir else None) as (base, token):
        contexts = []

        async def worker(off, queue):
            "One JupyterLab page (with the plugins `off` switched off) running notebooks from `queue` until it is empty."
            try:
                context = await new_context(browser, [base + "/"], blocked)   # a renderer process of its own
                contexts.append(context)
                page, page_errors = await open_lab(context, base, token, off)
            except Exception as e:  # no JupyterLab: every notebook this page would have run fails, saying why
                while queue:
                    rel = queue.pop(0)
                    reports[rel] = Report(Path(rel).stem, problems=[f"JupyterLab did not open: {e}"])
                    if on_done: on_done(rel)   # whoever waits for it (the site) must not wait forever
                return
            try:
                while queue:
                    rel = queue.pop(0)
                    # A page with plugins switched off (the test's: no MathJax) has nothing to wait for.
                    rep = await run_in_lab(page, page_errors, in_server[rel], shots_dir, timeout_s,
                                           settle_s=1 if off else 5)
                    rep.executed = root_dir / rel
                    reports[rel] = check_lab_report(rep, rep.executed)
                    if on_done: on_done(rel)
                while to_type and not off:
                    rel, name, lines, *how = to_type.pop(0)
                    rel_in_server = (root_dir / rel).resolve().relative_to(server_root).as_posix()
                    reports[f"{rel}: {name}"] = await solve_in_lab(page, page_errors, root_dir / rel, rel_in_server,
                                                                   name, lines, shots_dir, **(how[0] if how else {}))
            finally:
                await page.close()

        def pages(off, queue):                              # one page at least for the exercises to type
            return min(parallel if not off else 1, len(queue)) or int(not off and bool(to_type))
        await asyncio.gather(*(worker(off, queue) for off, queue in groups.items() for _ in range(pages(off, queue))))
        for context in contexts: await context.close()
    return {r: reports[r] for r in [*relpaths, *(f"{rel}: {name}" for rel, name, *_ in exercises)]}, blocked


# The site's MathJax has typeset the page (or there is no MathJax on it at all).
MATHJAX_DONE_JS = """() => !(window.MathJax && MathJax.startup) || (MathJax.startup.promise
    && (MathJax.startup.promise.then(() => window.__bpTypeset = true), window.__bpTypeset === true))"""
# The text of <main> without formulas and code, and the number of MathJax errors in it.
MAIN_TEXT_JS = """() => { const m = document.querySelector('main').cloneNode(true);
    const merror = m.querySelectorAll('mjx-merror').length;
    m.querySelectorAll('mjx-container, script, code, pre').forEach(e => e.remove());
    return {text: m.textContent, merror}; }"""


async def check_site(browser, site, shots_dir=None, parallel=2, written=None):
    """Open the static site built by tools/build_site.py (`site` is what `build` or `plan` returned,
    each chapter with its executed notebook as 'nb') over HTTP on 127.0.0.1 and check it: the index
    links every chapter and API page, each API page has a title and typeset math, each chapter shows
    its cells with math typeset by the site's own MathJax, images loaded and no error output.
    `parallel` pages share the API pages and chapters. `written`, to check a site while it is being
    written: an asyncio.Queue that delivers (future, "index") once the index and API pages are on
    disk and (future, chapter) once a chapter's page is (its 'nb' set); each future (of the process
    that wrote the page, or None) is asked for its result first, so a page that failed to render
    raises here. Without it, every page is there already. Returns ({page: Report}, blocked_urls)."""
    if written is None:
        written = asyncio.Queue()
        for item in ["index", *site["chapters"]]:
            written.put_nowait((None, item))
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from build_site import site_cells
    out = Path(site["out"])
    blocked, reports = [], {}
    with static_server(out) as base:
        context = await new_context(browser, [base + "/"], blocked)

        async def open_page():
            page = await context.new_page()
            bad = []                                        # "status url" of every failed request of this page
            page.on("response", lambda r: r.status >= 400 and bad.append(f"{r.status} {r.url}"))
            return page, bad

        async def check_index(page, bad):
            del bad[:]
            rep = reports["index"]
            t0 = time.monotonic()
            await page.goto(f"{base}/index.html")
            links = set(await page.eval_on_selector_all("a", "els => els.map(a => a.getAttribute('href'))"))
            want = ({ch["href"] for ch in site["chapters"]} | {f"api/{m}.html" for m in site["modules"]}
                    | {e["href"] for e in site.get("exercises", [])})
            if want - links:
                rep.problems.append(f"the index does not link {sorted(want - links)}")
            if shots_dir:
                await page.screenshot(path=str(shots_dir / "site-index.png"), full_page=True)
                rep.screenshots.append(shots_dir / "site-index.png")
            await page.wait_for_load_state("load")
            if bad:
                rep.problems.append(f"files the index lacks: {bad[:10]}")
            rep.seconds = time.monotonic() - t0

        async def check_api(page, bad, m):
            del bad[:]
            await page.goto(f"{base}/api/{m}.html")
            await page.wait_for_load_state("load")
            await _wait_for(page, MATHJAX_DONE_JS, 30)
            problems = []
            if not await page.locator("h1").count():
                problems.append(f"api/{m}.html has no title")
            text = await page.evaluate(MAIN_TEXT_JS)
            if RAW_MATH.search(text["text"]) or text["merror"]:
                problems.append(f"api/{m}.html: math not typeset: {text['merror']} MathJax errors, "
                                f"raw: {(RAW_MATH.search(text['text']) or [''])[0][:60]!r}")
            if bad:
                problems.append(f"files api/{m}.html lacks: {bad[:10]}")
            if shots_dir and m == "grads":
                await page.screenshot(path=str(shots_dir / f"site-api-{m}.png"), full_page=True)
            reports["index"].problems += problems            # the API pages are reported with the index

        async def check_answers(page, bad, a):
            """An answers page (or an exercise notebook's or a worked solutions', not run): a title, its math typeset,
            its images loaded, and for answers a link back to the chapter, for solutions one back to their exercises, for
            an exercise its own sidebar entry marked (reported with the index)."""
            del bad[:]
            await page.goto(f"{base}/{a['href']}")
            await page.wait_for_load_state("load")
            await _wait_for(page, MATHJAX_DONE_JS, 30)
            problems = []
            if not await page.locator("main h1").count():
                problems.append(f"{a['href']} has no title")
            for cell in await page.evaluate(READ_CELLS_JS, "main"):
                if cell["merror"] or RAW_MATH.search(cell["text"]):
                    problems.append(f"{a['href']}: math not typeset: {cell['text'][:60]!r}")
            links = await page.evaluate(PAGE_LINKS_JS)
            chapter = next((c["href"] for c in site["chapters"] if Path(c["href"]).stem == Path(a["href"]).stem
                            and a["href"].startswith("answers/")), None)
            if a["href"].startswith("solutions/"):
                chapter = f"exercises/{Path(a['href']).name}"     # their "chapter" is the exercises they solve
            broken = await page.evaluate("() => [...document.querySelectorAll('main img')].filter(i => !i.naturalWidth).length")
            if broken:
                problems.append(f"{a['href']}: {broken} image(s) did not load")
            if a["href"].startswith("exercises/") and links["here"] != "../" + a["href"]:
                problems.append(f"{a['href']}: the sidebar marks {links['here']!r} as the current page")
            if chapter and links["prev"] != chapter:
                problems.append(f"{a['href']} links back to {links['prev']!r}, not to {chapter}")
            if bad:
                problems.append(f"files {a['href']} lacks: {bad[:10]}")
            reports["index"].problems += problems

        async def check_chapter(page, bad, ch):
            del bad[:]
            rep = reports[ch["href"]] = Report(f"site {ch['href']}")
            t0 = time.monotonic()
            await page.goto(f"{base}/{ch['href']}")
            await page.wait_for_load_state("load")
            rep.problems += await check_sidebar_and_pager(page, site, ch)
            ok = await _wait_for(page, MATHJAX_DONE_JS, 30)
            if not await page.evaluate("() => !!(window.MathJax && MathJax.startup)"):
                rep.problems.append("MathJax did not load")
            elif not ok:
                rep.problems.append("MathJax did not finish typesetting within 30 s")
            if bad:
                rep.problems.append(f"files the page asked for and the site lacks: {bad[:5]}")
            dom = await page.evaluate(READ_CELLS_JS, "main")
            rep.problems += check_cells(site_cells(ch["nb"]), dom, executed=False)
            rep.notes.append(summary(dom))
            if shots_dir:
                await page.evaluate("() => { const m = document.querySelector('mjx-container');"
                                    " if (m) m.scrollIntoView({block: 'start'}); }")
                shot = shots_dir / f"site-{Path(ch['href']).stem}.png"
                await page.screenshot(path=str(shot))
                rep.screenshots.append(shot)
            rep.seconds = time.monotonic() - t0

        reports["index"] = Report("site index")
        for ch in site["chapters"]:                          # reported in the site's order, whoever checks them
            reports[ch["href"]] = None
        todo = asyncio.Queue()                               # (check, item), then one None per page: stop
        pages = max(1, parallel)

        async def feed():
            "Turn each page written into checks: the index at once, then its API pages and the chapters as they come."
            page, bad = await open_page()
            try:
                for _ in range(1 + len(site["chapters"])):
                    done, item = await written.get()
                    if done is not None: done.result()       # the page failed to render: raise its error
                    if item == "index":
                        await check_index(page, bad)
                        for m in site["modules"]: todo.put_nowait((check_api, m))
                        extra = site.get("answers", []) + site.get("exercises", []) + site.get("solutions", [])
                        for a in extra: todo.put_nowait((check_answers, a))
                        reports["index"].notes.append(f"{len(site['modules'])} API pages, {len(site.get('answers', []))} "
                                                      f"answers pages, {len(site.get('exercises', []))} exercise pages "
                                                      f"and {len(site.get('solutions', []))} solutions pages checked with it")
                    else:
                        todo.put_nowait((check_chapter, item))
            finally:
                await page.close()
                for _ in range(pages): todo.put_nowait(None)

        async def worker():
            page, bad = await open_page()
            try:
                while (task := await todo.get()) is not None:
                    check, item = task
                    await check(page, bad, item)
            finally:
                await page.close()

        await asyncio.gather(feed(), *(worker() for _ in range(pages)))
        if len(site["chapters"]) > 1 and site["modules"]:   # a whole course: walk it as a reader does
            page, bad = await open_page()
            reports["navigation"] = await check_navigation(page, base, site, shots_dir)
            await page.close()
            phone = await new_context(browser, [base + "/"], blocked, viewport=PHONE)
            reports["phone"] = await check_phone(await phone.new_page(), base, site, shots_dir)
            await phone.close()
        await context.close()
    return reports, blocked


PHONE = {"width": 400, "height": 860}
# The sidebar link of the page itself, and the previous / next links, as hrefs from the site's root.
PAGE_LINKS_JS = """() => {
    const rel = a => a && new URL(a.href, location.href).pathname.slice(1);   // the site is served at /
    const here = document.querySelector('.bp-sidebar a[aria-current="page"]');
    return {here: here && here.getAttribute('href'), prev: rel(document.querySelector('.bp-pager a[rel=prev]')),
            next: rel(document.querySelector('.bp-pager a[rel=next]')),
            sidebar: [...document.querySelectorAll('.bp-sidebar ol a')].map(a => a.getAttribute('href'))};
}"""


def _neighbours(site, ch):
    "The hrefs of the pages before and after `ch` in the site's order (chapters, then appendices)."
    hrefs = [c["href"] for c in site["chapters"]]
    i = hrefs.index(ch["href"])
    return (hrefs[i - 1] if i > 0 else None), (hrefs[i + 1] if i + 1 < len(hrefs) else None)


async def check_sidebar_and_pager(page, site, ch):
    """Problems with a chapter page's navigation: its sidebar lists every chapter and appendix, marks
    this page as the current one, and its previous / next links point to its neighbours."""
    links = await page.evaluate(PAGE_LINKS_JS)
    problems = []
    want = [c["href"] for c in site["chapters"]]
    if [h for h in links["sidebar"] if h in want] != want:
        problems.append(f"the sidebar does not list the chapters and appendices in order: {links['sidebar'][:6]}...")
    if links["here"] != ch["href"]:
        problems.append(f"the sidebar marks {links['here']!r} as the current page, not {ch['href']!r}")
    prev, nxt = _neighbours(site, ch)
    for name, got, expected in (("previous", links["prev"], prev), ("next", links["next"], nxt)):
        if got != expected:
            problems.append(f"the {name} link leads to {got!r}, expected {expected!r}")
    return problems


async def check_navigation(page, base, site, shots_dir=None):
    """As a reader, with clicks: from the index the sidebar's first chapter, then two next links; the
    sidebar's link to the last page, and its previous link (every page's own links are checked in
    `check_sidebar_and_pager`). Then a search for `lin_grad`, whose first result must be in the
    chapter of `backprop.grads`, and a click on it."""
    rep = Report("site navigation and search")
    t0 = time.monotonic()
    hrefs = [c["href"] for c in site["chapters"]]
    await page.goto(f"{base}/index.html")
    walk = [(f'.bp-sidebar a[href="{hrefs[0]}"]', hrefs[0])]
    walk += [(".bp-pager a[rel=next] >> nth=0", h) for h in hrefs[1:3]]
    walk += [(f'.bp-sidebar a[href="{hrefs[-1]}"]', hrefs[-1]), (".bp-pager a[rel=prev] >> nth=0", hrefs[-2])]
    for selector, want in walk:
        try:
            await page.click(selector, timeout=5_000)
            await page.wait_for_url(f"{base}/{want}", timeout=10_000)
        except Exception:  # playwright's TimeoutError: no such link, or it led elsewhere
            rep.problems.append(f"{selector} on {page.url.rsplit('/', 1)[-1]} did not lead to {want} "
                                f"(now at {page.url.rsplit('/', 1)[-1]})")
            break
    rep.notes.append(f"clicked through {' -> '.join(w for _, w in walk)}")
    grads = next((c["href"] for c in site["chapters"] if c["module"] == "grads"), None)
    await page.goto(f"{base}/index.html")
    await page.fill("#bp-search", "lin_grad")
    try:
        await page.wait_for_selector("#bp-results li a", timeout=10_000)
    except Exception:
        rep.problems.append("a search for lin_grad showed no result")
    else:
        found = await page.eval_on_selector_all("#bp-results li a", "els => els.map(a => a.getAttribute('href'))")
        rep.notes.append(f"search lin_grad: {len(found)} results, first {found[0]}")
        if grads and not found[0].startswith(grads + "#"):
            rep.problems.append(f"the first result of a search for lin_grad is {found[0]}, not in {grads}")
        if shots_dir:
            await page.screenshot(path=str(shots_dir / "site-search.png"))
            rep.screenshots.append(shots_dir / "site-search.png")
        await page.click("#bp-results li a >> nth=0", timeout=5_000)
        await page.wait_for_load_state("load")
        if grads and not page.url.split("#")[0].endswith("/" + grads):
            rep.problems.append(f"the first search result led to {page.url}, not to {grads}")
    rep.seconds = time.monotonic() - t0
    return rep


async def check_phone(page, base, site, shots_dir=None):
    """On a phone-sized screen (400 px wide): the chapter of `backprop.grads` fits the width (wide code,
    tables and math scroll inside themselves), the sidebar is folded behind its Contents button, and
    the button opens it."""
    rep = Report("site on a 400-px-wide screen")
    t0 = time.monotonic()
    href = next((c["href"] for c in site["chapters"] if c["module"] == "grads"), site["chapters"][0]["href"])
    await page.goto(f"{base}/{href}")
    await page.wait_for_load_state("load")
    await _wait_for(page, MATHJAX_DONE_JS, 30)
    width = await page.evaluate("() => document.documentElement.scrollWidth")
    if width > PHONE["width"]:
        rep.problems.append(f"{href} is {width} px wide on a {PHONE['width']}-px screen: the reader must scroll sideways")
    if await page.is_visible(".bp-sidebar"):
        rep.problems.append("the sidebar is open on a phone before the Contents button is pressed")
    if shots_dir:
        await page.screenshot(path=str(shots_dir / f"site-phone-{Path(href).stem}.png"))
        rep.screenshots.append(shots_dir / f"site-phone-{Path(href).stem}.png")
    await page.click(".bp-menu-button", timeout=5_000)
    if not await page.is_visible(f'.bp-sidebar a[aria-current="page"]'):
        rep.problems.append("the Contents button does not open the sidebar")
    elif shots_dir:
        await page.screenshot(path=str(shots_dir / "site-phone-contents.png"))
    rep.seconds = time.monotonic() - t0
    return rep


def stage(nbs, dest):
    """Lay out `dest` like the repository, so that running and saving the notebooks in JupyterLab
    never touches the real ones, and the server (started in `dest` with `make lab`'s flags) serves
    what `make lab` serves: nbs/ holds copies of `nbs`, every other entry of the repository
    (images/, bench/, backprop/, ...) is a symbolic link, so `../images/x.png` and `../bench/run.py`
    resolve from nbs/ as they do in the repository (images/ and nbs/exercises/ are copied: the Jupyter
    server serves them and follows no link out of its root). Returns the copies' paths relative to `dest`."""
    root = Path(__file__).resolve().parent.parent
    dest = Path(dest)
    (dest / "nbs").mkdir(parents=True, exist_ok=True)
    for entry in root.iterdir():
        if entry.name in ("nbs", "build", "tests") or entry.name.startswith(".") or (dest / entry.name).exists():
            continue
        if entry.name == "images":  # JupyterLab serves it, and its server does not follow links out
            shutil.copytree(entry, dest / entry.name)
        else:
            (dest / entry.name).symlink_to(entry, target_is_directory=entry.is_dir())
    for entry in (root / "nbs").iterdir():
        if entry.name == "exercises":       # opened (and typed into) in JupyterLab: a copy, as for nbs/*.ipynb
            shutil.copytree(entry, dest / "nbs" / entry.name)
        elif entry.suffix != ".ipynb" and not entry.name.startswith("."):
            (dest / "nbs" / entry.name).symlink_to(entry, target_is_directory=entry.is_dir())
    rels = []
    for nb in nbs:
        shutil.copy(nb, dest / "nbs" / Path(nb).name)
        rels.append(f"nbs/{Path(nb).name}")
    return rels


def main(argv):
    root = Path(__file__).resolve().parent.parent
    nbs = [Path(a).resolve() for a in argv] or sorted(root.glob("nbs/*.ipynb"))
    why = chromium_missing_reason()
    if why:
        sys.exit(why)
    shots = root / "tests" / "artifacts"
    parallel = int(os.environ.get("BROWSER_PARALLEL", "2"))

    async def run(tmp):
        async with chromium() as browser:
            return await run_lab(browser, tmp, stage(nbs, Path(tmp)), shots, parallel=parallel)

    with tempfile.TemporaryDirectory(prefix="backprop-lab-") as tmp:
        t0 = time.monotonic()
        reports, blocked = asyncio.run(run(tmp))
        for rep in reports.values():
            print(rep)
        print(f"{len(reports)} notebooks in {time.monotonic() - t0:.1f} s; blocked requests: {blocked or 'none'}")
    sys.exit(1 if blocked or any(r.problems for r in reports.values()) else 0)


if __name__ == "__main__":
    main(sys.argv[1:])
