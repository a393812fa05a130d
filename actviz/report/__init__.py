"""The HTML report in three layers: the numbers (``numbers``: every value from the runs' files;
``accuracy_tables``: accuracy intervals, pairwise comparisons, verdicts, per-class results; ``verdict_words`` and
``layer_words``: the sentences; ``uncertainty``: the statistics behind them) in plain data with numpy and scipy.stats,
``figures`` (matplotlib, from those numbers) and ``render`` (the template, the exported tables)."""
