"""Publishing: the deploy workflow, one address for the site, page metadata, sitemap, 404 page,
citation and the data changelog."""

import re
import struct
import subprocess
from urllib.parse import urlparse
from xml.etree import ElementTree

import pandas as pd
import pytest
import yaml
from bs4 import BeautifulSoup
from sphinx.errors import ConfigError

import publishing  # _ext/, on the path via pyproject.toml
from ftguide import DATA_DIR
from tests.helpers import ROOT, toc_files

CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())
SITE = CONFIG["html"]["baseurl"]
REPOSITORY = CONFIG["repository"]["url"]
WORKFLOW = ROOT / ".github" / "workflows" / "deploy.yml"
TEST_ALL_WORKFLOW = ROOT / ".github" / "workflows" / "test-all.yml"


def page(built_site, name) -> BeautifulSoup:
    return BeautifulSoup((built_site / name).read_text(), "html.parser")


# The workflow cannot run here: check that it is valid and does what the README says.

def workflow(path=WORKFLOW):
    return yaml.safe_load(path.read_text())


def steps(job, path=WORKFLOW):
    return workflow(path)["jobs"][job]["steps"]


def test_workflow_builds_once_and_tests_that_build():
    readme = (ROOT / "README.md").read_text()
    assert "make test" in readme and "make site" in readme
    runs = [step for step in steps("build") if "run" in step]
    assert [step["run"].strip() for step in runs] == ["make site", "make test"]
    # make test's site tests read the site make site built (tests/conftest.py, built_site) instead
    # of building it again, which would run every notebook a second time.
    assert runs[1]["env"] == {"FTGUIDE_BUILT_SITE": "_build/html"}
    assert "FTGUIDE_BUILT_SITE" in (ROOT / "tests" / "conftest.py").read_text()


def test_every_test_runs_on_a_schedule():
    flow = workflow(TEST_ALL_WORKFLOW)
    triggers = flow[True]  # YAML 1.1 reads the key `on` as True
    assert [entry["cron"] for entry in triggers["schedule"]] and "workflow_dispatch" in triggers
    assert "push" not in triggers and "pull_request" not in triggers
    assert flow["permissions"] == {"contents": "read"}
    job_steps = steps("test-all", TEST_ALL_WORKFLOW)
    assert [step["run"].strip() for step in job_steps if "run" in step] == ["make test-all"]
    setup_python = [next(step for step in flow_steps if step.get("uses", "").startswith("actions/setup-python@"))
                    for flow_steps in (job_steps, steps("build"))]
    assert setup_python[0]["with"] == setup_python[1]["with"]  # the same Python and cache as the deploy build
    for step in job_steps:
        if "uses" in step:
            assert re.fullmatch(r"actions/[a-z-]+@v\d+", step["uses"]), step["uses"]
    assert "secrets." not in TEST_ALL_WORKFLOW.read_text()


def test_workflow_publishes_the_built_html_from_main_only():
    flow = workflow()
    triggers = flow[True]  # YAML 1.1 reads the key `on` as True
    assert triggers["push"]["branches"] == ["main"]
    upload = next(step for step in steps("build") if step.get("uses", "").startswith(
        "actions/upload-pages-artifact@"))
    assert upload["with"]["path"] == "_build/html"
    deploy = flow["jobs"]["deploy"]
    assert deploy["needs"] == "build"
    assert "refs/heads/main" in deploy["if"] and "pull_request" in deploy["if"]
    assert deploy["permissions"] == {"pages": "write", "id-token": "write"}
    assert [step["uses"].split("@")[0] for step in deploy["steps"]] == ["actions/deploy-pages"]
    assert flow["permissions"] == {"contents": "read"}  # least privilege for the build job


def test_workflow_sets_up_python_from_the_pinned_requirements():
    setup = next(step for step in steps("build") if step.get("uses", "").startswith("actions/setup-python@"))
    version = tuple(int(part) for part in setup["with"]["python-version"].split("."))
    assert version >= (3, 10)  # pyproject.toml: requires-python >= 3.10
    assert setup["with"]["cache-dependency-path"].split() == ["requirements.txt", "constraints.txt"]
    for step in steps("build"):  # every action pinned to a major version
        if "uses" in step:
            assert re.fullmatch(r"actions/[a-z-]+@v\d+", step["uses"]), step["uses"]


def settings(node, key=""):
    """Every (key, value) pair of the parsed workflow, however deeply nested."""
    if isinstance(node, dict):
        for name, value in node.items():
            yield from settings(value, str(name))
    elif isinstance(node, list):
        for value in node:
            yield from settings(value, key)
    else:
        yield key, str(node)


def test_workflow_inlines_no_secret():
    assert "secrets." not in WORKFLOW.read_text()  # not even a reference to a repository secret
    credential = re.compile(r"gh[pousr]_[A-Za-z0-9]{20,}|github_pat_|AKIA[0-9A-Z]{16}|-----BEGIN")
    for key, value in settings(workflow()):
        assert key.lower() not in {"token", "password", "api-key", "github-token"}, key
        assert not credential.search(value), key


def test_make_site_is_the_gate_build_on_a_clean_clone():
    recipe = (ROOT / "Makefile").read_text().split("\nsite:")[1].split("\n\n")[0]
    assert "bash tools/site.sh" in recipe  # the build and publish, under the lock
    script = (ROOT / "tools" / "site.sh").read_text()
    assert '"$JB" build . --path-output "$stage" -n -W --keep-going $all' in script
    assert '[ -d "$stage" ] || all=--all' in script  # no stage on a clean clone: --all
    assert 'cp -a "$stage/_build/html/."' in script


# One place for each address.

def tracked_files():
    names = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                           capture_output=True, text=True).stdout
    return [ROOT / name for name in names.split() if (ROOT / name).is_file()]


@pytest.mark.parametrize("address", [SITE, REPOSITORY])
def test_each_address_is_written_only_in_config(address):
    bare = address.split("://")[1].rstrip("/")
    holders = [path.relative_to(ROOT).as_posix() for path in tracked_files()
               if bare in path.read_text(errors="replace")]
    assert holders == ["_config.yml"]


def test_addresses_derive_from_the_baseurl():
    assert publishing.site_url("https://a.github.io/guide") == "https://a.github.io/guide/"
    assert publishing.url_prefix("https://a.github.io/guide/") == "/guide/"
    assert publishing.url_prefix("https://guide.example.org/") == "/"


@pytest.mark.parametrize("baseurl", ["", None, "ftguide.github.io/guide/"])
def test_a_site_without_a_public_address_does_not_build(baseurl):
    with pytest.raises(ConfigError, match="html: baseurl"):
        publishing.site_url(baseurl)


# Page metadata in the built site.

def test_every_page_has_title_description_and_canonical_link(built_site):
    descriptions = set()
    for name in toc_files():
        html = page(built_site, f"{name}.html")
        heading = html.find("h1").get_text(" ", strip=True).rstrip("#").strip()
        title = html.title.get_text()
        assert title.startswith(heading) and CONFIG["title"] in title, name
        description = html.find("meta", attrs={"name": "description"})["content"]
        first_paragraph = " ".join(html.find("h1").find_next("p").get_text().split())
        assert 50 <= len(description) <= publishing.DESCRIPTION_CHARS, name
        assert first_paragraph.startswith(description.rstrip("…")), name
        descriptions.add(description)
        canonical = html.find("link", rel="canonical")["href"]
        assert canonical == f"{SITE}{name}.html"
    assert len(descriptions) == len(toc_files()), "two pages share a description"


def test_every_page_has_open_graph_tags_with_the_preview(built_site):
    for name in toc_files():
        html = page(built_site, f"{name}.html")
        og = {tag["property"]: tag["content"] for tag in html.find_all("meta", property=True)}
        assert og["og:url"] == f"{SITE}{name}.html"
        assert og["og:title"] == html.find("h1").get_text(" ", strip=True).rstrip("#").strip()
        assert og["og:description"] == html.find("meta", attrs={"name": "description"})["content"]
        assert og["og:image"] == f"{SITE}{publishing.PREVIEW}"
        assert og["og:site_name"] == CONFIG["title"]
        assert len(og["og:image:alt"]) > 40


def png_size(path):
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", header[16:24])


def test_preview_image_is_built_at_link_preview_size(built_site):
    assert png_size(built_site / publishing.PREVIEW) == (1200, 630)


def test_preview_draws_the_time_based_reading_not_the_rejected_column():
    figure = publishing.draw_preview(DATA_DIR)
    lines = {line.get_label(): line for line in figure.axes[0].lines}
    # By hand: one epoch of Llama3 8B's dataset, 287,113 samples x 1,024 tokens, in 220 / 140 / 78
    # minutes on 8 / 16 / 32 MI250s, per GPU. Not the reported 93,291 / 8 tokens/s (above 100% of peak).
    llama3 = lines["Llama3 8B"]
    assert list(llama3.get_xdata()) == [8, 16, 32]
    tokens = 287113 * 1024
    assert list(llama3.get_ydata()) == pytest.approx([tokens / (220 * 60) / 8, tokens / (140 * 60) / 16,
                                                       tokens / (78 * 60) / 32])
    # No dataset size, no time-based reading: Baichuan2 13B and Cerebras GPT 13B are left out.
    assert set(lines) == {"Llama3 8B", "Llama2 13B", "Mistral 7B", "Qwen1.5 7B"}
    # The image says so itself, since a link preview has no caption.
    text = figure.axes[0].get_title(loc="left")
    assert "training time" in text and "100% of the GPUs' peak" in text and "not shown" in text


def test_preview_is_reproducible(tmp_path):
    publishing.save_preview(tmp_path / "a.png")
    publishing.save_preview(tmp_path / "b.png")
    assert (tmp_path / "a.png").read_bytes() == (tmp_path / "b.png").read_bytes()


def test_descriptions_end_at_a_sentence_or_a_word():
    sentence = "First sentence here is long enough to keep. " + "word " * 60
    assert publishing.shorten(sentence, 80) == "First sentence here is long enough to keep."
    words = "alpha " * 40
    assert publishing.shorten(words, 20) == "alpha alpha alpha…"
    assert publishing.shorten("short", 20) == "short"


# Sitemap and 404 page.

def test_sitemap_lists_every_page_and_nothing_else(built_site):
    tree = ElementTree.parse(built_site / "sitemap.xml")
    namespace = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9"}
    listed = sorted(loc.text for loc in tree.findall("s:url/s:loc", namespace))
    assert listed == sorted(f"{SITE}{name}.html" for name in toc_files())


def test_404_page_links_back_to_the_guide_from_any_depth(built_site):
    prefix = urlparse(SITE).path
    html = page(built_site, "404.html")
    assert "Page not found" in html.title.get_text()
    start = html.find("a", string=re.compile("start page"))
    assert start["href"] == f"{prefix}book/intro.html"
    # Served for a missing address at any depth: every local link, script, stylesheet and image
    # must be absolute under the site's folder and point at a file that exists.
    local = [tag.get(attribute) for tag in html.find_all(["a", "link", "script", "img"])
             for attribute in ("href", "src") if tag.get(attribute)]
    local = [url for url in local if not url.startswith(("#", "http://", "https://", "mailto:"))]
    assert len(local) > 10
    for url in local:
        assert url.startswith(prefix), url
        target = url[len(prefix):].split("?")[0].split("#")[0]
        assert (built_site / target).is_file(), url
    assert html.find("html")["data-content_root"] == prefix


# Repository address: launch buttons and edit links.

def test_launch_and_edit_links_use_the_repository(built_site):
    html = page(built_site, "notebooks/parameter-guide.html")
    hrefs = [a["href"] for a in html.find_all("a", href=True)]
    owner_repo = urlparse(REPOSITORY).path.strip("/")
    assert f"{REPOSITORY}/edit/main/notebooks/parameter-guide.md" in hrefs
    assert any(href.startswith("https://mybinder.org/v2/gh/") and owner_repo in href for href in hrefs)


# Citation.

def citation():
    return yaml.safe_load((ROOT / "CITATION.cff").read_text())


def test_citation_file_matches_the_book():
    cff = citation()
    assert cff["cff-version"] == "1.2.0" and cff["message"] and cff["authors"]
    assert cff["title"] == CONFIG["title"]
    version = re.search(r'^version = "(.+)"', (ROOT / "pyproject.toml").read_text(), re.M)[1]
    assert cff["version"] == version


def test_intro_page_shows_the_citation(built_site):
    section = page(built_site, "book/intro.html").find("section", id="how-to-cite")
    cff = citation()
    quote = section.find("blockquote").get_text(" ", strip=True)
    assert quote == (f"{cff['authors'][0]['name']} ({str(cff['date-released'])[:4]}). {cff['title']} "
                     f"(version {cff['version']}). {SITE}")
    assert section.find("a", href=SITE) is not None
    assert "cff-version" in section.find("pre").get_text()  # the file itself, included


# Changelog of the data.

def changes():
    return pd.read_csv(DATA_DIR / "changes.csv", dtype=str)


def test_every_data_file_has_its_import_in_the_changelog():
    package = yaml.safe_load((DATA_DIR / "datapackage.json").read_text())
    files = {resource["path"] for resource in package["resources"]} - {"changes.csv"}
    logged = changes()
    # A file taken out of data/ keeps its history, ended by a row that removes all its rows.
    removed = set(logged.loc[(logged["change"] == "removed") & (logged["rows"] == "all rows"), "file"])
    assert set(logged["file"]) <= files | removed, "the changelog names a file that is not in data/"
    assert not removed & files, "a file the changelog removes is still in data/"
    assert files <= set(logged.loc[logged["change"] == "added", "file"]), \
        "a data file has no changelog line for its import: add one to data/changes.csv"


def test_changelog_page_lists_every_change(built_site):
    """Every cell of the rendered table equals data/changes.csv, newest change first."""
    table = page(built_site, "notebooks/changelog.html").find("table", id="T_changes")
    shown = [[cell.get_text() for cell in row.find_all(["th", "td"])]
             for row in table.find("tbody").find_all("tr")]
    expected = changes().sort_values("date", ascending=False, kind="stable")
    assert shown == expected.values.tolist()
