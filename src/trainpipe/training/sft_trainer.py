"""A thin TRL SFTTrainer subclass: NLIRG and per-token (step) weights as losses, an optional curriculum
sampler over the dataset's `difficulty` column, a collator that pads weights, and (CPU) a chunked LM-head CE."""

from __future__ import annotations

import functools
import logging
import types
from dataclasses import dataclass
from typing import Any

import torch
from trl import SFTTrainer
from trl.trainer.sft_trainer import DataCollatorForLanguageModeling

from trainpipe.errors import UserError
from trainpipe.models.chat import IGNORE
from trainpipe.training import losses
from trainpipe.training.curriculum import CurriculumSampler

log = logging.getLogger("trainpipe.training")


@dataclass
class WeightedCollator(DataCollatorForLanguageModeling):
    """TRL's collator plus a `token_weights` tensor padded (or flattened) exactly like the labels, and for
    replay (`replay` per example: 0 task, 1 replay, 2 replay trained by the KL term only) the flags and the
    unmasked `replay_labels`; the CE labels of KL-only rows are masked, so the CE's token count leaves them out."""

    def torch_call(self, examples: list[dict[str, Any]]) -> dict[str, Any]:
        replay = torch.tensor([e.pop("replay") for e in examples]) if "replay" in examples[0] else None
        has_weights = "token_weights" in examples[0]
        weights = [torch.tensor(e.pop("token_weights"), dtype=torch.float32) for e in examples] if has_weights else None
        out = super().torch_call(examples)
        if weights is not None:
            if self.padding_free:
                flat = torch.cat(weights)[None]
                out["token_weights"] = torch.nn.functional.pad(flat, (0, out["labels"].shape[1] - flat.shape[1]))
            else:
                width = out["labels"].shape[1]
                out["token_weights"] = torch.stack(
                    [torch.nn.functional.pad(w, (0, width - w.shape[0])) for w in weights]
                )
        if replay is not None:
            out["replay"], out["replay_labels"] = replay, out["labels"].clone()
            out["labels"][replay == 2] = IGNORE
        return out


# Logit elements per chunk of the chunked CE (2^24 fp32 = 64 MiB): a few hundred rows for a 50k vocabulary.
CE_CHUNK_ELEMENTS = 1 << 24


class ChunkedLinearCE(torch.autograd.Function):
    """Summed cross-entropy of `hidden @ weight.T` against `targets`, a block of rows at a time, so the [N, V]
    logits never exist whole. The softmax is at hand in the forward, so the gradients are formed there and
    backward only scales them: the LM head costs 2 GEMMs forward and 1-2 backward, with no recomputation."""

    @staticmethod
    def forward(ctx, hidden, weight, targets, rows):
        grad_h = torch.empty_like(hidden)
        grad_w = torch.zeros_like(weight, dtype=torch.float32) if ctx.needs_input_grad[1] else None
        total = hidden.new_zeros((), dtype=torch.float32)
        correct = torch.zeros((), dtype=torch.long, device=hidden.device)
        # Autocast caches its casts of trainable weights only: a frozen head (LoRA; tied to the frozen
        # embedding) would be re-cast for each of a chunk's two GEMMs. Cast it once for the whole batch.
        device = hidden.device.type
        w = weight.to(torch.get_autocast_dtype(device)) if torch.is_autocast_enabled(device) else weight
        for start in range(0, hidden.shape[0], rows):
            h, y = hidden[start : start + rows], targets[start : start + rows]
            probs = (h @ w.t()).float()  # autocast, when on, runs this GEMM in bf16
            top = probs.amax(-1, keepdim=True)
            target = probs.gather(-1, y[:, None])
            correct += (target >= top).sum()
            probs.sub_(top).exp_()
            norm = probs.sum(-1, keepdim=True)
            total += (norm.log() + top - target).sum()
            probs.div_(norm)
            probs[torch.arange(len(y), device=y.device), y] -= 1  # d(sum CE)/d(logits) = softmax - onehot
            g = probs.to(h.dtype)
            grad_h[start : start + rows] = g @ w
            if grad_w is not None:
                grad_w += g.t() @ h
        ctx.save_for_backward(grad_h, grad_w if grad_w is not None else hidden.new_empty(0))
        ctx.has_grad_w, ctx.weight_dtype = grad_w is not None, weight.dtype
        ctx.mark_non_differentiable(correct)
        return total, correct

    @staticmethod
    def backward(ctx, grad_total, _grad_correct):
        grad_h, grad_w = ctx.saved_tensors
        gw = (grad_w * grad_total).to(ctx.weight_dtype) if ctx.has_grad_w else None
        return grad_h * grad_total, gw, None, None


def supports_chunked_ce(model) -> bool:
    """Plain LM heads only: no bias, no logit scaling or soft-capping (those models keep TRL's fused head)."""
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    text = base.config.get_text_config()
    head = base.get_output_embeddings()
    scaled = any(
        getattr(text, k, None) is not None
        for k in ("final_logit_softcapping", "logit_scale", "output_multiplier", "lm_head_multiplier", "logits_scaling")
    )
    return head is not None and getattr(head, "bias", None) is None and not scaled


def install_chunked_ce(model) -> None:
    """Let `model(..., trainpipe_ce=True, labels=...)` return {loss_sum, n_tokens, n_correct} computed by
    ChunkedLinearCE on labelled positions only. The call still goes through every wrapper's forward (DDP's
    gradient hooks, PEFT), as TRL's own fused head does; other calls reach the previous forward unchanged."""
    previous = model.forward

    @functools.wraps(type(model).forward)
    def forward(self, *args, trainpipe_ce=False, labels=None, shift_labels=None, num_items_in_batch=None, **kwargs):
        if not trainpipe_ce:
            extra = {
                k: v
                for k, v in (
                    ("labels", labels),
                    ("shift_labels", shift_labels),
                    ("num_items_in_batch", num_items_in_batch),
                )
                if v is not None
            }
            return previous(*args, **kwargs, **extra)
        kwargs["use_cache"] = False
        hidden = self.base_model(*args, **kwargs).last_hidden_state
        if shift_labels is None:
            hidden, targets = hidden[:, :-1], labels[:, 1:]
        else:
            targets = shift_labels
        mask = targets != IGNORE
        weight = self.get_output_embeddings().weight
        rows = max(16, CE_CHUNK_ELEMENTS // weight.shape[0])
        total, correct = ChunkedLinearCE.apply(hidden[mask], weight, targets[mask], rows)
        return {"loss_sum": total, "n_tokens": mask.sum(), "n_correct": correct}

    model.forward = types.MethodType(forward, model)


class TrainpipeSFTTrainer(SFTTrainer):
    """`loss` is 'ce', 'nlirg' or 'dft' (TRL's own, through args.loss_type); token weights weight the CE per token.

    `ce_kernel` picks how plain CE meets the LM head: 'chunked' (ChunkedLinearCE on labelled positions only;
    TRL's fused head scores every position on a CPU) or 'trl' (TRL's fused head; Triton on GPUs).
    `curriculum` ({"start_ratio", "warmup_epochs"}) orders training by the dataset's `difficulty` column.
    """

    def __init__(
        self,
        *args,
        loss: str = "ce",
        nlirg: dict | None = None,
        loss_mode: str = "sft",
        curriculum: dict | None = None,
        ce_kernel: str = "auto",
        replay_kl: float = 0.0,
        **kwargs,
    ):
        self.curriculum = curriculum  # set first: nothing in the parent's __init__ may see it unset
        self.replay_kl = replay_kl
        super().__init__(*args, **kwargs)
        self.trainpipe_loss, self.nlirg_consts, self.loss_mode = loss, nlirg or {}, loss_mode
        self.ce_kernel = self._resolve_ce_kernel(ce_kernel)
        if self.ce_kernel == "chunked":
            install_chunked_ce(self.model.get_base_model() if hasattr(self.model, "get_base_model") else self.model)

    def _resolve_ce_kernel(self, choice: str) -> str:
        from accelerate.utils import DistributedType

        if choice == "auto":
            choice = "trl" if torch.cuda.is_available() else "chunked"
        sharded = self.accelerator.distributed_type in (DistributedType.FSDP, DistributedType.DEEPSPEED)
        if choice == "chunked" and (sharded or not supports_chunked_ce(self.model)):
            log.info("chunked CE needs an unsharded, plain LM head; using TRL's fused head")
            return "trl"
        return choice

    def _get_train_sampler(self, train_dataset=None):
        if self.curriculum is None:
            return super()._get_train_sampler(train_dataset)
        dataset = train_dataset if train_dataset is not None else self.train_dataset
        if "difficulty" not in dataset.column_names:  # removed as an unused column; rows keep their order
            dataset = self.train_dataset
        seed = self.args.data_seed if self.args.data_seed is not None else self.args.seed
        sampler = CurriculumSampler(list(dataset["difficulty"]), seed=seed, **self.curriculum)
        log.info(
            "curriculum sampler: %d examples, easiest %d first, all by epoch %s (seed %d)",
            sampler.n,
            sampler.pool_size(0, 0),
            self.curriculum["warmup_epochs"],
            seed,
        )
        return sampler

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        replay, replay_labels = inputs.pop("replay", None), inputs.pop("replay_labels", None)
        rows = {k: inputs[k] for k in ("input_ids", "attention_mask") if k in inputs}  # before TRL pops
        rows["labels"] = replay_labels
        kl_only = replay is not None and model.training and not return_outputs and bool((replay == 2).any())
        if kl_only:  # rows with no CE labels: the body's forward for them would be wasted on the task loss
            keep = replay != 2
            inputs = {k: v[keep] if torch.is_tensor(v) and v.shape[:1] == keep.shape else v for k, v in inputs.items()}
        loss = (
            self._task_loss(model, inputs, return_outputs, num_items_in_batch)
            if not kl_only or keep.any()
            else torch.zeros((), device=replay.device)
        )
        if replay is None or not self.replay_kl or not model.training or not replay.any():
            return loss
        kl = self._replay_kl(model, rows, replay.bool())
        # With num_items_in_batch the Trainer leaves accumulation to the loss; a per-micro-batch mean is averaged.
        steps = self.current_gradient_accumulation_steps if num_items_in_batch is not None else 1
        self._metrics["train"]["replay_kl"].append(kl.item())
        extra = self.replay_kl * kl / steps
        return (loss[0] + extra, loss[1]) if return_outputs else loss + extra

    def _replay_kl(self, model, inputs, rows):
        """KL(start ‖ model) on the replay rows' answer tokens; the start model is the model with its LoRA off."""
        sub = {k: inputs[k][rows] for k in ("input_ids", "attention_mask") if k in inputs}
        logits = model(**sub, use_cache=False).logits
        with torch.no_grad(), self.accelerator.unwrap_model(model).disable_adapter():
            ref = model(**sub, use_cache=False).logits
        return losses.kl_to_reference(logits, ref, inputs["labels"][rows])

    def _task_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        weights = inputs.pop("token_weights", None)
        if self.trainpipe_loss == "dft":
            if weights is not None:
                raise UserError("loss dft takes no token weights (step weights or score weights); use loss ce")
            return super().compute_loss(model, inputs, return_outputs, num_items_in_batch)  # args.loss_type="dft"
        if self.trainpipe_loss == "ce" and weights is None:
            if self.ce_kernel == "chunked" and not return_outputs and model.training:
                return self._chunked_ce_loss(model, inputs, num_items_in_batch)
            return super().compute_loss(model, inputs, return_outputs, num_items_in_batch)
        labels = inputs["labels"]
        outputs = model(**{k: v for k, v in inputs.items() if k != "labels"}, use_cache=False)
        if self.trainpipe_loss == "nlirg":
            loss = losses.nlirg_loss(
                outputs.logits, labels, self.loss_mode, num_items_in_batch, weights, **self.nlirg_consts
            )
        else:
            loss = losses.weighted_ce(outputs.logits, labels, weights, num_items_in_batch)
        # Like Trainer.compute_loss: num_items_in_batch counts every rank's tokens and DDP averages gradients.
        if self.args.average_tokens_across_devices and num_items_in_batch is not None:
            loss = loss * self.accelerator.num_processes
        return (loss, outputs) if return_outputs else loss

    def _chunked_ce_loss(self, model, inputs, num_items_in_batch):
        out = model(**inputs, trainpipe_ce=True)
        # Normalised like TRL: by every rank's labelled tokens across the accumulation window, and times the
        # number of ranks because DDP averages gradients; a window without labels yields a finite zero.
        denom = out["n_tokens"] if num_items_in_batch is None else num_items_in_batch
        loss = out["loss_sum"] / torch.as_tensor(denom).clamp(min=1)
        if self.args.average_tokens_across_devices and num_items_in_batch is not None:
            loss = loss * self.accelerator.num_processes
        n = self.accelerator.gather_for_metrics(out["n_tokens"].detach()).sum()
        correct = self.accelerator.gather_for_metrics(out["n_correct"]).sum()
        self._metrics["train"]["mean_token_accuracy"].append((correct / n).item() if n > 0 else 0.0)
        return loss
