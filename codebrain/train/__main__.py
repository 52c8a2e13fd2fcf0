"""``python -m codebrain.train`` and ``torchrun --nproc_per_node N -m codebrain.train``: ``codebrain-train``."""

import sys

from codebrain.cli.train import main

sys.exit(main())
