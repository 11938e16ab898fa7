"""The report's view of a prediction set: how its ranking value is distributed (per true class
when the input is a labelled deeplense store) and its top-ranked images with their values."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from deeplense.atomic import atomic_path
from deeplense.plots.style import class_colours, figure, save
from deeplense.predict import output
from deeplense.predict.inputs import ImageSource, StoreSource, open_input

NORMAL_CLASS = "no_sub"


def ranking(table, rank_by: str | None) -> tuple[str, np.ndarray]:
    """The column images are ranked by (larger first) and its values: ``p_<rank_by>`` for a
    classifier (default: its first class other than no_sub), the target ``rank_by`` of a
    regressor (default: its first), a posterior's mean of that target, or the anomaly score."""
    classes = [c[2:] for c in table.columns if c.startswith("p_")]
    if classes:
        name = rank_by or next((c for c in classes if c != NORMAL_CLASS), classes[0])
        if name not in classes:
            raise ValueError(f"--rank-by {name!r}: not a class of the model; allowed: {', '.join(classes)}")
        return f"P({name})", table[f"p_{name}"].to_numpy()
    if "score" in table.columns:
        return "anomaly score", table["score"].to_numpy()
    means = [c[len("mean_"):] for c in table.columns if c.startswith("mean_")]  # a posterior: ranked by its mean
    if means:
        name = rank_by or means[0]
        if name not in means:
            raise ValueError(f"--rank-by {name!r}: not a target of the model; allowed: {', '.join(means)}")
        return f"posterior mean of {name}", table[f"mean_{name}"].to_numpy()
    targets = [c for c in table.columns if c not in ("id", *output.LABEL_NAMES) and not c.startswith("sigma_")]
    name = rank_by or targets[0]
    if name not in targets:
        raise ValueError(f"--rank-by {name!r}: not a target of the model; allowed: {', '.join(targets)}")
    return name, table[name].to_numpy()


def reopen_input(store: Path) -> ImageSource:
    """The images a prediction store was computed from (named in its attributes), rows in its order."""
    attrs = output.read_attrs(store)
    args = dict(attrs["arguments"])
    inputs = args.pop("inputs")
    if attrs["provenance"]["input"]["kind"] == "deeplense store":
        ids = np.asarray(output.table(store)["id"], dtype=np.int64)
        return StoreSource(Path(inputs[0]), ids, args.get("split"))
    return open_input(inputs, **{k: args.get(k) for k in ("variable", "sample_dim", "band_dim", "fits_ext")})


def plot_prediction_figures(store: str | Path, figures: str | Path, rank_by: str | None = None, top: int = 16) -> list[Path]:
    """``score_distribution.png`` and ``top_ranked.png`` of the prediction store into ``figures``."""
    store = Path(store)
    table = output.table(store)
    label, values = ranking(table, rank_by)
    source = reopen_input(store)
    name = output.read_attrs(store)["provenance"]["model"]["model"]
    with atomic_path(figures) as tmp:
        tmp.mkdir(parents=True)
        _distribution(tmp / "score_distribution.png", label, values, source, name)
        true = table["label_name"].astype(str).to_numpy() if "label_name" in table.columns else None
        _top_images(tmp / "top_ranked.png", label, values, table["id"].to_numpy(), source, name, top, true)
    return [Path(figures) / "score_distribution.png", Path(figures) / "top_ranked.png"]


def _distribution(path: Path, label: str, values: np.ndarray, source: ImageSource, model: str) -> None:
    fig, ax = figure(figsize=(7, 4.2))
    finite = values[np.isfinite(values)]
    bins = np.histogram_bin_edges(finite, bins=min(50, max(10, finite.size // 20))) if finite.size else 10
    if isinstance(source, StoreSource):  # a labelled store: one histogram per true class
        from deeplense.storage.dataset_store import open_dataset

        ds = open_dataset(source.path)
        labels = ds["label"].values[source.indices]
        colours = class_colours(list(ds.attrs["classes"]))
        for i, cls in enumerate(ds.attrs["classes"]):
            sel = labels == i
            if sel.any():
                ax.hist(values[sel], bins=bins, histtype="step", linewidth=1.8, color=colours[cls],
                        label=f"true {cls} (n={int(sel.sum())})")
        ax.legend(fontsize=9)
    else:
        ax.hist(finite, bins=bins, histtype="stepfilled", alpha=0.7)
    ax.set_xlabel(label)
    ax.set_ylabel("images")
    ax.set_title(f"{model}: {label} over {values.size} images")
    save(fig, path)


def _top_images(
    path: Path, label: str, values: np.ndarray, ids: np.ndarray, source: ImageSource, model: str, top: int, true: np.ndarray | None = None
) -> None:
    """The ``top`` images of highest ``values``, each captioned with its id, its value and, when the
    input's classes are known (``true``, one class name per row), its true class."""
    order = np.argsort(-np.nan_to_num(values, nan=-np.inf), kind="stable")[:top]
    cols = min(8, max(1, order.size))
    rows = -(-order.size // cols) if order.size else 1
    fig, axes = figure(rows, cols, figsize=(2.2 * cols, 2.7 * rows), squeeze=False, layout="constrained")
    for ax in axes.ravel():
        ax.set_xticks([])
        ax.set_yticks([])
        ax.grid(False)
        ax.axis("off")
    for k, row in enumerate(order):
        ax = axes.ravel()[k]
        ax.axis("on")
        ax.imshow(source.read(int(row), int(row) + 1)[0, 0], origin="lower", cmap="magma")
        truth = "" if true is None else f"\ntrue {true[row]}"
        ax.set_xlabel(f"id {ids[row]}{truth}\n{label}={values[row]:.3g}", fontsize=7)
    fig.suptitle(f"{model}: the {order.size} images of highest {label} (band 0)")
    save(fig, path)
