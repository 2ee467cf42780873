"""Per-stage logging: console plus logs/<stage>/run.log (redacted), and logs/<stage>/config.resolved.yaml."""

from __future__ import annotations

import logging
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from trainpipe.config import resolved_yaml
from trainpipe.errors import UserError, disk_full
from trainpipe.secrets import RedactingFilter, redact

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def setup_console(level: int = logging.INFO) -> None:
    root = logging.getLogger()
    if any(getattr(h, "_trainpipe_console", False) for h in root.handlers):
        return
    handler = _Console()
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s: %(message)s", "%H:%M:%S"))
    handler.addFilter(RedactingFilter())
    handler._trainpipe_console = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
    for noisy in ("httpx", "urllib3", "filelock", "datasets", "fsspec"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


class _Console(logging.StreamHandler):
    """Writes to whatever sys.stderr is now, so in-process callers that swap it (tests, notebooks) keep working."""

    @property  # type: ignore[override]
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:
        return


class _LogFile(logging.FileHandler):
    """run.log. A record it cannot write (disk full) is dropped: logging's default would print a traceback to
    stderr, burying the one-line error the command line prints for that failure."""

    def handleError(self, record: logging.LogRecord) -> None:
        return


@contextmanager
def stage_logging(log_dir: Path, cfg, stage: str, argv: list[str] | None = None) -> Iterator[None]:
    """Attach run.log for the stage; an unexpected failure leaves its traceback there."""

    log_dir.mkdir(parents=True, exist_ok=True)
    setup_console()
    handler = _LogFile(log_dir / "run.log", encoding="utf-8")
    handler.setFormatter(logging.Formatter(FORMAT))
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    root.addHandler(handler)
    log = logging.getLogger("trainpipe")
    try:
        (log_dir / "config.resolved.yaml").write_text(redact(resolved_yaml(cfg)), encoding="utf-8")
        if argv is not None:
            log.info("command: %s", redact(" ".join(argv)))
        yield
    except UserError:
        raise
    except BaseException as exc:
        if disk_full(exc) is None:
            log.exception("stage %s failed", stage)
        else:  # the command line prints one clear line for this; the traceback goes to run.log only
            handler.handle(
                log.makeRecord(
                    log.name, logging.ERROR, __file__, 0, "stage %s failed: disk full", (stage,), sys.exc_info()
                )
            )
        raise
    finally:
        root.removeHandler(handler)
        handler.close()
