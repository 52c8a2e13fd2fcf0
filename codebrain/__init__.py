"""CodeBrain: any-to-any brain MRI contrast completion (arXiv 2501.18328).

The inference API is re-exported here (``from codebrain import Synthesizer``) but loaded only on
first use, so that importing the package for its version, as every ``--help`` does, stays free of torch.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_LAZY = {"Synthesizer": "codebrain.inference.synthesize", "SynthesisResult": "codebrain.inference.synthesize",
         "synthesize": "codebrain.inference.synthesize"}
__all__ = ["SynthesisResult", "Synthesizer", "__version__", "synthesize"]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'codebrain' has no attribute {name!r}")
