"""What the pages that show the data as it is glue and tabulate (the parameter guide, the data
dictionary, the changelog), and `glue_all`, which every page calls once with its values.

The analysis pages take theirs from the analysis modules (`audit.page_values`, `cost.page_values`,
`model.page_values`, `scaling.page_values`). Every value is text, formatted as the prose shows it,
and every table a frame with the page's column names: the page adds the caption and the formats.
"""

import pandas as pd
from myst_nb import glue

from ftguide.data import allowed_values, schema

VRAM_SHARE = "VRAM share of flavor memory (%)"


def glue_all(values: dict) -> None:
    """Glue each value under its key for {glue:text} in the page's prose, showing nothing here."""
    for name, value in values.items():
        glue(name, value, display=False)


# --- the parameter guide ------------------------------------------------------------------------

def guide_values(tables) -> dict:
    """The guide in numbers: its rows, models, platform versions, flavors and memory use."""
    guide = tables.guide
    flavors = tables.accelerators.set_index("accelerator").loc[guide["accelerator"].unique()]
    fullest = guide.loc[guide["vram_share"].idxmax()]
    return {
        "n_rows": f"{len(guide)}",
        "n_models": f"{guide['model'].nunique()}",
        "platform_versions": ", ".join(sorted(guide["platform_version"].unique())),
        "flavor_list": ", ".join(f"{name} = {row.mi250_gpus} MI250 GPUs ({row.gcds} GCDs, {row.nodes} nodes, "
                                 f"{row.memory_mib:,} MiB)" for name, row in flavors.iterrows()),
        "fullest_row": f"{fullest['model']} on {fullest['accelerator']}",
        "fullest_share": f"{fullest['vram_share']:.0%}",
        "emptiest_share": f"{guide['vram_share'].min():.0%}",
    }


def guide_table(guide: pd.DataFrame, labels: dict) -> pd.DataFrame:
    """The guide as published, measured quantities first; the two columns that are the same in
    every row of the source go last."""
    columns = ["model", "accelerator", "batch_size", "sequence_length", "vram_mib", "training_time_min",
               "throughput_tokens_per_s", "platform_version", "advanced_parallelism"]
    full = guide[columns].replace({"advanced_parallelism": {True: "yes", False: "no"}})
    return full.rename(columns=labels).set_index([labels["model"], labels["accelerator"]])


def memory_share_table(guide: pd.DataFrame, labels: dict) -> pd.DataFrame:
    """VRAM against the flavor's memory, for the whole flavor and per MI250."""
    columns = ["model", "accelerator", "gpus", "vram_mib", "flavor_memory_mib", "vram_share", "vram_per_gpu_mib"]
    return guide[columns].rename(columns={
        **labels, "gpus": "MI250 GPUs", "flavor_memory_mib": "Flavor memory (MiB)", "vram_share": VRAM_SHARE,
        "vram_per_gpu_mib": "VRAM per GPU (MiB)",
    }).set_index([labels["model"], labels["accelerator"]])


def per_model_tables(guide: pd.DataFrame, labels: dict) -> list[tuple[str, pd.DataFrame]]:
    """(model, its configurations from the smallest flavor to the largest), in the guide's order."""
    columns = {
        "accelerator": labels["accelerator"], "gpus": "MI250 GPUs", "batch_size": labels["batch_size"],
        "samples_per_gpu": "Samples per GPU", "sequence_length": labels["sequence_length"],
        "vram_share": VRAM_SHARE, "training_time_min": labels["training_time_min"],
        "throughput_tokens_per_s": labels["throughput_tokens_per_s"],
        "throughput_per_gpu": "Throughput per GPU (tokens/s)",
    }
    return [(model, rows.sort_values(["gpus", "sequence_length"])[list(columns)].rename(columns=columns)
             .set_index(labels["accelerator"]))
            for model, rows in guide.groupby("model", sort=False)]


# --- the data dictionary ------------------------------------------------------------------------

def dictionary_tables(data_dir) -> list[tuple[str, str, pd.DataFrame]]:
    """(resource name, caption, one row per column: type, unit, meaning, allowed values) for every
    file of the data package, generated from datapackage.json. A file whose columns have no unit
    gets no Unit column."""
    tables = []
    for resource in schema(data_dir).resources:
        rows = [{"Column": field.name, "Type": field.type, "Unit": field.to_dict().get("unit") or "",
                 "Meaning": field.description, "Allowed values": allowed_values(field)}
                for field in resource.schema.fields]
        caption = (f"{resource.path}: {resource.title}. Each row is unique by: "
                   f"{', '.join(resource.schema.primary_key)}.")
        table = pd.DataFrame(rows).set_index("Column")
        tables.append((resource.name, caption, table.loc[:, (table != "").any()]))
    return tables


# --- the changelog ------------------------------------------------------------------------------

def changes_values(changes: pd.DataFrame) -> dict:
    return {"n_changes": f"{len(changes)}", "n_files": f"{changes['file'].nunique()}",
            "latest_change": max(changes["date"])}


def latest_changes(changes: pd.DataFrame, labels: dict, count: int = 5) -> pd.DataFrame:
    """The newest changes in the columns a reader scans them by: the file and what changed (the
    full table, with rows and sources, follows on the page)."""
    return changes_table(changes, labels).head(count)[[labels["file"], labels["description"]]]


def changes_table(changes: pd.DataFrame, labels: dict) -> pd.DataFrame:
    """Newest first; a stable sort keeps same-day changes in the order they were written down."""
    newest_first = changes.sort_values("date", ascending=False, kind="stable")
    return newest_first.rename(columns={name: labels[name] for name in changes.columns}).set_index(labels["date"])
