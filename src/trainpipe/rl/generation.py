"""Group generation for the online trainers (GRPO, RLOO) when they generate with transformers (no vLLM).

Each prompt of a step is sampled num_generations times, and TRL hands `generate` every copy: the prompt is
prefilled once per copy. Here each distinct prompt is prefilled once, its key/value cache is copied to the rows
that repeat it, and `generate` continues from there: the same distribution per row, and the prefill (most of
the generation time with short completions: 8 copies of 70-token prompts against 32 sampled tokens) shrinks by
the group size. Anything unusual (vLLM, continuous batching, images, tools, active dropout, a model without a
cache) keeps TRL's own path.

Decoding is a loop of our own rather than `generate` where the sampling settings are plain (temperature, top-k,
top-p): a row that has emitted EOS leaves the batch (its cache rows are dropped), and a token is drawn by
inverting the cumulative distribution with one uniform number per row instead of `multinomial`'s exponential
noise over the whole vocabulary (70 ms per step for 64 rows of a 49k vocabulary on a 2-core CPU). Where the
trainer computes in bf16 autocast, decoding runs on a bf16 copy of the policy with the LoRA update merged in,
refreshed before each generation: no per-token casts and no adapter matmuls.
"""

from __future__ import annotations

import contextlib

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
        # Sampling runs in the precision the loss computes its log-probs in (bf16 autocast where native), so the
        # sampled tokens come from the distribution being trained, at the speed of the native kernels.
        with self.accelerator.autocast():
            if not self._shared_prefill_applies(prompt_ids, images, multimodal_fields):
                return super()._generate_single_turn(prompt_ids, images, multimodal_fields, *args, **kwargs)
            return self._generate_shared_prefill(prompt_ids)

    def _decoding_model(self, model):
        """The model to decode with: on a CPU where `decode` applies, a copy in the trainer's compute precision
        (bf16 where it trains under bf16 autocast) with the current LoRA update merged in (DecodeCopy), so no
        decoding step pays for casts or for the adapters' small matmuls; else `model` itself. An fp32 model
        without LoRA gains nothing from a copy, and none is made where it would take much of the memory."""
        if not (decodable(self.generation_config) and self.accelerator.device.type == "cpu"):
            return model
        if getattr(self, "_decode_copy", None) is None:
            dtype = torch.bfloat16 if self.args.bf16 else torch.float32
            from peft import PeftModel

            if (dtype == torch.float32 and not isinstance(model, PeftModel)) or not _copy_fits(model, dtype):
                return model
            self._decode_copy = DecodeCopy(model, dtype)
        return self._decode_copy.refresh(model)

    @contextlib.contextmanager
    def _sampling_models(self):
        """(policy, decoder) for sampling outside TRL's generate: the policy unwrapped for generation (TRL's
        unwrap_model_for_generation), and the model to decode with (`_decoding_model`), under no_grad."""
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
            yield model, self._decoding_model(model)

    def _generate_shared_prefill(self, prompt_ids):
        with self._sampling_models() as (_, model):
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
    if decodable(generation_config):
        return decode(model, ids, mask, cache, generation_config, eos_ids)
    # generate feeds only what the cache lacks: each row's last prompt token, then its samples.
    out = model.generate(input_ids=ids, attention_mask=mask, past_key_values=cache, generation_config=generation_config)
    completions = []
    for row in out[:, ids.size(1) :].tolist():
        ends = [i for i, t in enumerate(row) if t in eos_ids]
        completions.append(row[: ends[0] + 1] if ends else row)
    return completions


# The generation settings `decode` implements; any other setting that differs from transformers' default
# (penalties, min-p, beams, forced or suppressed tokens, stop strings ...) is left to `generate`.
DECODE_SETTINGS = {
    "max_new_tokens",
    "do_sample",
    "temperature",
    "top_k",
    "top_p",
    "pad_token_id",
    "bos_token_id",
    "eos_token_id",
    "disable_compile",
    "cache_implementation",
    "transformers_version",
}
NEUTRAL = {"repetition_penalty": 1.0, "min_p": None, "num_beams": 1, "cache_implementation": None}


def decodable(config) -> bool:
    """Whether `decode` implements every setting of this generation config: greedy, or sampling shaped by
    temperature, top-k and top-p alone."""
    changed = config.to_diff_dict()
    for key, value in NEUTRAL.items():
        if changed.get(key, value) in (value, None):
            changed.pop(key, None)
    return config.max_new_tokens is not None and set(changed) <= DECODE_SETTINGS - set(NEUTRAL)


def sample_tokens(logits: torch.Tensor, config) -> torch.Tensor:
    """One token per row from `logits` (rows × vocab) under `config`: the argmax when it does not sample, else a
    draw from softmax(logits / temperature) restricted by top-k and top-p (transformers' own warpers), taken by
    inverting the cumulative distribution at a uniform number."""
    from transformers.generation.logits_process import TemperatureLogitsWarper, TopKLogitsWarper, TopPLogitsWarper

    scores = logits.float()
    if not config.do_sample:
        return scores.argmax(-1)
    if config.temperature is not None and config.temperature != 1.0:
        scores = TemperatureLogitsWarper(config.temperature)(None, scores)
    if config.top_k:
        scores = TopKLogitsWarper(config.top_k)(None, scores)
    if config.top_p is not None and config.top_p < 1.0:
        scores = TopPLogitsWarper(config.top_p)(None, scores)
    cdf = torch.softmax(scores, dim=-1).cumsum(-1)
    u = torch.rand(cdf.size(0), 1, device=cdf.device, dtype=cdf.dtype) * cdf[:, -1:]
    return torch.searchsorted(cdf, u).squeeze(-1).clamp(max=cdf.size(-1) - 1)


def decode(model, ids: torch.Tensor, mask: torch.Tensor, cache, config, eos_ids: list[int]) -> list[list[int]]:
    """Continue each left-padded row of `ids` (its cache holding all but the last token) for up to
    config.max_new_tokens tokens; a row stops after its first EOS and leaves the batch. Returns each row's
    completion ids, EOS included."""
    eos = torch.tensor(eos_ids, device=ids.device)
    rows = torch.arange(ids.size(0), device=ids.device)
    completions: list[list[int]] = [[] for _ in range(ids.size(0))]
    tokens, positions = ids[:, -1:], mask.sum(-1, keepdim=True) - 1
    for step in range(config.max_new_tokens):
        logits = model(
            input_ids=tokens, attention_mask=mask, position_ids=positions, past_key_values=cache, use_cache=True
        ).logits[:, -1]
        chosen = sample_tokens(logits, config)
        for row, token in zip(rows.tolist(), chosen.tolist()):
            completions[row].append(token)
        going = ~torch.isin(chosen, eos)
        if step + 1 == config.max_new_tokens or not going.any():
            break
        if not going.all():  # finished rows leave the batch, their cache rows with them
            keep = going.nonzero().squeeze(1)
            cache.reorder_cache(keep)
            rows, mask, positions, chosen = rows[keep], mask[keep], positions[keep], chosen[keep]
        mask = torch.cat([mask, mask.new_ones(mask.size(0), 1)], dim=1)
        tokens, positions = chosen[:, None], positions + 1
    return completions


def _copy_fits(model, dtype: torch.dtype, share: float = 0.25) -> bool:
    """Whether a copy of `model` in `dtype` takes at most `share` of this machine's physical memory."""
    import os

    size = sum(p.numel() for p in model.parameters()) * torch.finfo(dtype).bits // 8
    try:
        memory = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):  # no sysconf (Windows): only small models get a copy
        memory = 8 << 30
    return size <= share * memory


class DecodeCopy:
    """A copy of the policy in `dtype` for decoding, with the LoRA update merged into its weights; `refresh`
    brings it up to date with the policy before each generation (LoRA: W + ΔW per adapted layer, else every
    trainable weight)."""

    def __init__(self, policy, dtype: torch.dtype):
        import copy

        from peft import PeftModel

        self.dtype = dtype
        self.lora = isinstance(policy, PeftModel)
        source = policy.get_base_model() if self.lora else policy
        with torch.no_grad():
            model = copy.deepcopy(source)
            if self.lora:  # the copy keeps PEFT's wrapped layers: unwrap them into plain ones
                from peft.tuners.tuners_utils import BaseTunerLayer

                for name, module in list(model.named_modules()):
                    if isinstance(module, BaseTunerLayer):
                        parent, _, child = name.rpartition(".")
                        setattr(model.get_submodule(parent) if parent else model, child, module.get_base_layer())
            for module in model.modules():  # wrappers set on the instance (accelerate's autocast) call the original
                module.__dict__.pop("forward", None)
                module.__dict__.pop("_original_forward", None)
        self.model = model.to(dtype).eval()
        for p in self.model.parameters():
            p.requires_grad_(False)

    @torch.no_grad()
    def refresh(self, policy):
        from peft.tuners.lora import LoraLayer

        if not self.lora:
            for mine, theirs in zip(self.model.parameters(), policy.parameters()):
                if theirs.requires_grad:
                    mine.copy_(theirs)
            return self.model
        base = policy.get_base_model()
        originals = getattr(base, "_trainpipe_frozen_originals", None) or getattr(
            policy, "_trainpipe_frozen_originals", {}
        )
        for name, module in base.named_modules():
            if not isinstance(module, LoraLayer):
                continue
            layer = module.get_base_layer()
            weight = originals.get(layer, layer.weight).float()
            for adapter in module.active_adapters:
                if adapter in module.lora_A:
                    weight = weight + module.get_delta_weight(adapter).float()
            self.model.get_submodule(name).weight.copy_(weight)
        return self.model
