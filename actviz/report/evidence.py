"""What the accuracies support, in numbers and in words: intervals for each activation, pairwise
comparisons, whether the top one is a winner, per-class results, and the summary sentences.

Plain data in, plain data out (numpy and scipy.stats, no plotting); ``runs`` as in ``numbers``.
"""

import itertools
from dataclasses import dataclass

import numpy as np

from actviz import sequential
from actviz.evaluation import unpack_bits
from actviz.looks import look_sizes
from actviz.report import uncertainty
from actviz.report.numbers import finite, number_text, seeds_of


def final_correct(metrics):
    """Each test image's result in the run's last evaluation (boolean array), or None if not recorded."""
    evaluation = metrics.get("final_evaluation")
    if not evaluation:
        return None
    return unpack_bits(evaluation["correct"], evaluation["images"])


SETUP = ("dataset", "architecture", "recipe")  # a row's setup columns
# The columns of the tables that can be empty (one activation, or every run diverged): their headers stay.
COMPARISON_COLUMNS = (*SETUP, "activation_a", "activation_b", "seeds", "evidence", "decision", "difference", "ci_low",
                      "ci_high", "p_value", "method", "margin", "equivalence_low", "equivalence_high", "p_equivalent",
                      "paired_std", "looks", "pairs", "seeds_to_decide", "seeds_for_equivalence", "only_a", "only_b",
                      "distinguishable")
PER_CLASS_COLUMNS = (*SETUP, "activation", "class", "images", "seeds", "accuracy_mean", "accuracy_per_seed")
CONFUSION_COLUMNS = (*SETUP, "activation", "seeds", "true_class", "predicted_class", "images_mean")


def setup_of(row):
    return tuple(row[k] for k in SETUP)


def accuracy_rows(runs, setups, activations):
    """One row per (setup, activation): test accuracy over the finite seeds with its 95% interval
    (Wilson for one seed, t over several), every seed's value, and the diverged seeds."""
    rows = []
    for setup, activation in itertools.product(setups, activations):
        all_seeds = seeds_of(runs, setup, activation, finite=False)
        if not all_seeds:
            continue
        seeds = seeds_of(runs, setup, activation)
        metrics = {s: runs[(*setup, activation, s)]["metrics"] for s in all_seeds}
        correct = final_correct(metrics[seeds[0]]) if len(seeds) == 1 else None
        one = metrics[seeds[0]] if seeds else metrics[all_seeds[0]]
        estimate = uncertainty.accuracy_estimate(
            [metrics[s]["test_accuracy"] for s in seeds],
            int(correct.sum()) if correct is not None else round(one["test_accuracy"] * one["test_size"])
            if seeds else None, one["test_size"])
        rows.append({**dict(zip(SETUP, setup)), "activation": activation, "seeds": seeds,
                     "test_accuracy_mean": estimate["mean"], "test_accuracy_std": estimate["std"],
                     "ci_low": estimate["ci_low"], "ci_high": estimate["ci_high"], "interval": estimate["method"],
                     "all_seeds": all_seeds,
                     "test_accuracy_per_seed": [metrics[s]["test_accuracy"] for s in all_seeds],
                     "diverged": "; ".join(f"seed {s} at step {m['diverged_at_step']}" for s, m in metrics.items()
                                           if m.get("diverged_at_step") is not None),
                     "steps": max(m["final_step"] for m in metrics.values()), "test_images": one["test_size"]})
    return rows


def _ranked(accuracy, setup):
    return sorted((r for r in accuracy if setup_of(r) == setup and r["seeds"]), key=lambda r: -r["test_accuracy_mean"])


@dataclass(frozen=True)
class Design:
    """How pairs of activations are decided: ``margin`` of equivalence (a fraction), and the looks of a "seeds until
    decided" study: ``first`` seeds grown to ``max_seeds`` (0: one look at the seeds there are)."""

    margin: float = 0.01
    first: int = 0
    max_seeds: int = 0

    def looks(self, seeds):
        """(look sizes, max_seeds) of a pair compared over ``seeds`` common seeds: the planned looks when it reached
        the first, else one look at what there is."""
        if self.max_seeds > self.first >= 2 and seeds >= self.first:
            return look_sizes(self.first, self.max_seeds), self.max_seeds
        return [seeds], seeds


DECIDED = ("ahead", "behind", "equivalent")  # a pair's decisions over seeds that end a "seeds until decided" study
NETWORKS = "networks"  # one seed: the evidence is about these two trained networks, on the test images
ACTIVATIONS = "activations"  # two or more seeds, paired: the evidence is about the activations


def comparison_rows(runs, accuracy, setup, design=Design()):
    """Every two activations of a setup with finite runs, the better mean first. Two or more common seeds: the
    activations, decided (ahead, equivalent within the margin, undecided) by ``actviz.sequential`` over the looks
    the seeds reach, paired by seed, Holm across the setup's pairs. One common seed: these two trained networks on
    the test images (exact McNemar), which says nothing of the activations."""
    rows, paired = [], {}
    for better, worse in itertools.combinations(_ranked(accuracy, setup), 2):
        a, b = better["activation"], worse["activation"]
        common = sorted(set(better["seeds"]) & set(worse["seeds"]))
        row = {**dict(zip(SETUP, setup)), "activation_a": a, "activation_b": b, "seeds": common}
        metrics = {(act, s): runs[(*setup, act, s)]["metrics"] for act in (a, b) for s in common}
        if len(common) >= 2:
            row["evidence"] = ACTIVATIONS
            # pairs over as many seeds are decided together, Holm across them
            paired.setdefault(len(common), []).append(
                (row, [metrics[a, s]["test_accuracy"] - metrics[b, s]["test_accuracy"] for s in common]))
        elif common and final_correct(metrics[a, common[0]]) is not None \
                and final_correct(metrics[b, common[0]]) is not None:
            row.update(uncertainty.mcnemar_difference(final_correct(metrics[a, common[0]]),
                                                      final_correct(metrics[b, common[0]])), evidence=NETWORKS)
            row["decision"] = "networks differ" if uncertainty.distinguishable(row) else "networks within noise"
        else:
            row["method"] = "not compared: " + ("no seed where both finished" if not common
                                                else "per-image results not recorded")
        rows.append(row)
    for group in paired.values():
        _decide(group, design)
    for row in rows:
        row["distinguishable"] = row.get("decision") in ("ahead", "behind", "networks differ")
    return rows


def _decide(group, design):
    """Decide a group of pairs that share their looks, in place (Holm across them)."""
    sizes, max_seeds = design.looks(len(group[0][0]["seeds"]))
    decided, _ = sequential.decide_over_looks({i: d for i, (_, d) in enumerate(group)}, design.margin, sizes,
                                              max_seeds)
    for i, (row, _) in enumerate(group):
        result = decided[i]
        looks = f", look {result['look'] + 1} of {len(sizes)}" if len(sizes) > 1 else ""
        row.update({key: result[key] for key in ("difference", "ci_low", "ci_high", "equivalence_low",
                                                 "equivalence_high", "p_equivalent", "paired_std", "decision")},
                   p_value=result["p_differ"], looks=len(sizes), margin=design.margin, pairs=len(group),
                   method=f"paired t over {result['seeds']} seeds{looks}")
        if result["decision"] == "undecided":
            row["seeds_to_decide"] = sequential.seeds_for_power(result["difference"], result["paired_std"])
            row["seeds_for_equivalence"] = sequential.seeds_for_equivalence(result["difference"],
                                                                            result["paired_std"], design.margin)


def verdict(accuracy, comparisons, setup):
    """The top activation of a setup and what the data supports of it: a ``winner`` only when it is decided ahead
    of every other activation over seeds (never from one seed, whose comparisons are of trained networks)."""
    ranked = _ranked(accuracy, setup)
    if not ranked:
        return None
    top = ranked[0]
    against = [c for c in comparisons if setup_of(c) == setup and c["activation_a"] == top["activation"]]
    ahead = against and all(c.get("decision") == "ahead" for c in against)
    mine = [c for c in comparisons if setup_of(c) == setup]
    return {"top": top, "winner": top if ahead else None, "ranked": ranked, "pairs": mine,
            "tied": [c for c in against if not c["distinguishable"]],
            "below": [c for c in against if c["distinguishable"]],
            # every compared pair rests on one seed (pairs not compared at all say so in their own words)
            "one_seed": {c.get("evidence") for c in mine} - {None} == {NETWORKS}}


def _points(value):
    """A difference in percentage points, signed, with a true minus sign."""
    return f"{100 * value:+.1f}".replace("-", "−")


def _comparison_words(c):
    if "ci_low" not in c:
        return f"{c['activation_a']} vs {c['activation_b']}: {c['method']}"
    return (f"{c['activation_a']} − {c['activation_b']} = {_points(c['difference'])} points "
            f"(95% CI {_points(c['ci_low'])} to {_points(c['ci_high'])}, {_test_words(c)})")


def _test_words(c):
    """A difference's test and p-value (``uncertainty``'s methods), e.g. "McNemar p = 0.041"."""
    name = "McNemar" if c["method"].startswith("exact McNemar") else "paired t"
    return f"{name} p = {c['p_value']:.2g}"


def _seed_words(rows):
    seeds = sorted({len(r["seeds"]) for r in rows})
    return f"{'–'.join(map(str, seeds))} seed{'s' if seeds[-1] != 1 else ''}"


def _length_words(rows):
    return f"{rows[0]['steps']:,} steps, {rows[0]['test_images']:,} test images"


def _budget(rows):
    return f"{_seed_words(rows)}, {_length_words(rows)}"


def decision_words(c):
    """A pair's decision in a few words for the verdict table, e.g. "ahead", "equivalent within 1 point",
    "undecided: ~12 seeds would decide it"."""
    decision = c.get("decision")
    if decision in ("ahead", "behind"):
        return decision
    if decision == "equivalent":
        return f"equivalent within {100 * c['margin']:g} point{'s' if c['margin'] != 0.01 else ''}"
    if decision == "undecided":
        would = [f"~{c['seeds_to_decide']} seeds would show the difference" if c.get("seeds_to_decide") else None,
                 f"~{c['seeds_for_equivalence']} would show equivalence" if c.get("seeds_for_equivalence") else None]
        would = [w for w in would if w]
        holm = (f" (its interval excludes 0, but not after Holm's correction for {c['pairs']} pairs)"
                if c.get("pairs", 1) > 1 and (c["ci_low"] > 0 or c["ci_high"] < 0) else "")
        return "undecided" + holm + (f": {' or '.join(would)} (80% power)" if would else "")
    return decision or c["method"]  # one seed: "networks differ" / "networks within noise"


def accuracy_sentence(verdict, name):
    """What the accuracy data of one setup (called ``name``) supports, in plain words with the numbers, naming
    the unit of its evidence: the activations (paired over seeds) or these trained networks (one seed)."""
    top, ranked = verdict["top"], verdict["ranked"]
    if len(ranked) == 1:
        return f"{name}: {top['activation']} is the only activation with a finished run; nothing to compare."
    if verdict["one_seed"]:
        against = [c for c in verdict["pairs"] if c["activation_a"] == top["activation"] and "ci_low" in c]
        differ = [c for c in verdict["pairs"] if c.get("decision") == "networks differ"]
        found = (f"{len(differ)} of {len(verdict['pairs'])} pairs differ on the test images beyond noise"
                 if differ else "no two differ on the test images beyond noise")
        closest = f", over the runner-up {_comparison_words(against[0])}" if against else ""
        return (f"{name}: one seed ({_length_words(ranked)}) measures these trained networks, not the "
                f"activations: {top['activation']}'s network scored highest, {top['test_accuracy_mean']:.4f}{closest}; "
                f"{found}. Whether an activation is ahead needs two or more seeds (seeds, or max_seeds to train "
                f"until decided).")
    if verdict["winner"] is not None:
        closest = min(verdict["below"], key=lambda c: c["difference"])
        return (f"{name}: {top['activation']} is ahead of every other activation, paired over seeds "
                f"({_budget(ranked)}; 5% error over the looks, Holm across pairs): of the runner-up by "
                f"{_comparison_words(closest)}.")
    parts = [f"{c['activation_a']} vs {c['activation_b']}: {decision_words(c)}" for c in verdict["pairs"]]
    return f"{name}, paired over seeds ({_budget(ranked)}): " + "; ".join(parts) + "."


def looks_words(decision):
    """Where a "seeds until decided" study stopped (``decision``: its last look's decision file), e.g. "look 2 of
    3, every pair decided"."""
    stopped_at = decision["decided_at_look"]
    if stopped_at is not None:
        return f"stopped at look {stopped_at + 1} of {decision['looks']}: every pair decided"
    return f"all {decision['looks']} looks, up to max_seeds={decision['max_seeds']}: not every pair decided"


def verdict_table(verdict, name, setting, decision=None):
    """The first screen's row block for one setup: activations best first, each pair's decision, the seeds (and,
    with looks, where the study stopped: ``decision``), the setting they were compared at."""
    seeds = _seed_words(verdict["ranked"])
    return {"setup": name, "order": [r["activation"] for r in verdict["ranked"]],
            "accuracy": [r["test_accuracy_mean"] for r in verdict["ranked"]],
            "seeds": f"{seeds} ({looks_words(decision)})" if decision else seeds, "setting": setting,
            "unit": "these trained networks, not the activations" if verdict["one_seed"] else
            "the activations (paired over seeds)",
            "pairs": [{"pair": f"{c['activation_a']} − {c['activation_b']}",
                       "difference": (f"{_points(c['difference'])} ({_points(c['ci_low'])} to {_points(c['ci_high'])})"
                                      if "ci_low" in c else "–"),
                       "decision": decision_words(c), "decided": c.get("decision") in DECIDED}
                      for c in verdict["pairs"]]}


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


def _diverged_words(missing):
    return ", ".join(f"{activation} ({how})" for activation, how in missing.items())


def selection_sentence(name, rows, validation_images):
    """What a sweep chose for one setup (``rows``: its ``sweep_tables.sweep_rows`` selected rows): each activation's
    setting, on how many validation images, and whether its best trial is distinguishable from the runner-up."""
    keys = [k for k in rows[0] if k not in SELECTED_FIXED]
    chosen = "; ".join(f"{r['activation']} " + (", ".join(f"{k}={r[k]}" for k in keys) + _margin_words(r)
                                                 if r["trial"] else "none (every trial diverged)") for r in rows)
    images = " or ".join(f"{n:,}" for n in validation_images) or "the"
    rungs = rows[0].get("rungs") or []
    how = (f" by successive halving ({', '.join(map(str, rungs))} steps: the better half of each rung's trials "
           f"went on to the next)" if len(rungs) > 1 else "")
    return (f"{name}: each activation at its own selected setting, chosen on {images} validation images (held out "
            f"of the train split; never the test split) among {rows[0]['trials']} trials{how}: {chosen}.")


def _margin_words(row):
    """Whether a selected trial is ahead of the runner-up beyond noise, in words (``sweep_tables.margin_row``)."""
    if row.get("ci_low") is None:
        return ""
    noise = "beyond noise" if uncertainty.distinguishable(row) else "within noise: either would do"
    return (f" ({_points(row['difference'])} points over {row['runner_up']} on the validation split at step "
            f"{row['compared_at_step']:,}, 95% CI {_points(row['ci_low'])} to {_points(row['ci_high'])}, "
            f"{_test_words(row)}; {noise})")


def shared_setting_sentence(name, settings):
    """Setups compared without a sweep (``name``: their labels): every activation at the config's one setting
    (``settings``: a run's)."""
    return (f"{name}: every activation at one shared setting ({_setting_text(settings)}), not each at its own best; a "
            f"setting that suits one activation more than another decides the comparison as much as the activation "
            f"does (a sweep selects each one's own on the validation split: configs/tune.yaml).")


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


SELECTED_FIXED = ("dataset", "architecture", "recipe", "activation", "trial", "validation_accuracy", "trials", "seeds",
                  "rungs", "runner_up", "compared_at_step", "difference", "ci_low", "ci_high",
                  "p_value", "method")


def verdict_sentences(dataset, verdicts, missing, selected=(), validation_images=(), shared=None):
    """What the accuracies of one dataset support, one sentence per setup, and which activations diverged in
    every seed; with a sweep, what each setup's activations were selected at, without one the setting they
    share. ``verdicts``: {setup label: ``verdict``, None without a finished run}; ``missing``: {setup label:
    ``numbers.without_finite_run``}; ``selected``: the dataset's ``sweep_tables.sweep_rows`` selected rows;
    ``shared``: {setup label: a run's settings} of the setups without a sweep."""
    sentences = []
    if verdicts and all(v is None for v in verdicts.values()):
        sentences.append(f"Every run on {dataset} diverged (loss NaN or infinite): no test accuracy to compare. "
                         f"A smaller learning_rate usually avoids it.")
    for name, v in verdicts.items():
        gone = missing.get(name) or {}
        if v is None:
            sentences.append(f"{name}: every run diverged, {_diverged_words(gone)}: nothing to compare.")
            continue
        sentences.append(accuracy_sentence(v, name))
        rows = [r for r in selected if f"{r['architecture']}/{r['recipe']}" == name]
        if rows:
            sentences.append(selection_sentence(name, rows, validation_images))
        if gone:
            sentences.append(f"{name}: {_diverged_words(gone)} diverged in every seed; "
                             f"{'it is' if len(gone) == 1 else 'they are'} not compared.")
    groups = {}  # the setups without a sweep, by the setting they share: one sentence a setting
    for name, settings in (shared or {}).items():
        if "learning_rate" in (settings or {}) and not any(f"{r['architecture']}/{r['recipe']}" == name
                                                           for r in selected):
            key = (settings.get("optimizer", "adam"), settings["learning_rate"], settings["steps"])
            groups.setdefault(key, (settings, []))[1].append(name)
    sentences += [shared_setting_sentence(", ".join(names), settings) for settings, names in groups.values()]
    return sentences


def summary_sentences(dataset, verdicts, depth, left, missing=None, selected=(), validation_images=(), shared=None):
    """Plain sentences stating what the numbers of one dataset support, and no more: ``verdict_sentences``,
    then what the seeds, the diverged runs and the layers say. ``depth``: {architecture: (layers, {setup label:
    depth profiles})}; ``left``: ``numbers.left_out``."""
    sentences = verdict_sentences(dataset, verdicts, missing or {}, selected, validation_images, shared)
    if left:
        sentences.append(f"Diverged (loss NaN or infinite), and left out of every mean: {', '.join(left)}.")
    return sentences + layer_sentences(depth)


def layer_sentences(depth):
    """What the layers say: where they sit against SELU's fixed point, and where the moment map parts from them
    (``depth`` as ``summary_sentences`` takes it)."""
    sentences = []
    for layers, profiles in depth.values():
        sentences += fixed_point_sentences(profiles, layers)
    for layers, profiles in depth.values():
        sentences += moment_map_sentences(profiles, layers)
    return sentences


def setting_words(settings, selected):
    """The setting a setup's activations were compared at, in a few words: each one's own selected setting, or the
    one they share (``settings``: a run's)."""
    if selected:
        return "each at its own setting, selected on the validation split"
    settings = settings or {}
    if "learning_rate" not in settings:
        return "one shared setting"
    return f"one shared setting: {_setting_text(settings)}"


def _setting_text(settings):
    """A run's training setting in a few words, e.g. "adam, learning_rate=0.001, 800 steps"."""
    optimizer = settings.get("optimizer", "adam")
    return f"{optimizer}, learning_rate={settings['learning_rate']}, {settings['steps']:,} steps"


def _evaluated_seeds(runs, setup, activation):
    return [s for s in seeds_of(runs, setup, activation) if runs[(*setup, activation, s)]["metrics"].get(
        "final_evaluation")]


def per_class_rows(runs, setup, activations, classes):
    """Each class's test accuracy per activation, mean over the finite seeds that recorded their final
    evaluation, and every seed's value."""
    rows = []
    for activation in activations:
        seeds = _evaluated_seeds(runs, setup, activation)
        if not seeds:
            continue
        confusions = [np.array(runs[(*setup, activation, s)]["metrics"]["final_evaluation"]["confusion"])
                      for s in seeds]
        per_seed = [np.diag(c) / np.maximum(c.sum(axis=1), 1) for c in confusions]
        for index, name in enumerate(classes):
            rows.append({**dict(zip(SETUP, setup)), "activation": activation, "class": name,
                         "images": int(confusions[0][index].sum()), "seeds": seeds,
                         "accuracy_mean": float(np.mean([p[index] for p in per_seed])),
                         "accuracy_per_seed": [float(p[index]) for p in per_seed]})
    return rows


def confusion_rows(runs, setup, activations, classes):
    """The confusion matrix of each activation's final evaluation (true x predicted, images), mean over
    its finite seeds, as tidy rows."""
    rows = []
    for activation in activations:
        seeds = _evaluated_seeds(runs, setup, activation)
        if not seeds:
            continue
        mean = np.mean([runs[(*setup, activation, s)]["metrics"]["final_evaluation"]["confusion"] for s in seeds],
                       axis=0)
        rows += [{**dict(zip(SETUP, setup)), "activation": activation, "seeds": seeds,
                  "true_class": classes[t], "predicted_class": classes[p], "images_mean": float(mean[t, p])}
                 for t in range(len(classes)) for p in range(len(classes))]
    return rows
