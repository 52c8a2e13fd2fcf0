"""Inference: :class:`~codebrain.inference.synthesize.Synthesizer`, the one API every front end calls."""
