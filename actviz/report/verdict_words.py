"""What the accuracies support, in words: a pair's decision, each setup's sentence and verdict table (the first
screen), what a sweep selected, and the setting the activations were compared at. The numbers behind them:
``accuracy_tables``. Plain data in, sentences out."""

from actviz.report import uncertainty
from actviz.report.accuracy_tables import DECIDED
from actviz.report.axes import AXES
from actviz.report.layer_words import layer_sentences

# a pair's decisions that one is better on an axis: "ahead"/"behind" (test accuracy), "lower"/"higher" (churn, ECE)
DIRECTIONS = ("ahead", "behind", *{word for axis in AXES.values() for word in axis.words})


def _points(value):
    """A difference in percentage points, signed, with a true minus sign."""
    return f"{100 * value:+.1f}".replace("-", "−")


def _comparison_words(c):
    if "ci_low" not in c:
        return f"{c['activation_a']} vs {c['activation_b']}: {c['method']}"
    return (f"{c['activation_a']} − {c['activation_b']} = {_points(c['difference'])} points "
            f"(95% CI {_points(c['ci_low'])} to {_points(c['ci_high'])}, {_test_words(c)})")


def _test_words(c):
    """A difference's test and p-value, e.g. "McNemar p = 0.041"; over seeds the look's repeated p-value (valid at
    any look, before the step-down across pairs), e.g. "repeated p = 0.011, unadjusted"."""
    if c["method"].startswith("exact McNemar"):
        return f"McNemar p = {c['p_value']:.2g}"
    if "looks" in c:  # decided by actviz.sequential
        return f"repeated p = {c['p_value']:.2g}, unadjusted"
    return f"paired t p = {c['p_value']:.2g}"


def _seed_words(rows):
    seeds = sorted({len(r["seeds"]) for r in rows})
    return f"{'–'.join(map(str, seeds))} seed{'s' if seeds[-1] != 1 else ''}"


def _length_words(rows):
    return f"{rows[0]['steps']:,} steps, {rows[0]['test_images']:,} test images"


def _budget(rows):
    return f"{_seed_words(rows)}, {_length_words(rows)}"


def _margin_points(margin):
    return f"{100 * margin:g} point{'s' if margin != 0.01 else ''}"


def _decided_when(c):
    """At which look and over how many seeds a pair was decided, when there were looks, e.g. " (look 2 of 3, 5
    seeds)"."""
    if c.get("looks", 1) < 2 or not c.get("decided_at_look"):
        return ""
    return f" (look {c['decided_at_look']} of {c['looks']}, {len(c['seeds'])} seeds)"


def decision_words(c):
    """A pair's decision in a few words for the verdict table, e.g. "ahead", "ahead by less than the 1-point
    margin", "equivalent within 1 point (look 2 of 3, 5 seeds)", "undecided: ~12 seeds would decide it"."""
    decision = c.get("decision")
    if decision in DIRECTIONS:
        within = f" by less than the {100 * c['margin']:g}-point margin" if c.get("within_margin") else ""
        measure = AXES[c.get("axis", "accuracy")].measure
        return decision + (f" {measure}" if measure else "") + within + _decided_when(c)
    if decision == "equivalent":
        return f"equivalent within {_margin_points(c['margin'])}{_decided_when(c)}"
    if decision == "undecided" and "ci_low" not in c:
        return f"undecided: {c['method']}"
    if decision == "undecided" and c.get("zero_spread"):
        return ("undecided: every seed gave the same difference, so there is no spread to test it against; more "
                "seeds would")
    if decision == "undecided":
        # the nearer end first (a tie: the difference): when two activations are alike, "~12,982 seeds would show
        # the difference" read first hides that ~74 would show them equivalent
        ends = sorted(((n, end) for n, end in ((c.get("seeds_to_decide"), "the difference"),
                                               (c.get("seeds_for_equivalence"), "equivalence")) if n),
                      key=lambda e: e[0])
        would = [f"~{n:,} {'' if i else 'seeds '}would show {end}" for i, (n, end) in enumerate(ends)]
        holm = (f" (its interval excludes 0, but not after the step-down across {c['pairs']} pairs)"
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
                f"({_budget(ranked)}; 5% error over the looks and pairs): of the runner-up by "
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
    diverged = list(dict.fromkeys(f"{r['activation']} {part.split(' at ')[0]}" for r in verdict["ranked"]
                                  if r["diverged"] for part in r["diverged"].split("; ")))
    return {"setup": name, "diverged": ", ".join(diverged), "order": [r["activation"] for r in verdict["ranked"]],
            "accuracy": [r["test_accuracy_mean"] for r in verdict["ranked"]],
            "seeds": f"{seeds} ({looks_words(decision)})" if decision else seeds, "setting": setting,
            "unit": "these trained networks, not the activations" if verdict["one_seed"] else
            "the activations (paired over seeds)",
            # the other axes (churn, calibration) as columns beside each pair's accuracy: a pair a row
            "axes": [AXES[name].title for name in verdict.get("axes", {})],
            "pairs": [{"pair": f"{c['activation_a']} − {c['activation_b']}",
                       "difference": (f"{_points(c['difference'])} ({_points(c['ci_low'])} to {_points(c['ci_high'])})"
                                      if "ci_low" in c else "–"),
                       "decision": decision_words(c), "decided": c.get("decision") in DECIDED,
                       "others": [_short_words(next((o for o in rows if (o["activation_a"], o["activation_b"]) ==
                                                     (c["activation_a"], c["activation_b"])), {}))
                                  for rows in verdict.get("axes", {}).values()]}
                      for c in verdict["pairs"]]}


def _short_words(c):
    """A pair's decision on another axis in a word or three for the first screen, e.g. ("lower churn", True); its
    interval and what would decide it are in its section."""
    decision = c.get("decision")
    if decision in DIRECTIONS:
        return f"{decision} {AXES[c['axis']].measure}".strip(), True
    if decision == "equivalent":
        return f"equivalent within {_margin_points(c['margin'])}", True
    return ("undecided" if decision == "undecided" else "–"), False


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
