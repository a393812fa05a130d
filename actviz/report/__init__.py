"""The HTML report in three layers: ``numbers`` (every value, from the runs' files; numpy only),
``figures`` (matplotlib, from those numbers) and ``render`` (the template, the exported tables)."""
