"""Redaction of credentials (HF tokens, secret env vars and .env values, URL passwords) from everything trainpipe
writes: logs, manifests, JSON files, model cards."""

from __future__ import annotations

import logging
import os
import re
from typing import Any

SECRET_ENV = ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HUGGINGFACE_TOKEN", "WANDB_API_KEY", "OPENAI_API_KEY")
# Any other variable named like a credential (GITHUB_TOKEN, AWS_SECRET_ACCESS_KEY); TOKENIZERS_PARALLELISM is not.
SECRET_ENV_NAME = re.compile(r"(^|_)(TOKEN|SECRET|PASSWORD|PASSWD|API_?KEY|ACCESS_?KEY|PRIVATE_?KEY)(_|$)")
TOKEN_PATTERN = re.compile(r"\bhf_[A-Za-z0-9]{20,}\b")
URL_PASSWORD = re.compile(r"(?<=://)([^/\s:@]+):[^/\s@]+(?=@)")
BEARER = re.compile(r"(?i)\b(bearer\s+)[A-Za-z0-9._~+/=-]{8,}")
REDACTED = "***REDACTED***"
_dotenv_cache: dict[str, tuple[float, list[str]]] = {}


def secret_values() -> list[str]:
    """Values to blank wherever they appear: credential env vars and credential entries of ./.env."""
    values = [os.environ.get(name, "") for name in SECRET_ENV]
    values += [v for k, v in os.environ.items() if SECRET_ENV_NAME.search(k.upper())]
    values += _dotenv_values(".env")
    return sorted({v for v in values if len(v) >= 8}, key=len, reverse=True)


def _dotenv_values(path: str) -> list[str]:
    """Credential values of a dotenv file (KEY=VALUE lines), re-read only when the file changes."""
    try:
        mtime = os.stat(path).st_mtime
    except OSError:
        return []
    cached = _dotenv_cache.get(os.path.abspath(path))
    if cached and cached[0] == mtime:
        return cached[1]
    found = []
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            for line in fh:
                key, sep, value = line.strip().removeprefix("export ").partition("=")
                if sep and SECRET_ENV_NAME.search(key.strip().upper()):
                    found.append(value.strip().strip("'\""))
    except OSError:
        return []
    _dotenv_cache[os.path.abspath(path)] = (mtime, found)
    return found


def redact(text: str) -> str:
    for value in secret_values():
        text = text.replace(value, REDACTED)
    text = TOKEN_PATTERN.sub(REDACTED, text)
    text = URL_PASSWORD.sub(lambda m: f"{m.group(1)}:{REDACTED}", text)
    return BEARER.sub(lambda m: m.group(1) + REDACTED, text)


def redact_obj(obj: Any) -> Any:
    """Redact strings inside nested dicts/lists; keys that name a token lose their value entirely."""
    if isinstance(obj, dict):
        return {k: (REDACTED if _secret_key(k) and obj[k] else redact_obj(v)) for k, v in obj.items()}
    if isinstance(obj, list):
        return [redact_obj(v) for v in obj]
    if isinstance(obj, str):
        return redact(obj)
    return obj


SECRET_KEY = re.compile(r"^(token|.*(hf|hub|auth|access|api|bearer|write|read)_?token|.*api_?key|.*password|.*secret)$")


def _secret_key(key: Any) -> bool:
    """Credential-named keys (token, hf_token, api_key, ...), not counts like trained_tokens or pad_token."""
    return isinstance(key, str) and bool(SECRET_KEY.match(key.lower()))


class RedactingFilter(logging.Filter):
    """Applied to every handler trainpipe installs, so a token passed to a log call never reaches disk."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and not record.exc_text:
            # A traceback quotes exception messages (URLs, headers); formatters reuse exc_text once it is set.
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        return True
