"""Evaluation: the paper's protocol (:mod:`~codebrain.evaluation.protocol`), its metrics and the baselines."""
