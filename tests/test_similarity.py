"""Linear CKA, debiased (actviz.similarity): its self-tests (a layer with itself, shuffled images, orthogonal
transforms and isotropic scaling), the estimator against Song et al.'s formula, the pitfall it avoids, the dominance
flag, and the permutation test's error rate with no true difference."""

import numpy as np
import pytest

from actviz import similarity


def _features(rng, images=60, features=40):
    return rng.normal(size=(images, features))


def test_cka_of_a_layer_with_itself_is_one():
    x = _features(np.random.default_rng(0))
    k = similarity.gram(x)
    assert similarity.cka(k, k) == pytest.approx(1.0) and similarity.cka(k, k, debiased=False) == pytest.approx(1.0)
    r = similarity.representation(x)
    assert similarity.cka_of(r, r) == pytest.approx(1.0, abs=1e-6)


def test_the_unbiased_hsic_is_song_et_als_formula():
    rng = np.random.default_rng(1)
    k, m = similarity.gram(_features(rng, 12, 5)), similarity.gram(_features(rng, 12, 7))
    n = 12
    kt, mt = k - np.diag(np.diag(k)), m - np.diag(np.diag(m))
    ones = np.ones(n)
    expected = (np.trace(kt @ mt) + (ones @ kt @ ones) * (ones @ mt @ ones) / ((n - 1) * (n - 2))
                - 2 / (n - 2) * ones @ kt @ mt @ ones) / (n * (n - 3))
    assert similarity.hsic(k, m) == pytest.approx(expected, rel=1e-10)


@pytest.mark.parametrize("features", [50, 2000])
def test_shuffled_images_read_near_zero_debiased_while_the_biased_estimator_reads_high(features):
    rng = np.random.default_rng(2)
    x = rng.normal(size=(100, features)) + rng.normal(size=(1, features))  # an offset shared by every image
    y = x[rng.permutation(100)]  # the same layer, its images in another order: nothing in common image by image
    debiased = similarity.cka(similarity.gram(x), similarity.gram(y))
    biased = similarity.cka(similarity.gram(x), similarity.gram(y), debiased=False)
    assert abs(debiased) < 0.05
    if features > 100:  # features outnumber images (Murphy, Zylberberg & Fyshe 2024)
        assert biased > 0.9
    vectors = [similarity.representation(v) for v in (x, y)]
    assert similarity.cka_of(*vectors) == pytest.approx(debiased, abs=1e-5)


def test_cka_is_invariant_to_an_orthogonal_transform_and_isotropic_scaling_but_not_to_any_linear_map():
    rng = np.random.default_rng(3)
    x, y = _features(rng), _features(rng)
    y = 0.7 * x[:, :40] + y  # related to x
    q, _ = np.linalg.qr(rng.normal(size=(40, 40)))
    base = similarity.cka(similarity.gram(x), similarity.gram(y))
    assert 0.2 < base < 0.9
    assert similarity.cka(similarity.gram(x @ q), similarity.gram(y)) == pytest.approx(base, rel=1e-9)
    assert similarity.cka(similarity.gram(3.5 * x), similarity.gram(y)) == pytest.approx(base, rel=1e-9)
    stretched = x * np.linspace(0.1, 3, 40)  # not isotropic: CKA may change
    assert similarity.cka(similarity.gram(stretched), similarity.gram(y)) != pytest.approx(base, rel=1e-3)


def test_a_layer_with_no_variance_has_no_representation():
    assert similarity.representation(np.ones((10, 5))) is None
    assert np.isnan(similarity.cka_of(None, similarity.representation(_features(np.random.default_rng(4), 10))))
    assert similarity.representation(np.full((10, 5), np.nan)) is None


def test_dominance_is_the_first_principal_directions_share_of_the_variance():
    rng = np.random.default_rng(5)
    x = rng.normal(size=(200, 10)) * np.array([10.0] + [1.0] * 9)  # variance 100 along one axis, 1 along nine
    assert similarity.dominance(x) == pytest.approx(100 / 109, abs=0.03)
    assert similarity.dominance(rng.normal(size=(200, 10))) < 0.3
    assert similarity.dominance(np.ones((10, 3))) == 0.0


def _runs(rng, count, shared, own=1.0, images=40, features=30):
    """``count`` runs' layer activations: a shared representation seen through each run's own rotation, plus
    noise of its own (``own``)."""
    out = []
    for _ in range(count):
        q, _ = np.linalg.qr(rng.normal(size=(features, features)))
        out.append(shared @ q + own * rng.normal(size=(images, features)))
    return out


def _matrix(layers):
    """[layer, run, run] CKA from each layer's runs' activations."""
    vectors = [[similarity.representation(x) for x in runs] for runs in layers]
    return np.array([[[similarity.cka_of(a, b) for b in v] for a in v] for v in vectors])


def test_with_no_true_difference_the_permutation_test_rejects_any_layer_at_most_at_the_error_rate():
    rng, studies, rejected = np.random.default_rng(6), 300, 0
    for _ in range(studies):
        layers = []
        for _ in range(3):  # three layers, both activations' runs from one distribution
            shared = rng.normal(size=(40, 30))
            layers.append(_runs(rng, 8, shared))
        _, adjusted = similarity.permutation_test(_matrix(layers), 4)  # 4 seeds each: 70 splits, exact
        rejected += (adjusted <= 0.05).any()
    # exact under exchangeable runs: 5% at most (measured 2.3%: 35 distinct splits make it conservative); 300
    # studies, Monte-Carlo error 1.3 points
    assert rejected / studies <= 0.05 + 2 * np.sqrt(0.05 * 0.95 / studies)


def test_a_layer_that_represents_differently_is_found_and_the_others_are_not():
    rng = np.random.default_rng(7)
    same, different = rng.normal(size=(40, 30)), [rng.normal(size=(40, 30)) for _ in range(2)]
    layers = [_runs(rng, 5, same) + _runs(rng, 5, same),  # layer 0: one representation for both
              _runs(rng, 5, different[0]) + _runs(rng, 5, different[1])]  # layer 1: each activation its own
    statistics, adjusted = similarity.permutation_test(_matrix(layers), 5)
    # 5 seeds each: 252 splits, the observed one and its complement the most extreme, over 2 layers: 4 / 252
    assert adjusted[1] == pytest.approx(4 / 252) and adjusted[0] > 0.05 and statistics[1] > statistics[0]


def _found(rng, activations, seeds, layers, images=30, features=20):
    """{(activation, seed): {layer: (representation, dominance)}}: each layer its own representation, shared by
    every run (seen through each run's rotation, with noise of its own)."""
    shared = [rng.normal(size=(images, features)) for _ in layers]
    found = {}
    for a in activations:
        for s in seeds:
            runs = [_runs(rng, 1, base, own=0.5, images=images, features=features)[0] for base in shared]
            found[a, s] = {layer: (similarity.representation(x), similarity.dominance(x))
                           for layer, x in zip(layers, runs)}
    return found


def test_each_layer_finds_itself_in_another_seed_and_a_layer_with_dead_units_is_flagged_unreliable(tmp_path):
    import h5py

    from actviz.report import similarity_tables

    rng, layers = np.random.default_rng(8), ["conv1", "dense1", "logits"]
    found = _found(rng, ("relu", "selu"), range(3), layers)
    runs = {}
    for a in ("relu", "selu"):
        for s in range(3):
            path = tmp_path / f"{a}{s}.h5"
            with h5py.File(path, "w") as f:
                for layer in layers:
                    f.create_dataset(f"activations/{layer}", data=rng.normal(size=(30, 20)))
            dead = 0.8 if (a, "dense1") == ("selu", "dense1") else 0.0
            runs[("d", "cnn", "snn", a, s)] = {"metrics": {"diverged_at_step": None, "test_accuracy": 0.9},
                                                "activations": str(path),
                                                "stats": {"layers": {layer: {"dead_fraction": dead if layer == "dense1"
                                                                             else 0.0} for layer in layers}}}
    numbers = similarity_tables.similarity_numbers(found, layers)
    part = similarity_tables.similarity_part(runs, ("d", "cnn", "snn"), ["relu", "selu"], layers, numbers)
    tests = part["self_tests"]
    assert tests["identified"] == tests["identifications"] == 2 * 3 * len(layers)  # 3 seed pairs an activation
    assert tests["self"] == pytest.approx(1.0) and abs(tests["shuffled_debiased"]) < 0.1
    flagged = {(r["activation"], r["layer"]) for r in part["layers"] if r["unreliable"]}
    assert flagged == {("selu", "dense1")}
    assert [r["unreliable"] for r in part["pairs"]] == [False, True, False]
    seed_cka = {(r["activation"], r["layer"]): r["seed_cka"] for r in part["layers"]}
    assert all(0.5 < v <= 1 for v in seed_cka.values())


def test_the_representation_and_dominance_read_off_one_gram_matrix_are_each_alones():
    x = np.random.default_rng(9).normal(size=(50, 12)) * np.array([5.0] + [1.0] * 11)
    vector, share = similarity.representation_and_dominance(x)
    assert np.allclose(vector, similarity.representation(x))
    assert share == pytest.approx(similarity.dominance(x), rel=1e-6)
    assert similarity.representation_and_dominance(np.full((5, 3), np.inf)) == (None, 0.0)


def test_a_run_whose_every_layer_is_not_finite_leaves_its_cka_nan_and_the_others_theirs():
    from actviz.report import similarity_tables

    rng, layers = np.random.default_rng(10), ["conv1", "dense1"]
    found = _found(rng, ("relu",), range(2), layers)
    found["relu", 2] = {layer: similarity.representation_and_dominance(np.full((30, 20), np.nan)) for layer in layers}
    index, matrix = similarity_tables.similarity_numbers(found, layers)["cka"]["conv1"]
    assert np.isnan(matrix[index["relu", 2], index["relu", 0]])
    assert 0.5 < matrix[index["relu", 1], index["relu", 0]] <= 1.0 + 1e-6
