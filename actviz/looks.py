"""Which seeds each look of a "seeds until decided" study trains (``actviz.sequential`` decides after each).
Plain Python: the workflow plans with it while Snakemake parses."""

GROWTH = 1.6  # seeds grow by this factor a look: 3 -> 5 -> 8


def look_sizes(first, max_seeds):
    """The numbers of seeds at the planned looks: ``first``, then growing by ``GROWTH`` (at least one more),
    capped at ``max_seeds``; e.g. (3, 8) -> [3, 5, 8]."""
    sizes = [first]
    while sizes[-1] < max_seeds:
        sizes.append(min(max_seeds, max(sizes[-1] + 1, round(sizes[-1] * GROWTH))))
    return sizes


def looks_problem(seeds, max_seeds):
    """What is wrong with growing ``seeds`` (the config's list) to ``max_seeds`` in looks, or None (0: no looks)."""
    if max_seeds and max_seeds < len(seeds):
        return f"max_seeds: {max_seeds} is below the {len(seeds)} seeds given; 0 trains the seeds given"
    if max_seeds > len(seeds) and len(seeds) < 3:
        # two seeds give the same rounded difference too often to test a spread at the first look
        return (f"max_seeds: the looks compare seeds paired, so they start from three or more seeds; seeds has "
                f"{len(seeds)}")
    return None


def seed_design_problem(seed_design, seeds):
    """What is wrong with crossing ``seeds`` (the config's list) by ``seed_design``, or None."""
    if seed_design == "crossed" and len(seeds) < 2:
        return (f"seed_design: crossed trains each seed's weights with every other seed's batch order, so it needs "
                f"two or more seeds; seeds has {len(seeds)}")
    return None


def planned_looks(seeds, max_seeds, avoid=()):
    """The seeds of each look: ``seeds`` first, then the smallest integers neither among them nor in ``avoid`` (a
    sweep's seeds: a final run there would be a trial); one look without ``max_seeds``."""
    if max_seeds <= len(seeds):
        return [list(seeds)]
    taken = set(seeds) | set(avoid)
    extra = [s for s in range(max(taken) + 1 + max_seeds) if s not in taken][: max_seeds - len(seeds)]
    everything = list(seeds) + extra
    return [everything[:n] for n in look_sizes(len(seeds), max_seeds)]
