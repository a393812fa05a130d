"""Do the layers compute the same thing, in numbers: linear CKA (debiased, ``actviz.similarity``) between every two
runs of a setup at every recorded layer, on the extracted probe images (the same images for every run). Per layer,
the seed baseline (two seeds of one activation) beside the cross-activation CKA, each with an interval; per layer and
pair of activations a decision by a permutation test over runs; the layer x layer maps of two runs; and the
self-tests. Plain data in, plain data out (numpy; the activations read by ``workers``)."""

import itertools

import h5py
import numpy as np

from actviz import agreement, similarity
from actviz.report.numbers import seeds_of
from actviz.report.uncertainty import t_interval

SETUP = ("dataset", "architecture", "recipe")
# The first probe images CKA is computed on: a Gram matrix of 200 x 200 a run and layer, carried from the reading
# processes to the report's (300 made the 320-run benchmark 190 s against 129 s without CKA; 200: see benchmarks.md).
CKA_IMAGES = 200
DEAD = 0.5  # a layer where more of the units are dead in a run: CKA reads the few alive
ALPHA = 0.05
LAYER_COLUMNS = (*SETUP, "layer", "activation", "seeds", "seed_cka", "seed_cka_low", "seed_cka_high", "dominance",
                 "dead_fraction", "unreliable")
PAIR_COLUMNS = (*SETUP, "layer", "activation_a", "activation_b", "seeds_a", "seeds_b", "seed_cka_a", "seed_cka_b",
                "cross_cka", "cross_cka_low", "cross_cka_high", "difference", "p_value", "p_adjusted", "decision",
                "unreliable")


def layer_representation(values, images=CKA_IMAGES):
    """(CKA representation, dominance) of a layer's activations [image, ...] (``actviz.similarity``), on its first
    ``images`` images: read once with the histograms (``layer_tables.run_histograms``)."""
    return similarity.representation_and_dominance(values[:images])


def similarity_numbers(found, layers):
    """What the section needs of one setup's runs' representations ({(activation, seed): {layer: (representation,
    dominance)}}), so that the representations themselves (a Gram matrix a run and layer) can go: {"cka": {layer:
    ({run: index}, [run, run] CKA)}, "dominance": {run: {layer: share}}, "maps": {(run, run): [layer, layer] CKA}
    of every two seeds of one activation and of every two activations at their first seeds}."""
    size = max((len(v) for value in found.values() for v, _ in value.values() if v is not None), default=1)
    stacked = {key: _stack(value, layers, size) for key, value in found.items()}
    by_activation = {}
    for activation, seed in sorted(found):
        by_activation.setdefault(activation, []).append(seed)
    pairs = [((a, s), (a, t)) for a, seeds in by_activation.items() for s, t in itertools.combinations(seeds, 2)]
    pairs += [((a, by_activation[a][0]), (b, by_activation[b][0])) for a, b in itertools.permutations(by_activation, 2)]
    return {"cka": {layer: _cka_matrix(stacked, i) for i, layer in enumerate(layers)},
            "dominance": {key: {layer: value[layer][1] for layer in layers} for key, value in found.items()},
            "maps": {(x, y): (stacked[x] @ stacked[y].T).tolist() for x, y in pairs}}


def _stack(representations, layers, size):
    """[layer, vector] of one run's representations, NaN for a layer with none (``size``: every vector's length)."""
    return np.stack([representations[layer][0] if representations[layer][0] is not None
                     else np.full(size, np.nan, np.float32) for layer in layers])


def similarity_part(runs, setup, activations, layers, numbers):
    """Every number of "Do the layers compute the same thing?" for one setup from its runs' ``representations``:
    {"layers": per layer and activation its seed baseline, "pairs": per layer and pair of activations the
    cross-activation CKA and its decision, "maps": the two layer x layer maps, "self_tests"}; None with no pair of
    activations that both have two finished seeds... and no seeds to compare at all. ``numbers``:
    ``similarity_numbers`` of its runs."""
    found = numbers["dominance"]
    seeds = {a: [s for s in seeds_of(runs, setup, a) if (a, s) in found] for a in activations}
    compared = [a for a in activations if seeds[a]]
    if len(compared) < 2 and not any(len(seeds[a]) > 1 for a in compared):
        return None
    dead = {(a, layer): float(np.mean([runs[(*setup, a, s)]["stats"]["layers"][layer]["dead_fraction"]
                                       for s in seeds[a]])) for a in compared for layer in layers}
    dominance = {(a, layer): float(max(found[a, s][layer] for s in seeds[a])) for a in compared for layer in layers}
    unreliable = {key: dead[key] > DEAD or dominance[key] > similarity.DOMINANT for key in dead}
    cka = numbers["cka"]
    layer_rows = [_layer_row(setup, layer, a, seeds[a], cka[layer], dominance[a, layer], dead[a, layer],
                             unreliable[a, layer]) for layer in layers for a in compared]
    pairs = [(a, b) for a, b in itertools.combinations(compared, 2) if len(seeds[a]) > 1 and len(seeds[b]) > 1]
    pair_rows = []
    for a, b in pairs:
        pair_rows += _pair_rows(setup, layers, a, b, seeds, cka, unreliable)
    tested = [r for r in pair_rows if r["p_value"] is not None]
    for row in tested:  # Bonferroni across the pairs of activations (each pair's layers: minP, Westfall & Young)
        row["p_adjusted"] = min(1.0, row["p_value"] * len(pairs))
        row["decision"] = ("different beyond seed noise" if row["p_adjusted"] <= ALPHA else "within seed noise")
    maps = numbers["maps"]
    return {"layers": layer_rows, "pairs": pair_rows, "maps": _maps(maps, seeds, compared),
            "self_tests": _self_tests(maps, seeds, compared, layers, runs, setup)}


def _cka_matrix(stacked, layer):
    """({run: index}, [run, run] debiased CKA) of every two runs at the ``layer``-th layer: one product of their
    representations (NaN for a run whose layer has none)."""
    index = {key: i for i, key in enumerate(sorted(stacked))}
    vectors = np.stack([stacked[key][layer] for key in index]) if index else np.zeros((0, 1), np.float32)
    return index, vectors @ vectors.T


def _layer_row(setup, layer, activation, seeds, cka, dominance, dead, unreliable):
    within = {(s, t): _value(cka, (activation, s), (activation, t)) for s, t in itertools.combinations(seeds, 2)}
    mean, low, high = agreement.over_seed_pairs(within) if within else (float("nan"),) * 3
    return {**dict(zip(SETUP, setup)), "layer": layer, "activation": activation, "seeds": seeds, "seed_cka": mean,
            "seed_cka_low": low, "seed_cka_high": high, "dominance": dominance, "dead_fraction": dead,
            "unreliable": unreliable}


def _value(cka, x, y):
    index, matrix = cka
    return float(matrix[index[x], index[y]])


def _pair_rows(setup, layers, a, b, seeds, cka, unreliable):
    """One row per layer for two activations: their seed baselines, the cross CKA (mean over every run of a with
    every run of b, a t interval over a's runs' means), the permutation test over runs (minP across layers)."""
    runs = [(a, s) for s in seeds[a]] + [(b, s) for s in seeds[b]]
    matrix = np.array([[[1.0 if x == y else _value(cka[layer], x, y) for y in runs] for x in runs]
                       for layer in layers])
    statistics, adjusted = similarity.permutation_test(matrix, len(seeds[a]))
    rows = []
    for i, layer in enumerate(layers):
        within = [_finite_mean([_value(cka[layer], (act, s), (act, t))
                                for s, t in itertools.combinations(seeds[act], 2)]) for act in (a, b)]
        per_run = [np.mean([_value(cka[layer], (a, s), (b, t)) for t in seeds[b]]) for s in seeds[a]]
        cross, _, (low, high) = t_interval(per_run) if len(per_run) > 1 else (per_run[0], None, (np.nan, np.nan))
        flagged = unreliable[a, layer] or unreliable[b, layer]
        rows.append({**dict(zip(SETUP, setup)), "layer": layer, "activation_a": a, "activation_b": b,
                     "seeds_a": seeds[a], "seeds_b": seeds[b], "seed_cka_a": float(within[0]),
                     "seed_cka_b": float(within[1]), "cross_cka": float(cross), "cross_cka_low": low,
                     "cross_cka_high": high, "difference": float(statistics[i]),
                     "p_value": None if np.isnan(adjusted[i]) else float(adjusted[i]), "p_adjusted": None,
                     "decision": "not tested: CKA not finite" if np.isnan(adjusted[i]) else None,
                     "unreliable": flagged})
    return rows


def _finite_mean(values):
    finite = [v for v in values if np.isfinite(v)]
    return float(np.mean(finite)) if finite else float("nan")


def _maps(maps, seeds, compared):
    """Kornblith's figure: the layer x layer CKA of two seeds of one activation beside that of two activations at
    one seed (the first activation with two seeds, against the activation whose layers are least like its own)."""
    base = next((a for a in compared if len(seeds[a]) > 1), compared[0] if compared else None)
    others = [a for a in compared if a != base]

    def likeness(a):  # the mean CKA of each layer with its counterpart: the least alike is the most telling map
        diagonal = np.diag(np.array(maps[(base, seeds[base][0]), (a, seeds[a][0])], float))
        return float(np.nanmean(diagonal)) if np.isfinite(diagonal).any() else np.inf

    other = min(others, key=likeness) if others else None
    shown = {}
    if base is not None and len(seeds[base]) > 1:
        first, second = seeds[base][:2]
        shown["seeds"] = (f"{base} seed {first} · {base} seed {second}", maps[(base, first), (base, second)])
    if base is not None and other is not None:
        shown["activations"] = (f"{base} seed {seeds[base][0]} · {other} seed {seeds[other][0]}",
                                maps[(base, seeds[base][0]), (other, seeds[other][0])])
    return shown


def _self_tests(maps, seeds, compared, layers, runs, setup):
    """The self-tests as numbers: a layer with itself, with its images shuffled (debiased and plain), and the share
    of layers that find themselves as the most similar layer of another seed of the same activation."""
    activation = next((a for a in compared if len(seeds[a]) > 1), compared[0])
    seed, layer = seeds[activation][0], layers[len(layers) // 2]
    with h5py.File(runs[(*setup, activation, seed)]["activations"], "r") as f:
        values = f["activations"][layer][:CKA_IMAGES]
    if not np.isfinite(values).all():  # a run whose layer is not finite: no self-test to read off it
        values = np.zeros((4, 1))
    shuffled = values[np.random.default_rng(0).permutation(len(values))]
    k, shuffled_k = similarity.gram(values), similarity.gram(shuffled)
    found_same, total = 0, 0
    for a in compared:
        for s, t in itertools.combinations(seeds[a], 2):
            for i, row in enumerate(np.array(maps[(a, s), (a, t)], float)):
                if np.isfinite(row).any():
                    found_same += int(np.nanargmax(row) == i)
                    total += 1
    return {"run": f"{activation} seed {seed}", "layer": layer, "self": similarity.cka(k, k),
            "shuffled_debiased": similarity.cka(k, shuffled_k),
            "shuffled_biased": similarity.cka(k, shuffled_k, debiased=False),
            "identified": found_same, "identifications": total}
