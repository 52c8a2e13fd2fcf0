"""The console scripts, one thin module each: parse the command line, call the library, map errors to exit codes.

Each module imports argparse and the name tables only at the top, so ``--help`` and ``--version``
answer without loading torch; the work is imported inside ``_main``.
"""
