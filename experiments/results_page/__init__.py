"""The generator of ``docs/results.md`` and of the README's headline results; the
command is ``python experiments/summarise.py``. The page is assembled from Markdown
that other code writes: the suites' tables, the study scripts' and benchmarks' own
Markdown beside their JSON, and the per-agent learning curves as score files.

- ``records``: where the result files live, reading them, their provenance;
- ``scores``: the committed per-agent records as score files;
- ``agents``: the per-agent sections, from those score files;
- ``suites``: the suites' tables;
- ``registry``: the page's sections in order, and the files each one shows;
- ``page``: the page assembled from the registry;
- ``headline``: the README's bullets.
"""
