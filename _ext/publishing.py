"""Publishing the site: one public address, a link-preview image, the citation and the 404 page.

This is a Sphinx extension, listed under ``sphinx: extra_extensions`` in ``_config.yml``. The
site's public address is ``html: baseurl`` in ``_config.yml`` and is typed nowhere else: from it
this module derives the Open Graph site URL, the 404 page's link prefix and the ``{{ site_url }}``
and ``{{ citation }}`` substitutions. Sphinx itself derives the canonical links and sphinx-sitemap
the sitemap from the same setting, so moving the site means editing one line.
"""

import html
from pathlib import Path
from urllib.parse import urlparse

import yaml
from docutils import nodes
from matplotlib import rc_context
from matplotlib.figure import Figure
from matplotlib.ticker import NullLocator
from sphinx.errors import ConfigError

from ftguide.cost import cost_table
from ftguide.data import DATA_DIR, load
from ftguide.plotting import log_axis, style

ROOT = DATA_DIR.parent
CITATION_FILE = ROOT / "CITATION.cff"
# Open Graph previews are PNG or JPEG (no SVG); 1200 x 630 px (1.91:1) is the size that link
# previews on most sites show uncropped.
PREVIEW = "_static/ftguide-preview.png"
PREVIEW_INCHES = (12, 6.3)
PREVIEW_DPI = 100
START_PAGE = "book/intro.html"
# Search results show about 160 characters of a description and link previews about 200.
DESCRIPTION_CHARS = 200


def site_url(baseurl) -> str:
    """The public address with one trailing slash; refuse to build a site without one."""
    if not baseurl or not urlparse(baseurl).scheme.startswith("http"):
        raise ConfigError(
            f"html: baseurl in _config.yml is {baseurl!r}; expected the site's public address, "
            "such as https://OWNER.github.io/REPOSITORY/ (see the README's 'Publish' section)"
        )
    return baseurl.rstrip("/") + "/"


def url_prefix(url: str) -> str:
    """The path the site is served under: '/REPOSITORY/' on a GitHub project site, else '/'."""
    return urlparse(url).path.rstrip("/") + "/"


def citation_text(cff: dict, url: str) -> str:
    """The suggested citation, in MyST Markdown, from CITATION.cff and the site's address."""
    authors = ", ".join(author.get("name") or f"{author['given-names']} {author['family-names']}"
                        for author in cff["authors"])
    year = str(cff["date-released"])[:4]
    return f"{authors} ({year}). *{cff['title']}* (version {cff['version']}). <{url}>"


def read_citation(path=CITATION_FILE) -> dict:
    return yaml.safe_load(Path(path).read_text(encoding="utf-8"))


def preview_series(tables):
    """(label, GPUs, tokens/s per GPU) per model and sequence length, in the guide's order, read
    from training time (one epoch of the tutorial dataset, at most 100% of peak: ftguide.cost).
    The guide's throughput column is not used: it implies more than 100% of peak (the audit
    page). Models whose dataset size is unknown have no such reading and are left out."""
    guide = tables.guide
    per_gpu = cost_table(tables)["throughput_from_time"] / guide["gpus"]
    lengths = guide.groupby("model")["sequence_length"].nunique()
    series = []
    for (model, length), rows in guide.assign(per_gpu=per_gpu).groupby(["model", "sequence_length"], sort=False):
        rows = rows.dropna(subset=["per_gpu"]).sort_values("gpus")
        if rows.empty:
            continue
        # Name the sequence length only where a model was measured at more than one.
        label = f"{model} ({length:,} tokens)" if lengths[model] > 1 else model
        series.append((label, rows["gpus"].tolist(), rows["per_gpu"].tolist()))
    return series


PREVIEW_CAVEAT = ("Read from training time (one epoch of each tutorial dataset). The guide's own "
                  "throughput column is not used:\nit implies more than 100% of the GPUs' peak. "
                  "Models without a known dataset size are not shown.")


def draw_preview(data_dir=DATA_DIR) -> Figure:
    """The guide's main figure, sized for a link preview: tokens/s per MI250 GPU from training time.
    Its labels come from data/: a '$' in them is a dollar sign, never the start of TeX."""
    with rc_context({"text.parse_math": False}):
        return _draw_preview(data_dir)


def _draw_preview(data_dir) -> Figure:
    tables = load(data_dir)
    guide = tables.guide
    # A bare Figure, not pyplot: this runs inside Sphinx and must not touch global state.
    figure = Figure(figsize=PREVIEW_INCHES, dpi=PREVIEW_DPI, layout="constrained")
    axes = figure.add_subplot()
    for index, (label, gpus, per_gpu) in enumerate(preview_series(tables)):
        # Dark marker edges keep the light colours of the palette (yellow, sky blue) visible.
        axes.plot(gpus, per_gpu, label=label, linewidth=3, markersize=12, markeredgecolor="#333333",
                  **style(index))
    # Per-GPU throughput differs several-fold across models: a log axis shows them all.
    log_axis(axes, "y", subs=(1, 1.5, 2, 3, 5, 7))
    axes.set_xscale("log", base=2)
    gpu_counts = sorted(guide["gpus"].unique())
    axes.set_xticks(gpu_counts, [f"{count}" for count in gpu_counts])
    axes.xaxis.set_minor_locator(NullLocator())
    axes.set_xlabel("MI250 GPUs in the flavor", fontsize=20)
    axes.set_ylabel("Tokens/s per GPU (log scale)", fontsize=20)
    axes.tick_params(labelsize=18)
    axes.grid(True, alpha=0.3)
    axes.spines[["top", "right"]].set_visible(False)
    figure.suptitle("Tokens per second per MI250 GPU, MoAI fine-tuning guide", fontsize=26,
                    x=0.02, horizontalalignment="left")
    # The caveat is part of the image: a link preview shows no caption.
    axes.set_title(PREVIEW_CAVEAT, fontsize=14, loc="left", color="#333333")
    axes.legend(fontsize=16, loc="center left", bbox_to_anchor=(1, 0.5), frameon=False)
    return figure


def save_preview(path: Path, data_dir=DATA_DIR) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # No software or date metadata: the same data gives the same bytes.
    draw_preview(data_dir).savefig(path, dpi=PREVIEW_DPI, metadata={"Software": None})


def page_description(doctree) -> str:
    """The page's first paragraph of prose, shortened at a sentence or word end."""
    paragraph = next((p for p in doctree.findall(nodes.paragraph)
                      if isinstance(p.parent, nodes.section)), None)
    return shorten(" ".join(paragraph.astext().split())) if paragraph else ""


def shorten(text: str, limit: int = DESCRIPTION_CHARS) -> str:
    if len(text) <= limit:
        return text
    head = text[:limit - 1]
    sentence_end = head.rfind(". ")
    if sentence_end > limit // 2:
        return head[:sentence_end + 1]
    return head[:head.rfind(" ")].rstrip(",;:") + "…"


def describe_page(app, pagename, templatename, context, doctree) -> None:
    """<meta name="description"> and og:description from the page's first paragraph.

    sphinxext-opengraph cuts its description mid-word; this runs before it (priority 400) and
    leaves pages alone whose front matter sets a description (html_meta: description: ...).
    """
    if pagename == app.config.notfound_pagename:
        # Served at any depth: the theme's scripts must find the site root by absolute path.
        context["content_root"] = app.config.notfound_urls_prefix
    if doctree is None or 'name="description"' in context.get("metatags", ""):
        return
    description = page_description(doctree)
    if description:
        context["metatags"] += f'<meta name="description" content="{html.escape(description)}" />\n'
        context["meta"] = {**(context.get("meta") or {}),
                           "og:description": html.escape(description, quote=False)}


def not_found_body(prefix: str) -> str:
    """The 404 page's text; links are absolute because the page is served at any depth."""
    return (
        "<h1>Page not found</h1>\n"
        "<p>There is no page at this address: the link may be old or mistyped.</p>\n"
        f'<p>Start again from <a href="{prefix}{START_PAGE}">the guide\'s start page</a>, '
        "or use the table of contents.</p>"
    )


def configure(app, config) -> None:
    """Derive every address-dependent setting from html_baseurl (config-inited)."""
    url = site_url(config.html_baseurl)
    config.html_baseurl = url
    config.ogp_site_url = url
    config.ogp_image = PREVIEW
    config.ogp_site_name = config.ogp_site_name or config.html_title
    config.notfound_urls_prefix = url_prefix(url)
    config.notfound_context = {"title": "Page not found", "body": not_found_body(url_prefix(url))}
    config.myst_substitutions = {
        **config.myst_substitutions,
        "site_url": f"<{url}>",
        "citation": citation_text(read_citation(Path(app.srcdir) / "CITATION.cff"), url),
    }


def write_preview(app) -> None:
    """Draw the preview into the HTML output's _static folder (builder-inited)."""
    if app.builder.format == "html":
        # The book's own data/ (app.srcdir), which may be a copy of this package's repository.
        save_preview(Path(app.outdir) / PREVIEW, Path(app.srcdir) / "data")


def setup(app):
    app.connect("config-inited", configure)
    app.connect("builder-inited", write_preview)
    app.connect("html-page-context", describe_page, priority=400)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
