"""The evaluate runner's transformers backend: prompts (a user message or a chat) to completions.

`HFBackend` wraps a loaded model; the batched generation itself lives in training.generation.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import torch

from trainpipe.training.generation import Completion, chat_completions


def as_chats(prompts: Sequence[str | Sequence[dict]]) -> list[list[dict]]:
    """Each prompt as chat messages: a string becomes one user turn, a message list is kept as it is."""
    return [[{"role": "user", "content": p}] if isinstance(p, str) else list(p) for p in prompts]


class HFBackend:
    """A transformers model on the best device, generating with `chat_completions`."""

    def __init__(self, path: Path | str, mcfg, batch_size: int):
        from trainpipe.models.load import load_model, load_tokenizer

        self.tokenizer = load_tokenizer(path, mcfg, padding_side="left")
        self.model = load_model(path, mcfg)
        if torch.cuda.is_available():
            self.model.to("cuda")
        self.batch_size = batch_size

    def generate(self, prompts: Sequence[str | Sequence[dict]], settings: dict) -> list[list[Completion]]:
        """`settings["samples"]` completions per prompt: a user message, or chat messages ending in a user turn."""
        return chat_completions(
            self.model,
            self.tokenizer,
            as_chats(prompts),
            int(settings["max_new_tokens"]),
            self.batch_size,
            float(settings["temperature"]),
            int(settings["samples"]),
            int(settings.get("seed", 0)),
        )

    def generate_chats(self, conversations: Sequence[Sequence[dict]], max_new_tokens: int) -> list[Completion]:
        """One greedy next assistant turn per conversation."""
        done = chat_completions(self.model, self.tokenizer, conversations, max_new_tokens, self.batch_size)
        return [per[0] for per in done]
