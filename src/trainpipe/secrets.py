"""Redaction of credentials (HF tokens, env-var secrets) from everything trainpipe writes: logs, manifests, cards."""
from __future__ import annotations

import logging
import os
import re
from typing import Any

SECRET_ENV = ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HUGGINGFACE_TOKEN", "WANDB_API_KEY", "OPENAI_API_KEY")
TOKEN_PATTERN = re.compile(r"\bhf_[A-Za-z0-9]{20,}\b")
REDACTED = "***REDACTED***"


def secret_values() -> list[str]:
    values = [os.environ.get(name, "") for name in SECRET_ENV]
    return sorted({v for v in values if len(v) >= 8}, key=len, reverse=True)


def redact(text: str) -> str:
    for value in secret_values():
        text = text.replace(value, REDACTED)
    return TOKEN_PATTERN.sub(REDACTED, text)


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
        return True
