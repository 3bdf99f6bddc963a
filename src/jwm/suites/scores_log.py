"""A cell's score file, rewritten atomically after every evaluation of a `jwm.train`
run, so that a run killed at any moment leaves a whole file, and a resumed run ends
with the file an uninterrupted run writes (wall times apart)."""

from __future__ import annotations

import os
import time

import numpy as np

from jwm.scores.format import read_scores, score_row, write_scores

__all__ = ["ScoreLog"]


class ScoreLog:
    """``log(iteration, flat_metrics)`` for `jwm.train` that keeps ``path`` holding one
    row per seed and evaluation.

    The file holds the rows of iterations 1, 2, ... in order, ``seeds`` rows each
    (seed 0 first). Rows a killed session wrote past its last checkpoint are dropped
    when the resumed run logs their iteration again (it recomputes them, bit for
    bit). Wall time counts on from the last kept row, so it sums the sessions of a
    resumed run.

    Args:
      path: the score file.
      fields: the fields every row shares (agent, env, device, versions, hash, ...).
      seeds: the seeds of the run; a metric with a leading axis of more rows (padding
        runs of a sharded run) has its first ``seeds`` rows read.
    """

    def __init__(self, path: str, fields: dict, seeds: int):
        self.path, self.fields, self.seeds = path, fields, seeds
        self.rows = read_scores(path) if os.path.exists(path) else []
        for row in self.rows:
            if row["config_hash"] != fields["config_hash"]:
                raise ValueError(f"{path} holds scores of other settings (config hash "
                                 f"{row['config_hash']}, this cell's {fields['config_hash']}); "
                                 f"move it away or give another output folder")
        # Each row's iteration: a file holds iterations 1, 2, ... in order, seeds rows each.
        self._iterations = [j // seeds + 1 for j in range(len(self.rows))]
        self._start = time.perf_counter()
        self._offset = None

    def __call__(self, iteration: int, flat: dict) -> None:
        import jax

        steps = np.asarray(flat["env_steps"]).reshape(-1)[: self.seeds]
        returns = np.asarray(flat["eval_return"], np.float64).reshape(-1)[: self.seeds]
        if self.seeds == 1:
            steps, returns = steps[:1], returns[:1]
        # Rows are told apart by iteration, not env steps (seeds may differ in those).
        keep = [j for j, it in enumerate(self._iterations) if it < iteration]
        kept = [self.rows[j] for j in keep]
        if self._offset is None:  # the first iteration of this session
            walls = [r["wall_time_s"] for r in kept if r["wall_time_s"] is not None]
            self._offset = max(walls, default=0.0)
        wall = self._offset + time.perf_counter() - self._start
        self.rows = kept + [score_row(seed=s, env_steps=int(steps[s]), eval_return=returns[s],
                                      wall_time_s=wall, **self.fields)
                            for s in range(self.seeds)]
        self._iterations = [self._iterations[j] for j in keep] + [iteration] * self.seeds
        if jax.process_index() == 0:
            write_scores(self.path, self.rows)

    def finish(self, env_steps, eval_returns) -> None:
        """Rewrites the file from the run's whole history, ``env_steps`` and
        ``eval_returns`` ``[iterations, seeds]``: a resumed run whose file lost rows
        (a file removed or older than the checkpoint) still ends with every row. A
        row keeps the wall time already recorded for it, else none."""
        import jax

        steps = np.asarray(env_steps).reshape(len(env_steps), -1)[:, : self.seeds]
        returns = np.asarray(eval_returns, np.float64).reshape(len(eval_returns), -1)[:, : self.seeds]
        logged = {(it, row["seed"]): row for it, row in zip(self._iterations, self.rows)}
        rows = []
        for i in range(steps.shape[0]):
            for s in range(self.seeds):
                old = logged.get((i + 1, s))
                same = old is not None and old["env_steps"] == int(steps[i, s])
                rows.append(score_row(seed=s, env_steps=int(steps[i, s]),
                                      eval_return=returns[i, s],
                                      wall_time_s=old["wall_time_s"] if same else None,
                                      **self.fields))
        self.rows = rows
        self._iterations = [j // self.seeds + 1 for j in range(len(rows))]
        if jax.process_index() == 0:
            write_scores(self.path, self.rows)
