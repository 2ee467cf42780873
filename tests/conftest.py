"""Shared fixtures: configs rooted in tmp_path on the tiny random model, and the real embedded tokenizer."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def tokenizer():
    from trainpipe.models.load import embedded_tokenizer

    return embedded_tokenizer()


def make_config(root: Path, *overrides: str):
    from trainpipe.config import load_config

    return load_config(str(REPO / "configs" / "smoke.yaml"), [f"paths.root={root}", *overrides])


@pytest.fixture
def smoke_cfg(tmp_path):
    return lambda *overrides: make_config(tmp_path, *overrides)


@pytest.fixture
def one_thread():
    """One intra-op thread: tiny models gain nothing from more, and on a shared 2-core CPU the threads'
    handoffs cost several-fold."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
