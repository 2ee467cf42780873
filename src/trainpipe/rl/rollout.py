"""Multi-turn GRPO: policy and environment take turns inside TRL's rollout_func (observation tokens get env_mask 0,
out of the loss), and a thin GRPOTrainer subclass spreads each episode's advantage over its turns by step reward."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import torch
from trl import GRPOTrainer

from trainpipe.errors import UserError
from trainpipe.models.chat import render
from trainpipe.rl.generation import SharedPrefillMixin
from trainpipe.rl.logprobs import DirectLogprobsMixin, SignalRowsMixin
from trainpipe.rl.tree import TreeRolloutMixin
from trainpipe.tasks.environments import Environment
from trainpipe.training.losses import step_advantages

_REPLY, _OBS = "TRAINPIPE_REPLY_MARK", "TRAINPIPE_OBSERVATION_MARK"


def environment_dataset(factory: Callable[[], Environment], episodes: int):
    """One conversational prompt per seed (its first observation) and the seed each prompt text came from."""
    from datasets import Dataset

    env = factory()
    rows, seeds = [], {}
    for seed in range(episodes):
        observation = env.reset(seed)
        rows.append({"prompt": [{"role": "user", "content": observation}], "seed": seed})
        seeds.setdefault(observation, seed)
    return Dataset.from_list(rows), seeds


def turn_glue(tokenizer) -> tuple[str, str, str]:
    """Chat-template text that closes an assistant reply, and that wraps a user observation (before, after)
    up to the next assistant reply, found by rendering a conversation with marker contents."""
    convo = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": _REPLY}]
    base = render(tokenizer, convo)
    more = render(tokenizer, convo + [{"role": "user", "content": _OBS}], generation_prompt=True)
    if not more.startswith(base) or _REPLY not in base or _OBS not in more:
        raise UserError("multi-turn environments need a chat template that renders each turn after the previous one")
    before, after = more[len(base) :].split(_OBS)
    return base[base.rindex(_REPLY) + len(_REPLY) :], before, after


@dataclass
class Episode:
    env: Environment
    prompt_ids: list[int]
    completion_ids: list[int] = field(default_factory=list)
    env_mask: list[int] = field(default_factory=list)
    token_step: list[int] = field(default_factory=list)  # assistant turn of each completion token, −1 for glue
    step_rewards: list[float] = field(default_factory=list)
    done: bool = False

    def add(self, ids: list[int], step: int) -> None:
        self.completion_ids += ids
        self.env_mask += [1 if step >= 0 else 0] * len(ids)
        self.token_step += [step] * len(ids)


class MultiTurnRollout:
    """TRL rollout_func: for each prompt, reset an environment to its seed and alternate model turns (sampled with
    the trainer's generation settings, turn_tokens new tokens each) and environment steps, up to max_turns."""

    def __init__(
        self, factory: Callable[[], Environment], seeds: dict[str, int], tokenizer, max_turns: int, turn_tokens: int
    ):
        self.factory, self.seeds, self.tokenizer = factory, seeds, tokenizer
        self.max_turns, self.turn_tokens = max_turns, turn_tokens
        self.close, self.obs_before, self.obs_after = turn_glue(tokenizer)
        self.pool: list[Environment] = []  # instances are reused across batches (a server keeps them alive)

    def __call__(self, prompts: list, trainer) -> dict:
        while len(self.pool) < len(prompts):
            self.pool.append(self.factory())
        episodes = [self._start(p, env) for p, env in zip(prompts, self.pool)]
        for turn in range(self.max_turns):
            active = [e for e in episodes if not e.done]
            if not active:
                break
            replies = self._generate(trainer, [e.prompt_ids + e.completion_ids for e in active])
            for episode, ids in zip(active, replies):
                self._advance(episode, ids, turn, trainer.eos_token_ids)
        return {
            "prompt_ids": [e.prompt_ids for e in episodes],
            "completion_ids": [e.completion_ids for e in episodes],
            "logprobs": None,
            "env_mask": [e.env_mask for e in episodes],
            "env_reward": [float(sum(e.step_rewards)) for e in episodes],
            "step_rewards": [e.step_rewards for e in episodes],
            "token_step": [e.token_step for e in episodes],
        }

    def _encode(self, text: str) -> list[int]:
        return self.tokenizer(text, add_special_tokens=False)["input_ids"]

    def _start(self, prompt: list[dict], env: Environment) -> Episode:
        seed = self.seeds.get(prompt[-1]["content"])
        if seed is None:
            raise RuntimeError("multi-turn rollout got a prompt that is not one of the environment's episodes")
        messages = prompt[:-1] + [{"role": "user", "content": env.reset(seed)}]
        return Episode(env, self._encode(render(self.tokenizer, messages, generation_prompt=True)))

    def _advance(self, episode: Episode, ids: list[int], turn: int, eos_ids: list[int]) -> None:
        episode.add(ids, turn)
        observation, reward, done = episode.env.step(self.tokenizer.decode(ids, skip_special_tokens=True))
        episode.step_rewards.append(float(reward))
        if done or turn == self.max_turns - 1:
            episode.done = True
            return
        close = self.close
        eos_text = self.tokenizer.decode(ids[-1:]) if ids and ids[-1] in eos_ids else ""
        if eos_text and close.startswith(eos_text):
            close = close[len(eos_text) :]  # the model already closed its turn with the template's end token
        episode.add(self._encode(close + self.obs_before + observation + self.obs_after), -1)

    def _generate(self, trainer, sequences: list[list[int]]) -> list[list[int]]:
        """Sample one reply per sequence (left-padded batch), cut after the first end-of-turn token."""
        from transformers import GenerationConfig
        from trl.models.utils import unwrap_model_for_generation

        pad, width = self.tokenizer.pad_token_id, max(len(s) for s in sequences)
        device = trainer.accelerator.device
        ids = torch.tensor([[pad] * (width - len(s)) + s for s in sequences], device=device)
        mask = torch.tensor([[0] * (width - len(s)) + [1] * len(s) for s in sequences], device=device)
        config = GenerationConfig(
            **{**trainer.generation_kwargs, "max_new_tokens": self.turn_tokens}, disable_compile=True
        )
        with (
            unwrap_model_for_generation(trainer.model_wrapped, trainer.accelerator) as model,
            torch.no_grad(),
            trainer.accelerator.autocast(),
        ):
            out = model.generate(input_ids=ids, attention_mask=mask, generation_config=config)
        replies = []
        for row in out[:, width:].tolist():
            ends = [i for i, t in enumerate(row) if t in trainer.eos_token_ids]
            replies.append(row[: ends[0] + 1] if ends else row)
        return replies


class TrainpipeGRPOTrainer(TreeRolloutMixin, SharedPrefillMixin, SignalRowsMixin, DirectLogprobsMixin, GRPOTrainer):
    """GRPOTrainer whose multi-turn episodes (rows carrying token_step and step_rewards from MultiTurnRollout)
    get per-token advantages A_t = A · r_j / mean(r) for the tokens of turn j; TRL's loss takes (B, T) advantages.
    Each distinct prompt is prefilled once (rl.generation); off Triton devices, completion log-probs are scored
    directly (rl.logprobs), and rows whose advantage is zero skip the loss pass where that changes nothing
    (rl.logprobs.SignalRowsMixin); `tree=TreeSettings(...)` grows entropy-branching tree rollouts (rl.tree)."""

    def __init__(self, *args, step_advantages: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.use_step_advantages = step_advantages

    def _generate_and_score_completions(self, inputs):
        out = super()._generate_and_score_completions(inputs)
        # TRL merges the rollout's extra fields into the input rows in place, so they are readable here.
        if not self.use_step_advantages or "token_step" not in inputs[0]:
            return out
        width = out["completion_ids"].size(1)
        rows = [
            step_advantages(adv, x["step_rewards"], list(x["token_step"]) + [-1] * (width - len(x["token_step"])))
            for adv, x in zip(out["advantages"].tolist(), inputs)
        ]
        out["advantages"] = torch.tensor(rows, dtype=out["advantages"].dtype, device=out["advantages"].device)
        return out
