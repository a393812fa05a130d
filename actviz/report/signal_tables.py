"""The report's numbers about signal propagation: each activation's mean-field picture at initialisation beside the
measurements (signal.csv), where each setup starts in the phase diagram, and the diagram's grid. Plain data."""

from collections import defaultdict

import numpy as np

from actviz.report.numbers import seeds_of

# signal.csv: one row per dataset, architecture, recipe and activation.
SIGNAL_TABLE = ("dataset", "architecture", "recipe", "activation", "seeds", "hidden_layers", "in_theory", "sigma_w2",
                "sigma_b2", "q_star", "c_star", "chi1", "chi_c", "xi_c", "growth", "phase", "corr_last",
                "corr_last_predicted", "corr_last_path", "parts_at", "parts_at_when")
# Where a measured correlation parts from theory: the first layer more than this away from its prediction.
PARTS = 0.1


def signal_rows(runs, setup, activations, layers, profiles):
    """The mean-field picture of each activation of a setup at its initialisation (signal.csv): the weight
    variances of its hidden dense layers (mean over them) that their initialisers imply (runs from before
    this was recorded: measured at step 0, mean over the seeds), the fixed points, chi1, chi_c, xi_c and phase
    they imply (``actviz.signal.phase``), whether every hidden layer is inside the theory (dense, no batch norm
    before it), the measured correlation at the last hidden layer against its predictions, and the first layer
    and moment (init or trained) where the measured correlation lies more than ``PARTS`` from the one-step
    prediction. ``profiles``: ``depth_profiles``."""
    from actviz import signal
    from actviz.activations import activation_parameter, numpy_function

    hidden = [i for i, layer in enumerate(layers) if layer.startswith("dense")]
    rows = []
    for activation in activations:
        init, trained = profiles.get((activation, "init")), profiles.get((activation, "trained"))
        seeds = seeds_of(runs, setup, activation)
        if init is None or not hidden or any(init["sigma_w2"][i] is None for i in hidden):
            continue
        metrics = runs[(*setup, activation, seeds[0])]["metrics"]
        implied = metrics.get("initialisation") or {}  # what the initialisers imply; else the weights at step 0
        sigma_w2, sigma_b2 = (float(np.mean([implied[layers[i]][key] if implied.get(layers[i], {}).get(key) is not None
                                             else init[key][i] for i in hidden])) for key in ("sigma_w2", "sigma_b2"))
        theory = signal.phase(numpy_function(activation, activation_parameter(activation, metrics.get("settings", {}))),
                              sigma_w2, sigma_b2)
        parts = [(layer, when) for when, values in (("init", init), ("trained", trained)) if values
                 for i, layer in enumerate(layers)
                 if values["predicted_corr"][i] is not None and values["corr"][i] is not None
                 and abs(values["corr"][i] - values["predicted_corr"][i]) > PARTS]
        last = hidden[-1]
        rows.append({"dataset": setup[0], "architecture": setup[1], "recipe": setup[2], "activation": activation,
                     "seeds": len(seeds), "hidden_layers": len(hidden),
                     "in_theory": all(init["predicted_corr"][i] is not None for i in hidden),
                     "sigma_w2": sigma_w2, "sigma_b2": sigma_b2,
                     **{k: theory[k] for k in ("q_star", "c_star", "chi1", "chi_c", "xi_c", "growth")},
                     "phase": theory["phase"],
                     "corr_last": init["corr"][last], "corr_last_predicted": init["predicted_corr"][last],
                     "corr_last_path": init["path_corr"][last],
                     "parts_at": parts[0][0] if parts else None, "parts_at_when": parts[0][1] if parts else None})
    return rows


def phase_points(rows):
    """{activation: [(setup label, sigma_w2, sigma_b2)]}: where each setup's runs start in the phase diagram."""
    points = defaultdict(list)
    for r in rows:
        points[r["activation"]].append((f"{r['architecture']}/{r['recipe']}", r["sigma_w2"], r["sigma_b2"]))
    return dict(points)


def phase_diagram(activation, parameter=None, sigma_w2_max=2.5, sigma_b2_max=0.5, size=(48, 24)):
    """(sigma_w2 values, sigma_b2 values, chi1 [sigma_b2, sigma_w2]) over the plane up to the maxima: the phase
    diagram of ``activation`` (``actviz.signal.chi1_grid``; NaN where the length explodes)."""
    from actviz import signal
    from actviz.activations import numpy_function

    w = np.linspace(0.05, sigma_w2_max, size[0])
    b = np.linspace(0.0, sigma_b2_max, size[1])
    return w, b, signal.chi1_grid(numpy_function(activation, parameter), w, b)
