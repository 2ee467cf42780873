"""Reward model (rl.reward_model): preference pairs, TRL's RewardTrainer on a scalar head over the input model, and
held-out pair accuracy. Reads data_cache/collect/ (task prompts and gold solutions, or preference records); writes
models/rl/reward_model/, which the reward {name: model} (rl.rewards.ModelReward) scores with.

Verified pairs come from the model being trained: its sampled completions that the task verifier scores wrong are
the rejected answers (the errors RL must learn to avoid, not invented ones); the chosen answer is a sampled
completion the verifier scores correct, else the task's gold solution (a weak model rarely samples a correct one).
"""

from __future__ import annotations

import json
import logging
import random
import shutil
from pathlib import Path

import torch
from transformers import TrainerCallback

from trainpipe.config import RewardModelConfig, RlConfig
from trainpipe.errors import UserError
from trainpipe.models.chat import chat_ids, encode_prompt
from trainpipe.rl import data
from trainpipe.rl.rewards import Scorer
from trainpipe.tasks import get_task

log = logging.getLogger("trainpipe.rl")

FOLDER = "reward_model"  # under the rl stage's output
META = "reward_model.json"  # its fingerprint and metrics, in the copy checkpoints/rl/ keeps for resuming


def folder(out: Path) -> Path:
    return Path(out) / FOLDER


def check(rl: RlConfig) -> None:
    """Config problems raised before anything is loaded."""
    rm: RewardModelConfig = rl.reward_model
    uses = "model" in [r.name for r in rl.rewards]
    if uses and not rm.train:
        raise UserError(
            "rl.rewards: {name: model} scores with a learned reward model; set rl.reward_model.train=true "
            "to train one on preference pairs first"
        )
    if uses and rl.environment:
        raise UserError(
            f"rl.environment={rl.environment}: the reward model scores single-turn completions; score "
            "episodes with {name: env}"
        )
    if not rm.train:
        return
    if min(rm.samples, rm.max_pairs, rm.batch_size) < 1:
        raise UserError("rl.reward_model.samples, max_pairs and batch_size must each be ≥ 1")
    if rm.epochs <= 0 or rm.learning_rate <= 0:
        raise UserError(f"rl.reward_model.epochs ({rm.epochs}) and learning_rate ({rm.learning_rate}) must be > 0")
    if not 0 < rm.heldout < 1:
        raise UserError(f"rl.reward_model.heldout={rm.heldout}: the held-out share of pairs must lie in (0, 1)")


def train(rl: RlConfig, model, tokenizer, collect_dir: Path | None, io) -> dict:
    """Build the pairs, train the reward model into models/rl/reward_model/, and count its held-out wins."""
    from accelerate import PartialState

    if PartialState().num_processes > 1:
        raise UserError("rl.reward_model.train trains in one process (set launch.num_processes=1)")
    if (kept := _kept(io)) is not None:  # a rerun of a stopped run: its policy checkpoints were rewarded by this one
        shutil.copytree(Path(io.checkpoints) / FOLDER, folder(io.out), ignore=shutil.ignore_patterns(META))
        log.info("rl: reusing the reward model in %s", Path(io.checkpoints) / FOLDER)
        return kept
    rm = rl.reward_model
    pairs = (
        verified_pairs(rl, model, tokenizer, collect_dir)
        if rm.pairs == "verified"
        else preference_pairs(collect_dir, rm.max_pairs)
    )
    hint = (
        "; rl.reward_model.hard_negatives=false also rejects wrong samples that state no answer"
        if rm.pairs == "verified" and rm.hard_negatives
        else ""
    )
    fit, held = split(pairs, rm.heldout, rl.seed, hint)
    reward, loss = _fit(rl, tokenizer, io, fit)
    scorer = Scorer(reward, tokenizer)
    wins = sum(scorer(p["prompt"] + p["chosen"]) > scorer(p["prompt"] + p["rejected"]) for p in held)
    reward.save_pretrained(folder(io.out))
    tokenizer.save_pretrained(folder(io.out))
    log.info("rl: reward model prefers the chosen answer on %d of %d held-out pairs", wins, len(held))
    return {
        "pairs": rm.pairs,
        "train_pairs": len(fit),
        "heldout_pairs": len(held),
        "heldout_wins": int(wins),
        "train_loss": round(loss, 4),
        "gold_chosen": sum(p.get("gold", False) for p in pairs),
        "path": FOLDER,
    }


def _kept(io) -> dict | None:
    """The metrics of the reward model that checkpoints/rl/ keeps for this very config (fingerprint), if any."""
    meta = Path(io.checkpoints) / FOLDER / META
    if io.force or not meta.is_file():
        return None
    saved = json.loads(meta.read_text())
    return saved["metrics"] if saved.get("fingerprint") == io.fingerprint else None


class KeepForResume(TrainerCallback):
    """Copies the reward model into checkpoints/rl/reward_model/ once the policy's training begins (after the
    checkpoint folder is prepared, which clears it on a fresh start), so a rerun resumes with the same rewards."""

    def __init__(self, io, metrics: dict):
        self.io, self.metrics = io, metrics

    def on_train_begin(self, args, state, control, **kwargs):
        kept = Path(self.io.checkpoints) / FOLDER
        if _kept(self.io) is not None:
            return
        shutil.rmtree(kept, ignore_errors=True)
        shutil.copytree(folder(self.io.out), kept)
        meta = {"fingerprint": self.io.fingerprint, "metrics": self.metrics}
        (kept / META).write_text(json.dumps(meta), encoding="utf-8")  # last: marks the copy complete


def split(pairs: list[dict], heldout: float, seed: int, hint: str = "") -> tuple[list[dict], list[dict]]:
    """A seeded shuffle, then the last round(heldout · n) pairs (at least one) are held out."""
    if len(pairs) < 2:
        raise UserError(
            f"rl.reward_model: {len(pairs)} preference pair(s); training and held-out accuracy need "
            f"at least 2 (more prompts in data.sources, or raise rl.reward_model.samples{hint})"
        )
    order = list(pairs)
    random.Random(seed).shuffle(order)
    n_held = min(len(order) - 1, max(1, round(heldout * len(order))))
    return order[:-n_held], order[-n_held:]


def preference_pairs(collect_dir: Path | None, max_pairs: int) -> list[dict]:
    records = data.preference_dataset(collect_dir)
    return [
        {"prompt": list(r["prompt"]), "chosen": list(r["chosen"]), "rejected": list(r["rejected"])}
        for r in records.select(range(min(max_pairs, len(records))))
    ]


def verified_pairs(rl: RlConfig, model, tokenizer, collect_dir: Path | None) -> list[dict]:
    """One pair per prompt whose samples include a wrong answer (see the module docstring)."""
    prompts = data.task_prompts(collect_dir, rl.tasks)[: rl.reward_model.max_pairs]
    if not prompts:
        raise UserError(
            f"rl.reward_model.pairs=verified needs task prompts for rl.tasks={rl.tasks} from data.sources (kind: task)"
        )
    gold = data.gold_solutions(collect_dir)
    torch.manual_seed(rl.seed)
    pairs = []
    step = rl.reward_model.batch_size
    for start in range(0, len(prompts), step):
        batch = prompts[start : start + step]
        for row, samples in zip(batch, sample(model, tokenizer, [r["prompt"] for r in batch], rl)):
            if (pair := _pair(row, samples, gold.get(row["id"]), rl.reward_model.hard_negatives)) is not None:
                pairs.append(pair)
        done = min(start + step, len(prompts))
        if done % (step * 8) == 0 or done == len(prompts):
            log.info("rl: reward model pairs: %d/%d prompts sampled, %d pairs", done, len(prompts), len(pairs))
    log.info("rl: %d verified pairs from %d prompts", len(pairs), len(prompts))
    return pairs


def _pair(row: dict, samples: list[str], gold: str | None, hard_negatives: bool = True) -> dict | None:
    task = get_task(row["task"])
    scored = [(task.score(s, row["answer"]), s) for s in samples]
    # hard negatives: only a wrong answer stated in the task's format is rejected, so that the pair differs in
    # correctness rather than in whether an answer was given at all (a cut-off sample against a finished one)
    wrong = [s for score, s in scored if score <= 0 and (not hard_negatives or task.format_ok(s))]
    right = [s for score, s in scored if score >= 1]
    if not wrong:
        return None
    if not right and (gold is None or task.score(gold, row["answer"]) < 1):
        return None
    chosen = right[0] if right else gold
    return {
        "prompt": row["prompt"],
        "chosen": [{"role": "assistant", "content": chosen}],
        "rejected": [{"role": "assistant", "content": wrong[0]}],
        "gold": not right,
    }


def sample(model, tokenizer, prompts: list[list[dict]], rl: RlConfig) -> list[list[str]]:
    """rl.reward_model.samples completions per prompt, sampled as GRPO samples (trainpipe.rl.generation: each
    prompt prefilled once, finished rows leave the batch)."""
    from transformers import GenerationConfig

    from trainpipe.rl.generation import generate_shared

    n = rl.reward_model.samples
    rows = [encode_prompt(tokenizer, p) for p in prompts for _ in range(n)]
    eos = model.generation_config.eos_token_id
    eos_ids = sorted({tokenizer.eos_token_id, *(eos if isinstance(eos, list) else [eos])} - {None})
    config = GenerationConfig(
        do_sample=True,
        temperature=rl.temperature,
        max_new_tokens=rl.max_completion_length,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=eos_ids,
    )
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    with torch.no_grad():
        completions = generate_shared(model, rows, tokenizer.pad_token_id, config, eos_ids, device)
    model.train(was_training)
    texts = tokenizer.batch_decode(completions, skip_special_tokens=True)
    return [texts[i * n : (i + 1) * n] for i in range(len(prompts))]


def _fit(rl: RlConfig, tokenizer, io, pairs: list[dict]):
    """TRL's RewardTrainer (Bradley-Terry loss) on pre-tokenised pairs (the ids the Scorer will score): the trained
    model and its mean training loss."""
    from datasets import Dataset
    from transformers import AutoModelForSequenceClassification
    from trl import RewardConfig, RewardTrainer

    from trainpipe.models import hardware

    rm = rl.reward_model
    torch.manual_seed(rl.seed)  # the scalar head is initialised at random
    model = AutoModelForSequenceClassification.from_pretrained(
        str(io.model_in), num_labels=1, dtype=torch.float32, local_files_only=True, use_safetensors=True
    )
    model.config.pad_token_id = tokenizer.pad_token_id
    rows = [
        {
            "chosen_ids": chat_ids(tokenizer, p["prompt"] + p["chosen"]),
            "rejected_ids": chat_ids(tokenizer, p["prompt"] + p["rejected"]),
        }
        for p in pairs
    ]
    precision = hardware.training_precision(rl.precision)
    args = RewardConfig(
        output_dir=str(io.logs / FOLDER),
        num_train_epochs=rm.epochs,
        learning_rate=rm.learning_rate,
        per_device_train_batch_size=rm.batch_size,
        seed=rl.seed,
        data_seed=rl.seed,
        max_length=None,
        bf16=precision == "bf16",
        fp16=precision == "fp16",
        activation_checkpointing=False,
        save_strategy="no",
        report_to="none",
        logging_steps=rl.logging_steps,
        disable_tqdm=True,
        use_cpu=not torch.cuda.is_available(),
        dataloader_num_workers=0,
        lr_scheduler_type="linear",
        warmup_steps=0,
    )
    trainer = RewardTrainer(model=model, args=args, train_dataset=Dataset.from_list(rows), processing_class=tokenizer)
    loss = trainer.train().training_loss
    return trainer.model.eval(), float(loss)
