"""The course read online: settings.ini's doc_host and doc_baseurl give the site's address (pages.yaml publishes
the site there); the README links it and every chapter's and appendix's page, and each chapter's first cell says
where its page with outputs is. Change the address in settings.ini, and this test names every line to update."""
import configparser
import re
import sys
from pathlib import Path

import nbformat

root = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(root / "tools"))
import build_site  # noqa: E402

cfg = configparser.ConfigParser(delimiters=["="])
cfg.read(root / "settings.ini")
SITE = cfg["DEFAULT"]["doc_host"] + cfg["DEFAULT"]["doc_baseurl"] + "/"
NOTEBOOKS = sorted(root.glob("nbs/[0-9][0-9]_*.ipynb"))
CHAPTERS = [p for p in NOTEBOOKS if int(p.name[:2]) < 90]


def test_the_site_address_is_an_https_url_ending_in_a_slash():
    assert re.fullmatch(r"https://[\w.-]+(/[\w.-]+)*/", SITE), SITE
    assert len(CHAPTERS) >= 19 and len(NOTEBOOKS) > len(CHAPTERS)


def test_the_readme_links_the_site_and_every_page():
    readme = (root / "README.md").read_text()
    assert f"[{SITE}]({SITE})" in readme, f"the README's 'Read online' line must link {SITE}"
    rows = {line for line in readme.splitlines() if line.startswith("| `nbs/")}
    for nb in NOTEBOOKS:
        page = build_site.page_name(nb)                    # the site's path of the notebook's page
        assert any(f"`nbs/{nb.name}`" in r and f"]({SITE}{page})" in r for r in rows), \
            f"README: the row of {nb.name} must link {SITE}{page}"


def test_each_chapter_says_where_its_page_with_outputs_is():
    for nb in CHAPTERS:
        first = nbformat.read(nb, as_version=4).cells[0]
        assert first.cell_type == "markdown" and f"({SITE}{build_site.page_name(nb)})" in first.source, \
            f"{nb.name}: its first cell must link its page, {SITE}{build_site.page_name(nb)}"
