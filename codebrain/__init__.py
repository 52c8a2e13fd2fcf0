"""CodeBrain: any-to-any brain MRI contrast completion (arXiv 2501.18328)."""

__version__ = "0.1.0"
