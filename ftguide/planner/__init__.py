"""Plan a fine-tuning run: does it fit, how long, how much, where.

- `inputs`: the one declaration of a run's inputs (command line, form, `plan --json`).
- `kernel`: the run's arithmetic and choice, pure Python; `_ext/planner/kernel.mjs` mirrors it.
- `coefficients`: what the kernel needs from data/, at build time (pandas at the edge).
- `run`: a plan for the reader's inputs; `text`: the plan as tables and text; `scenarios`: the
  pages' worked examples, sensitivity and comparisons.

This file imports nothing: the data layer's checks use the kernel, and the pandas modules here
use the data layer.
"""
