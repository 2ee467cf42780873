"""A thin TRL SFTTrainer subclass: NLIRG and per-token (step) weights as losses, an optional curriculum
sampler over the dataset's `difficulty` column, and a collator that pads weights."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import torch
from trl import SFTTrainer
from trl.trainer.sft_trainer import DataCollatorForLanguageModeling

from trainpipe.training import losses
from trainpipe.training.curriculum import CurriculumSampler

log = logging.getLogger("trainpipe.training")


@dataclass
class WeightedCollator(DataCollatorForLanguageModeling):
    """TRL's collator plus a `token_weights` tensor padded (or flattened) exactly like the labels."""

    def torch_call(self, examples: list[dict[str, Any]]) -> dict[str, Any]:
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
                    [torch.nn.functional.pad(w, (0, width - w.shape[0])) for w in weights])
        return out


class TrainpipeSFTTrainer(SFTTrainer):
    """`loss` is 'ce' (TRL's own fused path) or 'nlirg'; token weights, when present, weight the CE per token.

    `curriculum` ({"start_ratio", "warmup_epochs"}) orders training by the dataset's `difficulty` column.
    """

    def __init__(self, *args, loss: str = "ce", nlirg: dict | None = None, loss_mode: str = "sft",
                 curriculum: dict | None = None, **kwargs):
        self.curriculum = curriculum  # set first: nothing in the parent's __init__ may see it unset
        super().__init__(*args, **kwargs)
        self.trainpipe_loss, self.nlirg_consts, self.loss_mode = loss, nlirg or {}, loss_mode

    def _get_train_sampler(self, train_dataset=None):
        if self.curriculum is None:
            return super()._get_train_sampler(train_dataset)
        dataset = train_dataset if train_dataset is not None else self.train_dataset
        if "difficulty" not in dataset.column_names:  # removed as an unused column; rows keep their order
            dataset = self.train_dataset
        seed = self.args.data_seed if self.args.data_seed is not None else self.args.seed
        sampler = CurriculumSampler(list(dataset["difficulty"]), seed=seed, **self.curriculum)
        log.info("curriculum sampler: %d examples, easiest %d first, all by epoch %s (seed %d)", sampler.n,
                 sampler.pool_size(0, 0), self.curriculum["warmup_epochs"], seed)
        return sampler

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        weights = inputs.pop("token_weights", None)
        if self.trainpipe_loss == "ce" and weights is None:
            return super().compute_loss(model, inputs, return_outputs, num_items_in_batch)
        labels = inputs["labels"]
        outputs = model(**{k: v for k, v in inputs.items() if k != "labels"}, use_cache=False)
        if self.trainpipe_loss == "nlirg":
            loss = losses.nlirg_loss(outputs.logits, labels, self.loss_mode, num_items_in_batch, **self.nlirg_consts)
        else:
            loss = losses.weighted_ce(outputs.logits, labels, weights, num_items_in_batch)
        # Like Trainer.compute_loss: num_items_in_batch counts every rank's tokens and DDP averages gradients.
        if self.args.average_tokens_across_devices and num_items_in_batch is not None:
            loss = loss * self.accelerator.num_processes
        return (loss, outputs) if return_outputs else loss
