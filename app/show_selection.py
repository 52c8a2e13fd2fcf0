"""``python -m app.show_selection DICOM_IN``: which series the application would take as which
modality, without running anything else; for a site checking its selection rules
(``CODEBRAIN_SELECTION_RULES``) against its own studies. Prints ``modality<TAB>series number<TAB>
description<TAB>SeriesInstanceUID`` per chosen series; exits as the application does."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from app import __version__
from app.errors import CODES
from app.runtime import start_sdk
from codebrain.errors import NoInputError, run_guarded


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m app.show_selection", description=__doc__.split("\n\n")[0])
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--debug", action="store_true", help="show full tracebacks on errors (same exit code)")
    parser.add_argument("input", type=Path, help="folder with one study's DICOM files")
    parser.add_argument("--rules", type=Path,
                        help="selection rules JSON (default: $CODEBRAIN_SELECTION_RULES or the shipped rules)")
    args = parser.parse_args(argv)

    def show() -> None:
        start_sdk()
        from monai.deploy.core import Fragment

        from app.operators import CountingDICOMLoader, ModalitySelectorOperator
        from app.selection import load_rules

        if not args.input.is_dir():
            raise NoInputError(f"{args.input} is not a folder")
        fragment = Fragment()
        studies = CountingDICOMLoader(fragment, input_folder=args.input, must_load=False,
                                      name="loader").load_data_to_studies(args.input)
        selector = ModalitySelectorOperator(fragment, rules=load_rules(args.rules), name="selector")
        for name, series in selector.select(studies).items():
            print(f"{name}\t{series.SeriesNumber}\t{series.SeriesDescription}\t{series.SeriesInstanceUID}")

    return run_guarded("codebrain-map", show, CODES, debug=args.debug)


if __name__ == "__main__":
    sys.exit(main())
