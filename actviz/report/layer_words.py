"""What the layers say, in words: where they sit against SELU's fixed point, where the moment map parts from the
measurement, and how signals travel by mean-field theory beside what was measured. Plain data in, sentences out."""

import numpy as np

from actviz.report.numbers import finite, number_text

# SELU's fixed-point theorem (Klambauer et al. 2017, Theorem 1) holds for activations with mean in
# [-0.1, 0.1] and variance in [0.8, 1.5]: "near mean 0 and std 1" means inside that domain here.
NEAR_MEAN = 0.1


NEAR_VARIANCE = (0.8, 1.5)


DOMAIN_WORDS = "mean within ±0.1 and variance within 0.8–1.5, the domain of SELU's fixed-point theorem"


def near_fixed_point(mean, std):
    """Whether a layer's mean and std lie in SELU's fixed-point domain (``NEAR_MEAN``, ``NEAR_VARIANCE``);
    never for a statistic that is missing (None) or not finite."""
    if not (finite(mean) and finite(std)):
        return False
    return abs(mean) <= NEAR_MEAN and NEAR_VARIANCE[0] <= std**2 <= NEAR_VARIANCE[1]


def _two(value):
    return number_text(value, "%.2f").replace("-0.00", "0.00").replace("-", "−")


def _layer_words(layer, mean, std):
    return f"{layer} mean {_two(mean)}, std {_two(std)}"


def fixed_point_sentences(profiles_by_setup, layers):
    """Where the layers of one architecture (``layers``) sit against mean 0 / std 1 after training, and
    at what depth SELU leaves it; ``profiles_by_setup``: {setup label: ``layer_tables.depth_profiles``}."""
    last = len(layers) - 2  # the last hidden layer (before the logits)
    trained = sorted(((recipe, activation, values["mean"][last], values["std"][last])
                      for recipe, profiles in profiles_by_setup.items()
                      for (activation, when), values in profiles.items()
                      if when == "trained" and finite(values["mean"][last]) and finite(values["std"][last])),
                     key=lambda c: abs(c[2]) + abs(c[3] - 1))
    sentences = []
    if trained:
        near = [c for c in trained if near_fixed_point(c[2], c[3])]
        listed = "; ".join(_layer_words(f"{a} ({r})", m, s) for r, a, m, s in (near or trained))
        sentences.append(
            f"After training, {layers[last]} (the last hidden layer) is near mean 0 and std 1 ({DOMAIN_WORDS}) "
            f"for: {listed}." if near else
            f"After training, no activation keeps {layers[last]} (the last hidden layer) near mean 0 and std 1 "
            f"({DOMAIN_WORDS}): {listed}.")
    for recipe, profiles in profiles_by_setup.items():
        if ("selu", "init") not in profiles:
            continue
        parts = []
        for when, words in (("init", "at initialisation"), ("trained", "after training")):
            means, stds = profiles["selu", when]["mean"], profiles["selu", when]["std"]
            inside = [layer for i, layer in enumerate(layers[:-1]) if near_fixed_point(means[i], stds[i])]
            where = ("at every hidden layer" if len(inside) == len(layers) - 1 else "at no hidden layer"
                     if not inside else f"at {', '.join(inside)} only")
            parts.append(f"{words} inside the domain {where} ({_layer_words(layers[last], means[last], stds[last])})")
        sentences.append(f"SELU ({recipe}): {'; '.join(parts)}.")
    return sentences


PART = 0.1  # the moment map parts from a measurement by more than this share of the layer's measured std


def parts_at(values, layers):
    """Where the one-step prediction first parts from the measurement in a depth profile:
    ``(layer, "std" or "mean", measured, predicted)``, ``()`` if it never does, None if nothing was
    predicted."""
    predicted = False
    for i, layer in enumerate(layers):
        mean, std = values["mean"][i], values["std"][i]
        predicted_mean = values.get("predicted_mean", [None] * len(layers))[i]
        predicted_std = values.get("predicted_std", [None] * len(layers))[i]
        if not all(map(finite, (mean, std, predicted_mean, predicted_std))):
            continue
        predicted = True
        if abs(predicted_std - std) > PART * std:
            return layer, "std", std, predicted_std
        if abs(predicted_mean - mean) > PART * std:
            return layer, "mean", mean, predicted_mean
    return () if predicted else None


def moment_map_sentences(profiles_by_setup, layers):
    """Per setup, where the moment map (one step from the measured layer below) parts from the measured
    layers at initialisation and after training: where its assumptions stop holding."""
    sentences = []
    for name, profiles in profiles_by_setup.items():
        parts = []
        for activation in dict.fromkeys(a for a, _ in profiles):
            words = []
            for when, label in (("init", "at initialisation"), ("trained", "after training")):
                found = parts_at(profiles[activation, when], layers) if (activation, when) in profiles else None
                if found == ():
                    words.append(f"matches every predicted layer {label}")
                elif found:
                    layer, stat, measured, predicted = found
                    words.append(f"parts from it {label} at {layer} ({stat} {_two(measured)} measured, "
                                 f"{_two(predicted)} predicted)")
            if words:
                parts.append(f"{activation} {' and '.join(words)}")
        if parts:
            sentences.append(f"The moment map, one step from the measured layer below ({name}; parting: off by more "
                             f"than {PART:.0%} of the layer's std): {'; '.join(parts)}. Where it parts, its "
                             f"assumptions fail: inputs that are not independent (neighbouring pixels in a conv "
                             f"layer) or weights no longer random (training).")
    return sentences


# Schoenholz et al. (2017): a network trains when it is less deep than about this many depth scales xi_c.
TRAINABLE_DEPTH_SCALES = 6


def signal_sentences(name, rows):
    """How signals travel in one setup, one sentence per activation (``signal_tables.signal_rows``): its phase at
    initialisation with chi1, the depth scale xi_c against its hidden layers, and how the measured correlation of
    two inputs compares with mean-field theory's, and where it first parts from it."""
    sentences = []
    for r in rows:
        start = (f"{name}, {r['activation']}: initialised at σw² = {r['sigma_w2']:.2f}, σb² = {r['sigma_b2']:.2g} "
                 f"({r['hidden_layers']} hidden dense layers)")
        if r["phase"] == "unbounded":
            theory = (f"the length map has no fixed point there: the signal's length grows layer after layer (×"
                      f"{r['growth']:.3f} a layer at unit length; χ1 = {r['chi1']:.3f})")
        else:
            depth = _depth_words(r["xi_c"], r["hidden_layers"])
            theory = {"edge": f"on the edge of chaos (χ1 = {r['chi1']:.2f}): two inputs' correlation is kept over "
                              f"any depth",
                      "ordered": f"in the ordered phase (χ1 = {r['chi1']:.2f} < 1): two inputs' representations "
                                 f"converge to the same (c* = {r['c_star']:.2f})",
                      "chaotic": f"in the chaotic phase (χ1 = {r['chi1']:.2f} > 1): two inputs decorrelate towards "
                                 f"c* = {r['c_star']:.2f}"}[r["phase"]] + depth
        scope = "" if r["in_theory"] else (" — but a layer behind batch norm is outside the theory's assumptions, so "
                                           "its layers are measured, not predicted")
        measured = _measured_words(r)
        sentences.append(f"{start}: {theory}{scope}.{measured}")
    return sentences


def _depth_words(xi, layers):
    if xi is None:
        return ""
    if not np.isfinite(xi) or xi > 1e4:
        return "; its depth scale ξ_c is unbounded"
    deep = layers / xi
    verdict = ("well within" if deep < 1 else "within" if deep <= TRAINABLE_DEPTH_SCALES else "beyond")
    return (f"; depth scale ξ_c = {xi:.1f} layers, so {layers} dense layers are {deep:.1f} ξ_c, {verdict} the "
            f"~{TRAINABLE_DEPTH_SCALES} ξ_c up to which such nets train (Schoenholz et al. 2017)")


def _measured_words(r):
    if r["corr_last"] is None:
        return ""
    predicted = "" if r["corr_last_predicted"] is None else (
        f" against {r['corr_last_predicted']:.2f} predicted one step from the layer below"
        + ("" if r["corr_last_path"] is None else f" and {r['corr_last_path']:.2f} along the path from the input"))
    if r["corr_last_predicted"] is None:
        parts = ""
    elif r["parts_at"] is None:
        parts = " The measurement stays within 0.1 of the one-step prediction at every layer, at initialisation and " \
                "after training."
    else:
        when = "at initialisation" if r["parts_at_when"] == "init" else "after training"
        parts = f" It first parts from the one-step prediction by more than 0.1 at {r['parts_at']}, {when}."
    return f" Measured at the last hidden layer at initialisation: correlation {r['corr_last']:.2f}{predicted}.{parts}"


def layer_sentences(depth):
    """What the layers say: where they sit against SELU's fixed point, and where the moment map parts from them
    (``depth`` as ``summary_sentences`` takes it)."""
    sentences = []
    for layers, profiles in depth.values():
        sentences += fixed_point_sentences(profiles, layers)
    for layers, profiles in depth.values():
        sentences += moment_map_sentences(profiles, layers)
    return sentences
