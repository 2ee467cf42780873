"""Group generation for the online trainers (GRPO, RLOO) when they generate with transformers (no vLLM).

Each prompt of a step is sampled num_generations times, and TRL hands `generate` every copy: the prompt is
prefilled once per copy. Here each distinct prompt is prefilled once, its key/value cache is copied to the rows
that repeat it, and `generate` continues from there: the same distribution per row, and the prefill (most of
the generation time with short completions: 8 copies of 70-token prompts against 32 sampled tokens) shrinks by
the group size. Anything unusual (vLLM, continuous batching, images, tools, active dropout, a model without a
cache) keeps TRL's own path.
"""

from __future__ import annotations

import torch


def distinct(prompt_ids: list[list[int]]) -> tuple[list[list[int]], list[int]]:
    """The distinct prompts in first-seen order, and for each row the index of its prompt among them."""
    seen: dict[tuple, int] = {}
    rows = [seen.setdefault(tuple(p), len(seen)) for p in prompt_ids]
    return [list(p) for p in seen], rows


def _dropout_active(model) -> bool:
    if not model.training:
        return False
    if getattr(getattr(model, "config", None), "attention_dropout", 0.0):
        return True
    return any(isinstance(m, torch.nn.Dropout) and m.p > 0 for m in model.modules())


class SharedPrefillMixin:
    """Put before GRPOTrainer / RLOOTrainer in the bases (see the module docstring)."""

    def _shared_prefill_applies(self, prompt_ids, images, multimodal_fields) -> bool:
        if self.use_vllm or self.use_transformers_continuous_batching or getattr(self, "tools", None):
            return False
        if images is not None and any(x is not None for x in images) or multimodal_fields:
            return False
        if self.accelerator.state.deepspeed_plugin is not None or self.accelerator.num_processes > 1:
            return False
        unique, _ = distinct(prompt_ids)
        # A one-token prompt leaves nothing to prefill before generate's first step.
        return len(unique) < len(prompt_ids) and min(map(len, unique)) >= 2 and not _dropout_active(self.model)

    def _generate_single_turn(self, prompt_ids, images, multimodal_fields, *args, **kwargs):
        if not self._shared_prefill_applies(prompt_ids, images, multimodal_fields):
            return super()._generate_single_turn(prompt_ids, images, multimodal_fields, *args, **kwargs)
        from trl.models.utils import unwrap_model_for_generation

        with (
            torch.no_grad(),
            unwrap_model_for_generation(
                self.model_wrapped,
                self.accelerator,
                generation_kwargs=self.generation_kwargs,
                gradient_checkpointing_kwargs=self.args.gradient_checkpointing_kwargs,
            ) as model,
        ):
            completions = generate_shared(
                model,
                prompt_ids,
                self._tokenizer.pad_token_id,
                self.generation_config,
                self.eos_token_ids,
                self.accelerator.device,
            )
        from trl import RLOOTrainer

        # GRPO returns (completion ids, sampling log-probs: None without vLLM); RLOO the completion ids alone.
        return completions if isinstance(self, RLOOTrainer) else (completions, None)


def shared_prefill(model, prompt_ids: list[list[int]], pad_id: int, device):
    """Left-padded input ids and attention mask for every row, and a key/value cache of all but each row's last
    prompt token, computed once per distinct prompt and copied to the rows that repeat it."""
    from trl.trainer.utils import pad

    unique, rows = distinct(prompt_ids)
    tensors = [torch.tensor(p) for p in unique]
    ids = pad(tensors, padding_value=pad_id, padding_side="left").to(device)
    mask = pad([torch.ones_like(t) for t in tensors], padding_value=0, padding_side="left").to(device)
    index = torch.tensor(rows, device=device)
    # Positions count real tokens only, as generate counts them (left padding shifts a row's prompt right).
    positions = (mask.cumsum(-1) - 1).clamp(min=0)
    cache = model(
        input_ids=ids[:, :-1], attention_mask=mask[:, :-1], position_ids=positions[:, :-1], use_cache=True
    ).past_key_values
    cache.reorder_cache(index)
    return ids[index], mask[index], cache


def generate_shared(
    model, prompt_ids: list[list[int]], pad_id: int, generation_config, eos_ids: list[int], device
) -> list[list[int]]:
    """Sample one completion per row of `prompt_ids`, prefilling each distinct prompt once. Returns each row's
    completion token ids up to and including its first EOS (as TRL does)."""
    ids, mask, cache = shared_prefill(model, prompt_ids, pad_id, device)
    # generate feeds only what the cache lacks: each row's last prompt token, then its samples.
    out = model.generate(input_ids=ids, attention_mask=mask, past_key_values=cache, generation_config=generation_config)
    completions = []
    for row in out[:, ids.size(1) :].tolist():
        ends = [i for i, t in enumerate(row) if t in eos_ids]
        completions.append(row[: ends[0] + 1] if ends else row)
    return completions
