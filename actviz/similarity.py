"""Do two networks' layers represent the input alike? Linear centered kernel alignment (CKA; Kornblith, Norouzi,
Lee & Hinton 2019, "Similarity of neural network representations revisited") between the activations of two runs
on the same images, with the debiased HSIC estimator (Song, Smola, Gretton, Bedo & Borgwardt 2012, JMLR 13:1393)
that Nguyen, Raghu & Kornblith (2021) use. Pure numpy/scipy.

A layer's activations [image, ...features] become the images' Gram matrix K = X X^T (image x image), so a conv
layer's thousands of features cost one matrix product. The debiased HSIC is the inner product of U-centred Gram
matrices (Szekely & Rizzo 2014, "Partial distance correlation", Ann. Statist. 42:2382): ``representation`` keeps
each as a unit vector, and the CKA of two layers is then one dot product.

Why debiased: the plain (biased) estimator reads high even for independent random features when the features
outnumber the images (Murphy, Zylberberg & Fyshe 2024); the debiased one reads ~0 there. Other pitfalls stay: a
few outlying images or one dominant direction can move CKA (Davari et al. 2023), and measures of similarity
disagree with one another (Ding, Denain & Steinhardt 2021); ``dominance`` flags the first.
"""

import numpy as np

DOMINANT = 0.5  # a layer whose first principal direction holds more of the variance: CKA reads that direction


def gram(activations):
    """The images' linear Gram matrix X X^T (float64) of a layer's activations [image, ...features]; float32
    activations are multiplied in float32 (4x faster on a conv layer's 6,272 features; a relative error of ~1e-6,
    far below the 3 digits CKA is read to)."""
    x = np.asarray(activations)
    x = x.reshape(len(x), -1).astype(np.float32 if x.dtype == np.float32 else np.float64, copy=False)
    return (x @ x.T).astype(np.float64)


def u_centre(k):
    """The U-centred Gram matrix (Szekely & Rizzo 2014): zero diagonal, rows and columns centred so that the
    inner product of two of them over n (n - 3) is the unbiased HSIC of Song et al. (2012). Needs 4+ images."""
    k = np.array(k, dtype=np.float64)
    n = len(k)
    if n < 4:
        raise ValueError("the debiased CKA needs four or more images")
    np.fill_diagonal(k, 0.0)
    rows = k.sum(axis=0)
    centred = k - rows[:, None] / (n - 2) - rows[None, :] / (n - 2) + rows.sum() / ((n - 1) * (n - 2))
    np.fill_diagonal(centred, 0.0)
    return centred


def hsic(k, other, debiased=True):
    """HSIC of two Gram matrices: the unbiased estimator (Song et al. 2012) or the plain one, tr(K H L H) / (n-1)^2."""
    n = len(k)
    if debiased:
        return float(np.sum(u_centre(k) * u_centre(other)) / (n * (n - 3)))
    h = np.eye(n) - 1.0 / n
    return float(np.sum((h @ k @ h) * (h @ other @ h)) / (n - 1) ** 2)


def cka(k, other, debiased=True):
    """Linear CKA of two layers from their Gram matrices over the same images: HSIC(K, L) / sqrt(HSIC(K, K)
    HSIC(L, L)); 1 for the same representation up to rotation and scale, ~0 (debiased) for unrelated ones. NaN when
    either layer carries no variance (every image alike)."""
    cross, first, second = hsic(k, other, debiased), hsic(k, k, debiased), hsic(other, other, debiased)
    if first <= 0 or second <= 0:
        return float("nan")
    return cross / np.sqrt(first * second)


def representation(activations):
    """A layer's activations as the unit vector of its U-centred Gram matrix (float32), so that the debiased CKA
    of two layers is ``np.dot`` of theirs; None when the layer carries no variance, or is not finite."""
    if not np.isfinite(activations).all():
        return None
    k = gram(activations)
    if not np.isfinite(k).all():  # finite values whose products overflow
        return None
    centred = u_centre(k).ravel()
    norm = np.linalg.norm(centred)
    return None if norm == 0 else (centred / norm).astype(np.float32)


def representation_and_dominance(activations, iterations=50):
    """(``representation``, ``dominance``) of a layer's activations from one Gram matrix: the centred Gram's first
    eigenvalue over its trace is the first principal direction's share of the variance."""
    if not np.isfinite(activations).all():
        return None, 0.0
    k = gram(activations)
    if not np.isfinite(k).all():
        return None, 0.0
    centred = u_centre(k).ravel()
    norm = np.linalg.norm(centred)
    h = k - k.mean(axis=0) - k.mean(axis=1)[:, None] + k.mean()  # H K H: the Gram of the centred activations
    return (None if norm == 0 else (centred / norm).astype(np.float32)), _top_share(h, iterations)


def _top_share(k, iterations):
    """The largest eigenvalue of a positive semi-definite ``k`` over its trace (power iteration), 0 if it is 0."""
    total = np.trace(k)
    if not np.isfinite(total) or total <= 0:
        return 0.0
    v = np.random.default_rng(0).normal(size=len(k))
    for _ in range(iterations):
        v = k @ v
        v /= np.linalg.norm(v)
    return float(v @ k @ v / total)


def cka_of(first, second):
    """The debiased CKA of two ``representation`` vectors (NaN if either is None)."""
    if first is None or second is None:
        return float("nan")
    return float(np.dot(first.astype(np.float64), second.astype(np.float64)))


def dominance(activations, iterations=200):
    """The share of a layer's variance (over the images, centred) along its first principal direction, by power
    iteration on the centred Gram matrix; 0 for a layer with no variance."""
    x = np.asarray(activations, dtype=np.float64).reshape(len(activations), -1)
    if not np.isfinite(x).all():
        return 0.0
    x = x - x.mean(axis=0)
    return _top_share(x @ x.T, iterations)


def permutation_test(matrix, first, permutations=9999, seed=0):
    """Do two activations' runs represent a layer differently beyond what seeds of one activation differ by?
    ``matrix`` [layer, run, run]: the CKA between every two of the pooled runs; ``first``: how many of the runs
    (the first ones) are the first activation's. The statistic of a layer is the mean CKA of two runs of one
    activation less that of two runs of different activations; runs (not pairs) are permuted between the two
    activations: every split when there are at most ``permutations`` + 1 of them (exact), else random ones. The
    layers are corrected together by the single-step minP of Westfall & Young (1993): a layer's adjusted p-value is
    the share of splits whose smallest p over the layers is at or below its own. Returns (statistics [layer],
    adjusted p [layer]); NaN for a layer whose CKA is not finite."""
    import itertools
    import math

    matrix = np.asarray(matrix, dtype=np.float64)
    runs = matrix.shape[1]
    if math.comb(runs, first) <= permutations + 1:  # every split, the observed one (the first runs) first
        chosen = np.array(list(itertools.combinations(range(runs), first)), dtype=int).reshape(-1, first)
        z = np.zeros((len(chosen), runs))
        z[np.arange(len(chosen))[:, None], chosen] = 1.0
    else:
        rng = np.random.default_rng(seed)
        observed = (np.arange(runs) < first).astype(np.float64)
        z = np.array([observed] + [rng.permutation(observed) for _ in range(permutations)])
    statistics = np.stack([_statistic(layer, z) for layer in matrix], axis=1)  # [split, layer]
    observed, finite = statistics[0], np.isfinite(statistics[0])
    # every split's p-value at every layer: the share of splits whose statistic is at least as large
    p = np.ones_like(statistics)
    for j in np.flatnonzero(finite):
        ascending = np.sort(statistics[:, j])
        p[:, j] = (len(z) - np.searchsorted(ascending, statistics[:, j], side="left")) / len(z)
    smallest = p[:, finite].min(axis=1) if finite.any() else np.ones(len(z))
    adjusted = np.array([(smallest <= p[0, j]).mean() if finite[j] else np.nan for j in range(len(finite))])
    return observed, adjusted


def _statistic(layer, z):
    """Per split (rows of ``z``): mean CKA within the two groups less the mean across them, of one layer's
    [run, run] CKA matrix (its diagonal, a run with itself, left out)."""
    m = np.where(np.eye(len(layer), dtype=bool), 0.0, np.nan_to_num(layer))
    other = 1 - z
    size_a, size_b = z.sum(axis=1), other.sum(axis=1)
    within_a = np.einsum("sr,rt,st->s", z, m, z) / (size_a * (size_a - 1))
    within_b = np.einsum("sr,rt,st->s", other, m, other) / (size_b * (size_b - 1))
    across = np.einsum("sr,rt,st->s", z, m, other) / (size_a * size_b)
    value = (within_a + within_b) / 2 - across
    return value if np.isfinite(layer).all() else np.full(len(z), np.nan)
