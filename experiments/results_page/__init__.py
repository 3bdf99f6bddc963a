"""The generator of ``docs/results.md`` and of the README's headline results, both read
from the JSON files that the experiments and benchmarks write; the command is
``python experiments/summarise.py``.

- ``formatting``: numbers and tables as Markdown;
- ``records``: reading the result files;
- ``agents``, ``search_agents``, ``planners_models``, ``video``: the experiment sections;
- ``benchmarks``: the benchmark sections;
- ``registry``: which files each section renders, in page order;
- ``page``: the page assembled from the registry;
- ``headline``: the README's bullets, from the same records and functions as the page.
"""
