"""The figures of "Do two trainings agree?": test accuracy against churn (one point per activation with both
intervals, as Shamir et al. 2020 draw it) and the reliability diagrams. Each returns a base64 PNG."""

import numpy as np

from actviz.plots import activation_color, figure_to_png_base64, new_figure


def churn_accuracy_figure(points):
    """Test accuracy (y) against churn between seeds (x), in percent: ``points`` [{activation, churn, churn_low,
    churn_high, accuracy, accuracy_low, accuracy_high}], an interval NaN where there were too few seeds (no bar)."""
    fig = new_figure(5.2, 3.8)
    axis = fig.subplots()
    for p in points:
        x, y = 100 * p["churn"], 100 * p["accuracy"]
        xerr = [[x - 100 * p["churn_low"]], [100 * p["churn_high"] - x]] if np.isfinite(p["churn_low"]) else None
        yerr = ([[y - 100 * p["accuracy_low"]], [100 * p["accuracy_high"] - y]]
                if p["accuracy_low"] is not None and np.isfinite(p["accuracy_low"]) else None)
        axis.errorbar(x, y, xerr=xerr, yerr=yerr, fmt="o", color=activation_color(p["activation"]), capsize=3,
                      markersize=7, markeredgecolor="black", label=p["activation"])
    axis.set_xlabel("churn between seeds, % of test images (95% CI over seeds)")
    axis.set_ylabel("test accuracy, % (95% CI over seeds)")
    axis.grid(alpha=0.3)
    axis.legend(fontsize=8, loc="best")
    axis.set_title("better: up and to the left", fontsize=9)
    return figure_to_png_base64(fig)


def reliability_figure(diagrams):
    """One reliability diagram per activation, on the same axes: the accuracy of each confidence bin (bars, pooled
    over seeds) against the diagonal of perfect calibration; ``diagrams``: {activation: (bin edges, images,
    confidence, accuracy, calibration error)}."""
    fig = new_figure(1.2 + 2.6 * len(diagrams), 3.0)
    axes = fig.subplots(1, len(diagrams), squeeze=False, sharey=True)[0]
    for axis, (activation, (edges, images, confidence, accuracy, error)) in zip(axes, diagrams.items()):
        filled = np.asarray(images) > 0
        left, width = np.asarray(edges[:-1]), np.diff(edges)
        axis.bar(left[filled], np.asarray(accuracy)[filled], width=width[filled], align="edge",
                 color=activation_color(activation), edgecolor="black", linewidth=0.5, label="accuracy")
        axis.plot([0, 1], [0, 1], color="grey", linestyle="--", linewidth=1, label="calibrated")
        axis.plot(np.asarray(confidence)[filled], np.asarray(accuracy)[filled], ".", color="black", markersize=3)
        axis.set_xlim(0, 1)
        axis.set_ylim(0, 1)
        axis.set_title(f"{activation}: ECE {100 * error:.1f}%", fontsize=9)
        axis.set_xlabel("confidence (top label)")
    axes[0].set_ylabel("accuracy in the bin")
    axes[0].legend(fontsize=7, loc="upper left")
    return figure_to_png_base64(fig)


def cka_layers_figure(layers, baselines, pairs):
    """CKA against depth: left, each activation's seed baseline (two seeds of it; band: its 95% interval); right,
    each pair of activations' cross CKA, a ring where the permutation test found them different beyond seed noise.
    ``baselines``: {activation: (means, lows, highs)} per layer; ``pairs``: {(a, b): (means, different)}."""
    fig = new_figure(11, 3.6)
    left, right = fig.subplots(1, 2, sharey=True)
    x = np.arange(len(layers))
    for activation, (mean, low, high) in baselines.items():
        color = activation_color(activation)
        left.plot(x, mean, "o-", color=color, label=activation)
        left.fill_between(x, np.asarray(low, float), np.asarray(high, float), color=color, alpha=0.15)
    for (a, b), (mean, different) in pairs.items():
        line, = right.plot(x, mean, "o-", color=activation_color(a), markerfacecolor=activation_color(b),
                           label=f"{a} · {b}")
        marked = np.flatnonzero(different)
        right.plot(x[marked], np.asarray(mean, float)[marked], "o", markersize=13, markerfacecolor="none",
                   markeredgecolor="black", linewidth=0)
    for axis, title in ((left, "two seeds of one activation (the seed baseline)"),
                        (right, "two activations (ring: different beyond seed noise)")):
        axis.set_xticks(x, layers)
        axis.set_title(title, fontsize=9)
        axis.grid(alpha=0.3)
        if axis.get_legend_handles_labels()[0]:
            axis.legend(fontsize=7, ncol=2)
        else:
            axis.text(0.5, 0.5, "no two activations with two seeds each", transform=axis.transAxes, ha="center")
    left.set_ylabel("linear CKA (debiased; axis from the lowest value)")
    values = [v for mean, low, _ in baselines.values() for v in (*mean, *low)] + [
        v for mean, _ in pairs.values() for v in mean]
    finite = [v for v in values if v is not None and np.isfinite(v)]
    low = max(-0.05, np.floor(min(finite, default=0.0) * 20) / 20 - 0.05)  # the differences are small: show them
    left.set_ylim(low, 1.01)
    return figure_to_png_base64(fig)


def cka_maps_figure(layers, maps):
    """Kornblith et al.'s (2019) figure: the layer x layer CKA between two runs, for two seeds of one activation
    beside two activations; ``maps``: {kind: (title, [layer of the first, layer of the second])}, one scale 0-1."""
    fig = new_figure(1.5 + 4.0 * len(maps), 3.8)
    axes = fig.subplots(1, len(maps), squeeze=False)[0]
    image = None
    for axis, (title, values) in zip(axes, maps.values()):
        image = axis.imshow(np.asarray(values, float), vmin=0, vmax=1, cmap="magma", origin="lower")
        axis.set_xticks(range(len(layers)), layers, rotation=45, fontsize=7)
        axis.set_yticks(range(len(layers)), layers, fontsize=7)
        first, second = title.split(" · ")
        axis.set_ylabel(first, fontsize=8)
        axis.set_xlabel(second, fontsize=8)
    fig.colorbar(image, ax=list(axes), shrink=0.8, label="linear CKA (debiased)")
    return figure_to_png_base64(fig)
