"""Publishing the site: one public address, a link-preview image, the citation and the 404 page.

This is a Sphinx extension, listed under ``sphinx: extra_extensions`` in ``_config.yml``. The
site's public address is ``html: baseurl`` in ``_config.yml`` and is typed nowhere else: from it
this module derives the Open Graph site URL, the 404 page's link prefix and the ``{{ site_url }}``
and ``{{ citation }}`` substitutions. Sphinx itself derives the canonical links and sphinx-sitemap
the sitemap from the same setting, so moving the site means editing one line.
"""

from pathlib import Path
from urllib.parse import urlparse

import yaml
from matplotlib.figure import Figure
from sphinx.errors import ConfigError

from ftguide.data import DATA_DIR, load
from ftguide.plotting import style

ROOT = DATA_DIR.parent
CITATION_FILE = ROOT / "CITATION.cff"
# Open Graph previews are PNG or JPEG (no SVG); 1200 x 630 px (1.91:1) is the size that link
# previews on most sites show uncropped.
PREVIEW = "_static/ftguide-preview.png"
PREVIEW_INCHES = (12, 6.3)
PREVIEW_DPI = 100
START_PAGE = "book/intro.html"


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


def preview_series(guide):
    """(label, GPUs, tokens/s per GPU) per model and sequence length, in the guide's order."""
    lengths = guide.groupby("model")["sequence_length"].nunique()
    series = []
    for (model, length), rows in guide.groupby(["model", "sequence_length"], sort=False):
        rows = rows.sort_values("gpus")
        # Name the sequence length only where a model was measured at more than one.
        label = f"{model} ({length:,} tokens)" if lengths[model] > 1 else model
        series.append((label, rows["gpus"].tolist(), rows["throughput_per_gpu"].tolist()))
    return series


def draw_preview(data_dir=DATA_DIR) -> Figure:
    """The guide's main figure, sized for a link preview: reported throughput per MI250 GPU."""
    guide = load(data_dir).guide
    # A bare Figure, not pyplot: this runs inside Sphinx and must not touch global state.
    figure = Figure(figsize=PREVIEW_INCHES, dpi=PREVIEW_DPI, layout="constrained")
    axes = figure.add_subplot()
    for index, (label, gpus, per_gpu) in enumerate(preview_series(guide)):
        axes.plot(gpus, per_gpu, label=label, linewidth=3, markersize=12, **style(index))
    # Per-GPU throughput spans two orders of magnitude across models: a log axis shows them all.
    axes.set_yscale("log")
    axes.set_xscale("log", base=2)
    gpu_counts = sorted(guide["gpus"].unique())
    axes.set_xticks(gpu_counts, [f"{count}" for count in gpu_counts])
    axes.minorticks_off()
    axes.set_xlabel("MI250 GPUs in the flavor", fontsize=20)
    axes.set_ylabel("Tokens/s per GPU (log scale)", fontsize=20)
    axes.tick_params(labelsize=18)
    axes.grid(True, alpha=0.3)
    axes.spines[["top", "right"]].set_visible(False)
    axes.set_title("Fine-tuning throughput per MI250 GPU, as the MoAI guide reports it",
                   fontsize=24, loc="left")
    axes.legend(fontsize=16, loc="center left", bbox_to_anchor=(1, 0.5), frameon=False)
    return figure


def save_preview(path: Path, data_dir=DATA_DIR) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # No software or date metadata: the same data gives the same bytes.
    draw_preview(data_dir).savefig(path, dpi=PREVIEW_DPI, metadata={"Software": None})


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
    config.notfound_urls_prefix = url_prefix(url)
    config.notfound_context = {"title": "Page not found", "body": not_found_body(url_prefix(url))}
    config.myst_substitutions = {
        **config.myst_substitutions,
        "site_url": f"<{url}>",
        "citation": citation_text(read_citation(), url),
    }


def write_preview(app) -> None:
    """Draw the preview into the HTML output's _static folder (builder-inited)."""
    if app.builder.format == "html":
        save_preview(Path(app.outdir) / PREVIEW)


def setup(app):
    app.connect("config-inited", configure)
    app.connect("builder-inited", write_preview)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
