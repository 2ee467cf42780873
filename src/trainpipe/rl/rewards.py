"""Reward components for GRPO/RLOO/PPO (task score, format, length, external score, environment return, learned
reward model) as TRL reward
callables (prompts, completions, **columns) -> list[float | None], None meaning "not applicable to this row", and
their blend r = (1 − α)·external + α·Σ wᵢ·internalᵢ expressed as TRL reward_weights."""

from __future__ import annotations

import abc
import json
import math
import os
import re
from collections import Counter
from pathlib import Path
from typing import Any, Callable

from trainpipe.config import RewardConfig, RlConfig
from trainpipe.errors import UserError
from trainpipe.models.chat import chat_ids
from trainpipe.tasks import get_task

_SPACE = re.compile(r"\s+")


def completion_text(completion: Any) -> str:
    """The assistant text of a completion: a plain string, or the assistant turns of a conversational one."""
    if isinstance(completion, str):
        return completion
    return "".join(m.get("content") or "" for m in completion if m.get("role", "assistant") == "assistant")


def scale_score(raw: float | None, low: float, high: float) -> float | None:
    """Map a raw record score linearly from [low, high] onto [−1, 1], clipped; None stays None."""
    if raw is None or not math.isfinite(float(raw)):
        return None
    if high <= low:
        raise UserError(f"rl.rewards external: high ({high}) must be above low ({low})")
    return max(-1.0, min(1.0, 2.0 * (float(raw) - low) / (high - low) - 1.0))


def raw_external(record: dict, field: str) -> float | None:
    """The raw score of an sft record: its column `field`, else that key of its meta JSON."""
    value = record.get(field)
    if value is None and record.get("meta"):
        try:
            value = json.loads(record["meta"]).get(field)
        except (ValueError, AttributeError):
            value = None
    try:
        return None if value is None or isinstance(value, bool) else float(value)
    except (TypeError, ValueError):
        return None


def _ngrams(text: str, n: int) -> Counter:
    return Counter(text[i : i + n] for i in range(len(text) - n + 1))


def char_f1(text: str, reference: str, max_n: int = 3) -> float:
    """chrF-style similarity in [0, 1]: the mean over n = 1..max_n of the F1 of character n-grams (case-folded,
    whitespace removed). Character n-grams, unlike words, give partial credit for near misses and inflections."""
    got, want = _SPACE.sub("", text.lower()), _SPACE.sub("", reference.lower())
    scores = []
    for n in range(1, max_n + 1):
        a, b = _ngrams(got, n), _ngrams(want, n)
        common = sum((a & b).values())
        if common == 0:
            scores.append(0.0)
            continue
        precision, recall = common / sum(a.values()), common / sum(b.values())
        scores.append(2 * precision * recall / (precision + recall))
    return sum(scores) / max_n


class Reward(abc.ABC):
    """Base of the components: TRL logs each under `rewards/<__name__>/mean` every logging step."""

    def __init__(self, spec: RewardConfig):
        self.spec = spec
        self.__name__ = spec.name

    def __call__(self, prompts: list, completions: list, **kwargs) -> list[float | None]:
        n = len(completions)
        # TRL passes every dataset column as a list aligned with completions, plus scalars such as trainer_state.
        columns = {k: v for k, v in kwargs.items() if isinstance(v, list) and len(v) == n} | {"prompt": prompts}
        return [self.one(completion_text(c), {k: v[i] for k, v in columns.items()}) for i, c in enumerate(completions)]

    @abc.abstractmethod
    def one(self, text: str, row: dict) -> float | None:
        """The reward of one completion given its row's columns (its prompt under "prompt")."""


class TaskReward(Reward):
    """The row's task family score(), the very function evaluation uses: 1.0 correct, 0.0 wrong."""

    def one(self, text, row):
        task, answer = row.get("task"), row.get("answer")
        return None if not task or answer is None else float(get_task(task).score(text, answer))


class FormatReward(Reward):
    """1.0 when the completion states its answer the way the task family asks (format_ok), else 0.0."""

    def one(self, text, row):
        task = row.get("task")
        return None if not task else float(get_task(task).format_ok(text))


class StepsReward(Reward):
    """A process reward a verifier can check: how much of the gold worked solution the completion states (the
    family's step_score, computed from the prompt: arithmetic re-derives its worked steps). Groups whose answers
    are all wrong still differ in how far they got, so GRPO learns from them too; None for families without it."""

    def one(self, text, row):
        task, prompt = row.get("task"), row.get("prompt")
        step_score = getattr(get_task(task), "step_score", None) if task else None
        if step_score is None or not prompt:
            return None
        user = (
            prompt if isinstance(prompt, str) else next(m["content"] for m in reversed(prompt) if m["role"] == "user")
        )
        score = step_score(text, user)
        return None if score is None else float(score)


class LengthReward(Reward):
    """0 up to target_length model tokens, then −(excess / target_length), floored at −1."""

    def one(self, text, row):
        steps, ids = row.get("token_step"), row.get("completion_ids")
        # In multi-turn rollouts only the model's own tokens (step index ≥ 0) count, not the observations.
        if steps is not None:
            n_tokens = sum(1 for j in steps if j >= 0)
        elif ids is not None:
            n_tokens = len(ids)
        else:  # words are not tokens: a target set in tokens would be met by counting something else
            raise ValueError(
                "the length reward counts model tokens, but the trainer passed no completion_ids "
                "(nor token_step) for this completion"
            )
        return self.penalty(n_tokens)

    def penalty(self, n_tokens: int) -> float:
        target = max(1, self.spec.target_length)
        return -min(1.0, max(0, n_tokens - target) / target)


class ExternalReward(Reward):
    """s · chrF(completion, reference): s ∈ [−1, 1] is the record's scaled external score, so a completion earns
    credit for resembling a well-rated reference and loses it for resembling a badly rated one. A bare s would be
    the same for every completion of a prompt and so give GRPO no signal at all."""

    def one(self, text, row):
        score, reference = row.get("external"), row.get("reference")
        if score is None or reference is None:
            return None
        return float(score) * char_f1(text, reference)


class EnvReward(Reward):
    """The episode return a multi-turn environment reported for this rollout."""

    def one(self, text, row):
        value = row.get("env_reward")
        return None if value is None else float(value)


class Scorer:
    """A reward model's scalar for one conversation, rendered and tokenised exactly as it was trained
    (models.chat.chat_ids). One sequence per forward pass: no padding, so the score is the model's own output."""

    def __init__(self, model, tokenizer):
        self.model, self.tokenizer = model.eval(), tokenizer

    @classmethod
    def load(cls, folder: Path) -> "Scorer":

        import torch
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        device = f"cuda:{int(os.environ.get('LOCAL_RANK', '0'))}" if torch.cuda.is_available() else "cpu"
        model = AutoModelForSequenceClassification.from_pretrained(
            str(folder), dtype=torch.float32, local_files_only=True, use_safetensors=True
        )
        return cls(model.to(device), AutoTokenizer.from_pretrained(str(folder), local_files_only=True))

    def __call__(self, messages: list[dict]) -> float:
        import torch

        ids = torch.tensor([chat_ids(self.tokenizer, messages)], device=self.model.device)
        with torch.no_grad():
            return float(self.model(input_ids=ids).logits[0, 0])


class ModelReward(Reward):
    """The learned reward model's scalar for the prompt's turns followed by the completion (rl.reward_model)."""

    def __init__(self, spec: RewardConfig, scorer: Scorer):
        super().__init__(spec)
        self.scorer = scorer

    def one(self, text, row):
        return self.scorer(list(row["prompt"]) + [{"role": "assistant", "content": text}])


COMPONENTS: dict[str, Callable[..., Reward]] = {
    "task": TaskReward,
    "format": FormatReward,
    "steps": StepsReward,
    "length": LengthReward,
    "external": ExternalReward,
    "env": EnvReward,
    "model": ModelReward,
}


def _component(spec: RewardConfig, reward_model: Path | None) -> Reward:
    if spec.name != "model":
        return COMPONENTS[spec.name](spec)
    if reward_model is None:
        raise UserError(
            "rl.rewards: {name: model} scores with the learned reward model; set "
            "rl.reward_model.train=true to train one"
        )
    return ModelReward(spec, Scorer.load(reward_model))


def build_rewards(rl: RlConfig, reward_model: Path | None = None) -> tuple[list[Reward], list[float]]:
    """The configured components and their TRL reward_weights: (1 − α)·w for external, α·w for the others.
    `reward_model` is the trained reward model's folder, which the `model` component scores with."""
    names = [r.name for r in rl.rewards]
    unknown = [n for n in names if n not in COMPONENTS]
    if unknown:
        raise UserError(f"rl.rewards: unknown reward {unknown[0]!r}; known: {', '.join(COMPONENTS)}")
    if len(set(names)) != len(names):
        raise UserError(f"rl.rewards: each reward may appear once, got {names}")
    if not names:
        raise UserError("rl.rewards is empty; list at least one of " + ", ".join(COMPONENTS))
    for r in rl.rewards:
        if r.name == "external" and r.high <= r.low:
            raise UserError(f"rl.rewards external: high ({r.high}) must be above low ({r.low})")
    alpha = rl.blend_alpha
    if alpha < 1.0 and "external" not in names:
        raise UserError(f"rl.blend_alpha={alpha} blends in an external score, but rl.rewards has no 'external' entry")
    weights = [(1.0 - alpha) * r.weight if r.name == "external" else alpha * r.weight for r in rl.rewards]
    if not any(weights):
        # weight 0 logs a component without training on it; with every weight 0 no advantage is ever non-zero
        external_off = alpha >= 1.0 and "external" in names
        hint = "; the external score weighs 1 − rl.blend_alpha: set rl.blend_alpha below 1" if external_off else ""
        raise UserError(f"rl.rewards: every weight is 0 (after rl.blend_alpha={alpha}), so nothing would train{hint}")
    funcs = [_component(r, reward_model) for r in rl.rewards]
    return funcs, weights
