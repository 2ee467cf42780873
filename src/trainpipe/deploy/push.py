"""Upload the release folder to the Hugging Face Hub: create the repo, then upload_folder, retrying transient errors.

Reads the token from HF_TOKEN or the standard token file (huggingface_hub.get_token); the token is handed
to HfApi only, never logged or written. Failures the user can fix become UserErrors with one clear message.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Callable

from trainpipe.config import DeployConfig
from trainpipe.errors import UserError
from trainpipe.secrets import redact

log = logging.getLogger("trainpipe.deploy")
TRANSIENT_STATUS = (408, 429, 500, 502, 503, 504)


def hub_token() -> str:
    from huggingface_hub import get_token

    token = get_token()
    if not token:
        raise UserError(
            "deploy.push=true needs a Hugging Face token with write access: set HF_TOKEN "
            "or run `hf auth login` (or set deploy.push=false)"
        )
    return token


def preflight(dcfg: DeployConfig) -> str:
    """Check what a push needs before any weights are built; returns the token."""
    from huggingface_hub import constants

    if not dcfg.repo_id:
        raise UserError("deploy.push=true needs deploy.repo_id (e.g. deploy.repo_id=your-name/your-model)")
    if constants.is_offline_mode():
        raise UserError(
            "deploy.push=true but Hugging Face offline mode is on (HF_HUB_OFFLINE or "
            "TRANSFORMERS_OFFLINE is set); unset it to publish, or set deploy.push=false"
        )
    return hub_token()


def push_folder(
    folder: Path, dcfg: DeployConfig, base_delay: float = 2.0, sleep: Callable[[float], None] = time.sleep
) -> str:
    """Create the repo (if missing) and upload `folder`; returns the repo URL (with /tree/<revision> if set)."""
    from huggingface_hub import HfApi

    token = preflight(dcfg)
    api = HfApi(endpoint=dcfg.endpoint, token=token)
    retry = _Retry(api.endpoint, dcfg.repo_id, dcfg.push_retries, base_delay, sleep)
    repo_url = retry("create repo", lambda: api.create_repo(dcfg.repo_id, private=dcfg.private, exist_ok=True))
    if dcfg.revision and dcfg.revision != "main":
        retry("create branch", lambda: api.create_branch(dcfg.repo_id, branch=dcfg.revision, exist_ok=True))
    commit = retry(
        "upload",
        lambda: api.upload_folder(
            repo_id=dcfg.repo_id, folder_path=str(folder), revision=dcfg.revision, commit_message=dcfg.commit_message
        ),
    )
    url = str(repo_url).rstrip("/") + (f"/tree/{dcfg.revision}" if dcfg.revision else "")
    files = sum(1 for p in Path(folder).rglob("*") if p.is_file())
    log.info("deploy: uploaded %d files to %s (commit %s)", files, url, getattr(commit, "oid", None))
    return url


class _Retry:
    """Runs one Hub call with bounded exponential backoff on transient failures, translating the rest."""

    def __init__(self, endpoint: str, repo_id: str, retries: int, base_delay: float, sleep):
        self.endpoint, self.repo_id = endpoint, repo_id
        self.retries, self.base_delay, self.sleep = max(0, retries), base_delay, sleep

    def __call__(self, what: str, call: Callable):
        attempt = 0
        while True:
            try:
                return call()
            except Exception as exc:  # noqa: BLE001 - classified below; anything unknown is re-raised as is
                attempt += 1
                if not is_transient(exc) or attempt > self.retries:
                    error = user_error(exc, what, self.endpoint, self.repo_id, attempt)
                    if error is None:
                        raise
                    raise error from None
                delay = self.base_delay * 2 ** (attempt - 1)
                log.warning(
                    "deploy: %s on %s failed (%s); retry %d/%d in %.1f s",
                    what,
                    self.endpoint,
                    _short(exc),
                    attempt,
                    self.retries,
                    delay,
                )
                self.sleep(delay)


def status_of(exc: BaseException) -> int | None:
    return getattr(getattr(exc, "response", None), "status_code", None)


def is_transient(exc: BaseException) -> bool:
    import httpx2  # huggingface_hub's HTTP client; its TransportError covers refused/reset/timed-out connections

    if status_of(exc) is not None:
        return status_of(exc) in TRANSIENT_STATUS
    return isinstance(exc, (httpx2.TransportError, ConnectionError, TimeoutError))


def user_error(exc: BaseException, what: str, endpoint: str, repo_id: str, attempts: int) -> UserError | None:
    """A clear message for failures the user can act on; None for anything else (kept as a real bug)."""
    from huggingface_hub.errors import HFValidationError

    status = status_of(exc)
    if isinstance(exc, HFValidationError):
        return UserError(f"deploy.repo_id={repo_id!r} is not a valid Hub repo id: {exc}")
    if status == 401:
        return UserError(
            f"deploy: {what} on {endpoint} was refused (401): the Hugging Face token is invalid or "
            "expired; create a write token and set HF_TOKEN or run `hf auth login`"
        )
    if status == 403:
        return UserError(
            f"deploy: {what} for {repo_id} was forbidden (403): the token has no write access to "
            f"this repo or namespace; use a write token that owns '{repo_id.split('/')[0]}' "
            "or change deploy.repo_id"
        )
    if status == 404:
        return UserError(
            f"deploy: {what}: repo {repo_id} (or revision) was not found on {endpoint}, or the token "
            "cannot see it; check deploy.repo_id and deploy.revision"
        )
    if isinstance(exc, ValueError) and "README.md" in str(exc):
        return UserError(
            f"deploy: the Hub rejected the metadata of the model card (README.md) for {repo_id}: "
            f"{' '.join(redact(str(exc)).split())}; check deploy.base_model and deploy.license"
        )
    if is_transient(exc):
        kind = f"the Hub answered {status}" if status else "no connection"
        return UserError(
            f"deploy: cannot reach the Hub at {endpoint} ({kind}: {_short(exc)}) after {attempts} "
            "attempt(s); check the network (or deploy.endpoint) and retry, or set deploy.push=false"
        )
    return None


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return redact(text[0] if text else type(exc).__name__)
