"""Error types the command line turns into exit codes: user errors exit 2 with one clear message."""
from __future__ import annotations


class UserError(Exception):
    """Bad config or input the user can fix; printed without a traceback, exit status 2."""

    exit_code = 2


class GateFailure(UserError):
    """The evaluate gate rejected the candidate model; exit status 3."""

    exit_code = 3


class DataError(UserError):
    """A record that cannot be used, located by file, line (or record number) and field."""

    def __init__(self, file: str, line: int | str | None, field: str | None, expected: str, reason: str = "invalid"):
        self.file, self.line, self.field, self.expected, self.reason = file, line, field, expected, reason
        where = f"{file}:{line}" if line is not None else str(file)
        what = f" field '{field}':" if field else ""
        super().__init__(f"{where}:{what} {expected}")


class StageOrderError(UserError):
    """A stage's upstream output is missing; names the stage to run first."""
