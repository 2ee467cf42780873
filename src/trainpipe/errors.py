"""Error types the command line turns into exit codes: user errors exit 2 with one clear message."""

from __future__ import annotations

import errno


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


DISK_FULL = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)
# torch and safetensors write in C++/Rust and raise RuntimeError-like errors that keep only the OS message.
DISK_FULL_TEXT = ("No space left on device", "Disk quota exceeded", "File too large")


def disk_full(exc: BaseException | None) -> BaseException | None:
    """The error in `exc`'s cause/context chain that says the disk (or a file size limit) is full, if any."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if (isinstance(exc, OSError) and exc.errno in DISK_FULL) or any(t in str(exc) for t in DISK_FULL_TEXT):
            return exc
        exc = exc.__cause__ or exc.__context__
    return None
