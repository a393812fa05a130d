"""The report's figures, drawn from ``actviz.report.numbers``' values; each returns a base64 PNG."""

import numpy as np

from actviz.plots import (
    MAP_QUANTILES,
    activation_color,
    draw_class_accuracy,
    draw_curves,
    draw_depth_profile,
    draw_input,
    draw_layer_example,
    draw_overlaid_histograms,
    draw_percentile_bands,
    figure_to_png_base64,
    finite_limits,
    fixed_row,
    new_figure,
)

CURVE_LABELS = {"validation_accuracy": "validation accuracy (held-out train images)",
                "train_loss": "training loss (mean over log_every steps)"}
# Inches left, right, bottom, top and between panels of the figures drawn for every layer (their labels
# are known: numbers, activation names, fixed titles); the colorbar of a layer's grids is in the right one.
LAYER_MARGINS = (0.8, 0.65, 0.45, 0.25, 0.12)
PERCENTILE_MARGINS = (0.65, 0.1, 0.45, 0.25, 0.12)
SHORT_TICKS = (-3, 4)  # value tick labels beyond 1e-3..1e4 in powers of ten: they fit those margins


def learning_curves_figure(curves):
    """Validation accuracy (left) and training loss (right, log scale) of ``numbers.learning_curves``."""
    fig = new_figure(11, 3.8)
    axes = fig.subplots(1, 2)
    for axis, key in zip(axes, ("validation_accuracy", "train_loss")):
        draw_curves(axis, curves[key], CURVE_LABELS[key])
    axes[1].set_yscale("log")
    readable_log_axis(axes[1])
    axes[0].legend(fontsize=8)
    return figure_to_png_base64(fig)


def readable_log_axis(axis):
    """A log y axis labelled at 1, 2 and 5 of every decade, in plain numbers: matplotlib labels only powers of ten
    beyond a decade, and a training loss between 0.05 and 0.6 showed one label (the SELU paper's Figure 1)."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    axis.yaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
    axis.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    axis.yaxis.set_minor_formatter(NullFormatter())


def depth_figure(layers, profiles):
    """Mean (left) and std (right, log scale) against depth of ``layer_tables.depth_profiles``, measured, and
    as the moment map predicts them (thin: dotted one step from the layer below, dash-dot along the
    path from the input)."""
    fig = new_figure(11, 3.6 if len(layers) <= 8 else 4.2)
    axes = fig.subplots(1, 2)
    for axis, stat, target in ((axes[0], "mean", 0.0), (axes[1], "std", 1.0)):
        predictions = {(kind, a, w): v[f"{kind}_{stat}"] for (a, w), v in profiles.items()
                       for kind in ("predicted", "path") if f"{kind}_{stat}" in v}
        draw_depth_profile(axis, layers, {k: v[stat] for k, v in profiles.items()}, target, stat, predictions)
    means = [abs(m) for v in profiles.values() for m in v["mean"] if m is not None and np.isfinite(m)]
    if means and max(means) > 10:  # a mean that grows by orders of magnitude: linear near 0, log beyond 1
        axes[0].set_yscale("symlog", linthresh=1.0)
    axes[1].set_yscale("log")
    axes[1].legend(fontsize=7, ncol=2)
    return figure_to_png_base64(fig)


def signal_figure(layers, profiles):
    """How signals travel through depth (``layer_tables.depth_profiles``): the mean correlation between two probe
    images' pre-activations (left) and the mean squared singular value of the Jacobian from the input (right,
    log scale), at initialisation (dashed) and after training (solid); thin, as mean-field theory predicts
    them (dotted: one step from the layer below; dash-dot: along the path from the input)."""
    fig = new_figure(11, 3.6 if len(layers) <= 8 else 4.2)
    axes = fig.subplots(1, 2)
    for axis, stat, label in ((axes[0], "corr", "correlation of two inputs (pre-activations)"),
                              (axes[1], "jacobian", "mean squared singular value of dz/dx")):
        predictions = {(kind, a, w): v[f"{kind}_{stat}"] for (a, w), v in profiles.items()
                       for kind in ("predicted", "path") if f"{kind}_{stat}" in v}
        draw_depth_profile(axis, layers, {k: v[stat] for k, v in profiles.items()}, None, label, predictions)
    values = [v for p in profiles.values() for v in p["jacobian"] if v is not None and np.isfinite(v) and v > 0]
    if values:
        axes[1].set_yscale("log")
    axes[0].set_ylim(min([0.0, *[v for p in profiles.values() for v in p["corr"] if v is not None]]) - 0.02, 1.02)
    axes[1].legend(fontsize=7, ncol=2)
    return figure_to_png_base64(fig)


EXPLODES = "0.5"  # where the length has no fixed point: darker than coolwarm's light grey at chi1 = 1


def phase_figure(diagrams):
    """The order-chaos phase diagram of each activation: the (sigma_w^2, sigma_b^2) plane shaded by chi1 (blue:
    ordered, chi1 < 1; red: chaotic, > 1; grey: the length explodes), the edge chi1 = 1 as a black line, and
    where each setup's runs start (``diagrams``: {activation: (its own setting's value or None, [(setup label, sigma_w2,
    sigma_b2)])}; the grids from ``signal_tables.phase_diagram``, computed here, on the drawing worker)."""
    import matplotlib.colors as mcolors
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    from actviz.report.signal_tables import phase_diagram

    fig = new_figure(2.0 + 3.3 * len(diagrams), 3.5)
    axes = fig.subplots(1, len(diagrams), squeeze=False)[0]
    norm = mcolors.TwoSlopeNorm(vmin=0.0, vcenter=1.0, vmax=2.0)
    for axis, (activation, (parameter, points)) in zip(axes, diagrams.items()):
        w, b, chi1 = phase_diagram(activation, parameter, max([2.5, *(1.2 * x for _, x, _ in points)]))
        axis.set_facecolor(EXPLODES)  # NaN: the length explodes
        mesh = axis.pcolormesh(w, b, np.clip(chi1, 0.0, 2.0), cmap="coolwarm", norm=norm, shading="auto")
        if np.nanmin(chi1) < 1 < np.nanmax(chi1):
            axis.contour(w, b, chi1, levels=[1.0], colors="black", linewidths=1.5)
        at = {}  # setups that start at the same point share one dot and one label
        for name, x, y in points:
            at.setdefault((round(x, 3), round(y, 3)), []).append(name)
        for index, ((x, y), names) in enumerate(sorted(at.items())):
            axis.plot(x, y, "o", color=activation_color(activation), markeredgecolor="black", markersize=7,
                      clip_on=False, zorder=3)
            # neighbouring labels one above the other (setups tend to start at sigma_b2 = 0, close in sigma_w2)
            axis.annotate(", ".join(names), (x, y), textcoords="offset points", xytext=(-4, 7 + 11 * (index % 2)),
                          ha="right", fontsize=7, bbox={"boxstyle": "square,pad=0.1", "fc": "white", "ec": "none",
                                                        "alpha": 0.7})
        axis.set_title(activation, fontsize=10)
        axis.set_xlabel("σw² (fan-in × weight variance)")
        axis.set_xlim(w[0], w[-1])
        axis.set_ylim(b[0] - 0.02 * (b[-1] - b[0]), b[-1])  # a dot at sigma_b2 = 0 shows whole
    axes[0].set_ylabel("σb² (bias variance)")
    bar = fig.colorbar(mesh, ax=list(axes), fraction=0.03, pad=0.02, extend="max")
    bar.set_label("χ1: < 1 ordered, > 1 chaotic", fontsize=8)
    axes[0].legend(handles=[Line2D([], [], color="black", label="edge of chaos, χ1 = 1"),
                            Patch(color=EXPLODES, label="the length explodes (no fixed point)")],
                   loc="upper left", fontsize=7, framealpha=0.85)
    return figure_to_png_base64(fig)


def gradient_figure(layers, profiles):
    """Against depth, log scale: the std of the loss gradient with respect to each layer's output (left)
    and the L2 norm of each kernel's gradient (right), at initialisation (dashed) and after training."""
    fig = new_figure(11, 3.4 if len(layers) <= 8 else 4.0)
    axes = fig.subplots(1, 2)
    for axis, stat, label in ((axes[0], "grad_output_std", "std of dLoss/d(layer output)"),
                              (axes[1], "grad_kernel_norm", "norm of dLoss/d(kernel)")):
        draw_depth_profile(axis, layers, {k: v[stat] for k, v in profiles.items()}, None, label)
        axis.set_yscale("log")
    axes[1].legend(fontsize=7, ncol=2)
    return figure_to_png_base64(fig)


def layer_figure(edges, histograms, examples, image):
    """Overlaid final histograms of every activation (left), the probe ``image`` and each activation's
    activations of it side by side on one colour scale (right): a conv layer's feature maps, a dense
    layer's units; from ``layer_tables.final_histograms``."""
    activations = list(examples)
    maps = any(np.ndim(e) == 3 for e in examples.values())
    # Feature maps on the central 99% of their values: a few large ones would leave every map one colour.
    vmin, vmax = finite_limits(examples.values(), MAP_QUANTILES if maps else None)
    fig, axes = fixed_row(4.4 + 3.2 * len(activations), 3.6 if maps else 3.0, len(activations) + 2, LAYER_MARGINS,
                          width_ratios=[1.5, 0.8] + [1.25] * len(activations))
    draw_overlaid_histograms(axes[0], histograms, edges)
    draw_input(axes[1], image)
    axes[1].set_title("input", fontsize=10)
    for axis, activation in zip(axes[2:], activations):
        drawn, shown = draw_layer_example(axis, examples[activation], vmin, vmax)
        axis.set_title(f"{activation}: {shown}", fontsize=9)
    bar = fig.colorbar(drawn, ax=list(axes[2:]), shrink=0.9, fraction=0.04, pad=0.015, label="activation value",
                       extend="both" if maps else "neither")
    bar.formatter.set_powerlimits(SHORT_TICKS)
    return figure_to_png_base64(fig)


def percentile_figure(bands):
    """A layer's percentiles over training, one panel per activation on one shared value axis
    (``layer_tables.percentiles_over_training``): the 1-99% band, the 5-95% band and the median."""
    low, high = finite_limits([[0.0, *(v for p in series.values() for v in p)] for _, series in bands.values()])
    margin = 0.04 * (high - low or 1.0)
    fig, axes = fixed_row(0.6 + 3.0 * len(bands), 2.8, len(bands), PERCENTILE_MARGINS, sharey=True)
    for axis, (activation, (steps, series)) in zip(axes, bands.items()):
        draw_percentile_bands(axis, steps, series, activation_color(activation))
        axis.set_title(activation, fontsize=10)
    axes[0].set_ylim(low - margin, high + margin)
    axes[0].set_ylabel("activation value")
    axes[0].ticklabel_format(axis="y", style="sci", scilimits=SHORT_TICKS)
    axes[-1].legend(fontsize=7, loc="upper left")
    return figure_to_png_base64(fig)


def per_class_figure(activations, classes, accuracy):
    """Each class's test accuracy (columns) per activation (rows), ``accuracy`` [activations, classes]."""
    fig = new_figure(1.6 + 0.75 * len(classes), 0.9 + 0.45 * len(activations))
    axis = fig.subplots()
    image = draw_class_accuracy(axis, np.asarray(accuracy, dtype=np.float64), activations, classes)
    fig.colorbar(image, ax=axis, label="accuracy", shrink=0.9)
    return figure_to_png_base64(fig)


def sensitivity_figure(curves):
    """Validation accuracy against each swept setting (one panel per setting, its values in the sweep's order),
    one line per activation with its seeds' range shaded; a cross near the bottom (one row per activation)
    where every trial with that value diverged (``sweep_tables.sensitivity``)."""
    fig = new_figure(1.2 + 3.6 * len(curves), 3.2)
    axes = fig.subplots(1, len(curves), squeeze=False, sharey=True)[0]  # one accuracy axis for every setting
    for axis, (key, by_activation) in zip(axes, curves.items()):
        values = list(dict.fromkeys(v for points in by_activation.values() for v, *_ in points))
        for row, (activation, points) in enumerate(by_activation.items()):
            color = activation_color(activation)
            x = [values.index(v) for v, *_ in points]
            mean = [np.nan if m is None else m for _, m, _, _ in points]
            axis.plot(x, mean, "-o", color=color, markersize=4, label=activation)
            axis.fill_between(x, [np.nan if lo is None else lo for _, _, lo, _ in points],
                              [np.nan if hi is None else hi for _, _, _, hi in points], color=color, alpha=0.2,
                              linewidth=0)
            diverged = [values.index(v) for v, m, _, _ in points if m is None]
            if diverged:
                axis.plot(diverged, [0.03 + 0.06 * row] * len(diverged), "x", color=color, markersize=8, mew=2,
                          transform=axis.get_xaxis_transform(), clip_on=False)
        axis.set_xticks(range(len(values)), [f"{v:g}" if isinstance(v, float) else str(v) for v in values],
                        fontsize=8)
        axis.set_xlabel(key)
        axis.grid(True, alpha=0.3)
    axes[0].set_ylabel("validation accuracy")
    axes[0].legend(fontsize=8)
    return figure_to_png_base64(fig)
