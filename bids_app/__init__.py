"""The CodeBrain BIDS-App: ``codebrain-bids BIDS_DIR OUTPUT_DIR participant|group``."""

ANALYSIS_LEVELS = ("participant", "group")
