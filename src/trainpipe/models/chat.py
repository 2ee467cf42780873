"""Chat rendering and tokenisation beside the tokenizer, one idiom for training and inference: `render` a
conversation with the model's chat template, then tokenise the text without adding special tokens (the template
wrote them). `encode_chat` labels only assistant tokens (+ end-of-turn) for training; `encode_prompt` ends in the
generation header for evaluation and RL.

Assistant spans are found in the rendered template text itself and mapped to tokens through offsets,
never by tokenising prefixes with a generation prompt (which would spill the next header into the labels).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

from trainpipe.errors import UserError

IGNORE = -100
END_OF_TURN = ("<|im_end|>", "<|eot_id|>", "<|end|>", "<end_of_turn>", "</s>", "<|endoftext|>")


@dataclass
class Encoded:
    input_ids: list[int]
    labels: list[int]
    token_weights: list[float] = field(default_factory=list)
    turn_of_token: list[int] = field(default_factory=list)  # assistant turn index per token, −1 elsewhere


def assistant_char_spans(text: str, messages: Sequence[dict], eos: str | None) -> list[tuple[int, int]]:
    """Character spans of each assistant message's content plus the end-of-turn marker right after it."""
    spans, cursor = [], 0
    for i, msg in enumerate(messages):
        content = msg["content"]
        start = text.find(content, cursor) if content else cursor
        if start < 0:
            raise UserError(
                f"chat template did not render message {i} ({msg['role']}) verbatim; cannot locate its tokens"
            )
        end = start + len(content)
        cursor = end
        if msg["role"] != "assistant":
            continue
        tail = text[end:]
        for marker in ((eos,) if eos else ()) + END_OF_TURN:
            if marker and tail.startswith(marker):
                end += len(marker)
                break
        spans.append((start, end))
        cursor = end
    return spans


def render(tokenizer, messages: Sequence[dict], generation_prompt: bool = False) -> str:
    """The conversation as the chat template writes it; with `generation_prompt`, ending in the header that
    opens the assistant's reply."""
    return tokenizer.apply_chat_template(list(messages), tokenize=False, add_generation_prompt=generation_prompt)


def text_ids(tokenizer, text: str) -> list[int]:
    """Token ids of rendered text: no special tokens added, the template already wrote them."""
    return tokenizer(text, add_special_tokens=False)["input_ids"]


def chat_ids(tokenizer, messages: Sequence[dict]) -> list[int]:
    """Token ids of a whole conversation, exactly as encode_chat tokenises it."""
    return text_ids(tokenizer, render(tokenizer, messages))


def encode_chat(
    tokenizer,
    messages: Sequence[dict],
    turn_weights: Sequence[float] | None = None,
    trained_turns: set[int] | None = None,
) -> Encoded:
    """input_ids/labels for one conversation; `trained_turns` limits the loss to some assistant turns
    (chunk context turns are shown but not trained), `turn_weights` gives each assistant turn a weight."""
    text = render(tokenizer, messages)
    spans = assistant_char_spans(text, messages, tokenizer.eos_token)
    enc = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    ids, offsets = enc["input_ids"], enc["offset_mapping"]
    turn_of_token = [_turn_at(s, e, spans) for s, e in offsets]
    labels = [
        tid if t >= 0 and (trained_turns is None or t in trained_turns) else IGNORE
        for tid, t in zip(ids, turn_of_token)
    ]
    weights = []
    if turn_weights is not None:
        weights = [float(turn_weights[t]) if lab != IGNORE else 0.0 for lab, t in zip(labels, turn_of_token)]
    return Encoded(ids, labels, weights, turn_of_token)


def _turn_at(start: int, end: int, spans: list[tuple[int, int]]) -> int:
    if end <= start:  # zero-width tokens (some special tokens) belong to no span
        return -1
    for j, (s, e) in enumerate(spans):
        if s <= start and end <= e:
            return j
    return -1


def encode_prompt(tokenizer, prompt_messages: Sequence[dict]) -> list[int]:
    """Token ids of a prompt ending in the generation header, for evaluation and RL."""
    return text_ids(tokenizer, render(tokenizer, prompt_messages, generation_prompt=True))
