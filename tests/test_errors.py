"""The error model: each kind of failure maps to each front end's documented exit code, and the one
top-level handler prints one line (plus the traceback with --debug) without changing the code."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest

from app.errors import CODES as MAP_CODES
from bids_app import exit_codes as bids
from codebrain.cli.common import EXIT_CODES as CORE_CODES
from codebrain.errors import (
    CannotCreateError,
    CodeBrainError,
    DataError,
    NoInputError,
    OutputConflictError,
    UsageError,
    WriteError,
    exit_code,
    run_guarded,
    write_error,
)

# kind -> (core command, codebrain-bids, MAP): the three exit-code lists of docs/usage/
DOCUMENTED = {
    UsageError: (2, 64, 64),
    OutputConflictError: (64, 64, 64),
    DataError: (65, 65, 65),
    NoInputError: (66, 66, 66),
    CannotCreateError: (73, 73, 73),
    WriteError: (74, 74, 74),
    CodeBrainError: (1, 1, 1),
}


@pytest.mark.parametrize("kind", list(DOCUMENTED))
def test_each_kind_has_each_front_ends_code(kind):
    err = kind("x")
    assert (exit_code(err, CORE_CODES), exit_code(err, bids.CODES), exit_code(err, MAP_CODES)) == DOCUMENTED[kind]


def test_bids_app_kinds_follow_the_bids_apps_spec():
    kinds = {bids.BidsValidationError: 16, bids.AnalysisLevelError: 17, bids.NothingSelectedError: 18,
             bids.UnavailableError: 69, bids.BusyError: 75, bids.WorkflowError: 1}
    assert {k: exit_code(k("x"), bids.CODES) for k in kinds} == kinds
    assert set(bids.CODES.values()) | {bids.EXIT_OK} == set(bids.MEANINGS)  # --help lists every code used


@pytest.mark.parametrize("number, kind, text", [
    (errno.ENOSPC, WriteError, "no space left on /out"),
    (errno.EIO, WriteError, "I/O error writing /out"),
    (errno.EROFS, CannotCreateError, "cannot write /out"),
])
def test_a_failed_write_names_its_cause(number, kind, text):
    err = write_error(OSError(number, "boom"), Path("/out"))
    assert type(err) is kind and str(err).startswith(text)


def _fail(exc: BaseException):
    def action() -> None:
        raise exc
    return action


@pytest.mark.parametrize("exc, code, line", [
    (DataError("bad volume"), 65, "prog: error: bad volume"),
    (FileNotFoundError(errno.ENOENT, "gone", "/in/x.nii"), 66, "prog: error: not found: /in/x.nii"),
    (KeyError("bug"), 1, "prog: error: KeyError: 'bug' (rerun with --debug for details)"),
    (KeyboardInterrupt(), 130, "prog: interrupted"),
])
def test_the_handler_prints_one_line_and_the_code(capsys, exc, code, line):
    assert run_guarded("prog", _fail(exc), CORE_CODES) == code
    assert capsys.readouterr().err.splitlines() == [line]


def test_debug_adds_the_traceback_not_another_code(capsys):
    assert run_guarded("prog", _fail(DataError("bad volume")), CORE_CODES, debug=True) == 65
    err = capsys.readouterr().err
    assert "Traceback" in err and err.splitlines()[-1] == "prog: error: bad volume"


def test_unexpected_write_failures_are_reported_against_the_output():
    assert run_guarded("prog", _fail(OSError(errno.ENOSPC, "full")), bids.CODES, output=None) == 1  # a bug
    assert run_guarded("prog", _fail(OSError(errno.ENOSPC, "full")), bids.CODES, output=Path("/out")) == 74
    assert run_guarded("prog", lambda: None, CORE_CODES) == 0
