"""CodeBrain MONAI Deploy application: a DICOM MR study in, synthesized MR series out, same study."""

from codebrain import __version__

__all__ = ["__version__"]
