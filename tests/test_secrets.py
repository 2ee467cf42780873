import logging

from trainpipe.secrets import REDACTED, RedactingFilter, redact, redact_obj


def test_redact_env_token_and_hf_pattern(monkeypatch):
    monkeypatch.setenv("HF_TOKEN", "supersecretvalue123")
    assert redact("use supersecretvalue123 now") == f"use {REDACTED} now"
    assert redact("token hf_abcdefghijklmnopqrstuvwxyz1234") == f"token {REDACTED}"


def test_redact_obj_only_credential_keys():
    out = redact_obj(
        {
            "hf_token": "x",
            "token": "y",
            "api_key": "z",
            "trained_tokens": 5,
            "pad_token": "<pad>",
            "nested": [{"password": "p"}],
        }
    )
    assert out == {
        "hf_token": REDACTED,
        "token": REDACTED,
        "api_key": REDACTED,
        "trained_tokens": 5,
        "pad_token": "<pad>",
        "nested": [{"password": REDACTED}],
    }


def test_logging_filter_redacts(monkeypatch):
    monkeypatch.setenv("HF_TOKEN", "supersecretvalue123")
    record = logging.LogRecord("t", logging.INFO, __file__, 1, "token=%s", ("supersecretvalue123",), None)
    RedactingFilter().filter(record)
    assert record.getMessage() == f"token={REDACTED}"
