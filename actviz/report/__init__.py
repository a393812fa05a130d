"""The HTML report in three layers: the numbers (``numbers``: every value from the runs' files;
``evidence``: accuracy intervals, pairwise comparisons, verdicts, per-class results and the summary
sentences; ``uncertainty``: the statistics behind them) in plain data with numpy and scipy.stats,
``figures`` (matplotlib, from those numbers) and ``render`` (the template, the exported tables)."""
