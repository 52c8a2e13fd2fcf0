"""Training: the loop (:mod:`~codebrain.train.trainer`), the stages it trains
(:mod:`~codebrain.train.stages`), the detail-map fit, losses, the run log and multi-process set-up.

``python -m codebrain.train`` (and ``torchrun -m codebrain.train``) runs ``codebrain-train``.
"""
