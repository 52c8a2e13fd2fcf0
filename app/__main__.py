"""``python -m app -i DICOM_IN -o DICOM_OUT [-m MODEL]``: see ``app.cli``."""

import sys

from app.cli import main

sys.exit(main())
