"""How BIDS spells the five modalities: the one piece of BIDS the core holds, for the simulator's
BIDS writer (``simulate_bids``); the BIDS-App builds its file names from it with pybids."""

from __future__ import annotations

# the BIDS suffix of each modality; T1Gd is a T1w with a ``ce-`` entity (any label when reading)
BIDS_SUFFIX: dict[str, str] = {
    "T1w": "T1w", "T1Gd": "T1w", "T2w": "T2w", "PDw": "PDw", "FLAIR": "FLAIR",
}
BIDS_CE_LABEL = "gadolinium"  # the ce- label written for T1Gd
