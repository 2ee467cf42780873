"""Does observation masking stop the model from learning observations? Trains the tiny random model on
repeated synthetic trajectories (masked vs unmasked, tied vs untied head) and prints per-token losses.

Usage: python bench/agent_masking.py [--steps 20] [--threads 1]
"""

from __future__ import annotations

import argparse
import tempfile
import time

import torch
from datasets import Dataset
from trl import SFTConfig

from trainpipe.config import SftConfig
from trainpipe.models.chat import IGNORE
from trainpipe.models.load import build_tiny_random, embedded_tokenizer
from trainpipe.training.agent import encode_turns
from trainpipe.training.losses import token_ce
from trainpipe.training.sft_data import build_examples
from trainpipe.training.sft_trainer import TrainpipeSFTTrainer, WeightedCollator

ACTIONS = ["open door", "take key", "go north", "read map"]
OBSERVATIONS = ["crimson velvet", "marble thunder", "silver harbor", "amber meadow"]


def trajectory(k: int) -> dict:
    msgs = [{"role": "system", "content": "Agent."}, {"role": "user", "content": f"Room {k}"}]
    for s in range(2):
        msgs += [
            {"role": "assistant", "content": f"Action: {ACTIONS[(k + s) % 4]}"},
            {"role": "user", "content": f"Observation: {OBSERVATIONS[(3 * k + s) % 4]}"},
        ]
    return {"messages": msgs + [{"role": "assistant", "content": "Action: finish"}]}


def label_sets(tok, records) -> list[tuple[list[int], dict[str, list[int]]]]:
    """Per record: input ids and labels for action tokens, all observation-turn tokens, and observation-only
    tokens (ids no assistant turn emits, i.e. without the shared ':' and '<|im_end|>')."""
    action_vocab = {lab for r in records for lab in encode_turns(tok, r["messages"]).labels}
    out = []
    for rec in records:
        acts = encode_turns(tok, rec["messages"])
        both = encode_turns(tok, rec["messages"], train_observations=True)
        obs = [lab if a == IGNORE else IGNORE for a, lab in zip(acts.labels, both.labels)]
        only = [lab if lab not in action_vocab else IGNORE for lab in obs]
        out.append((acts.input_ids, {"action": acts.labels, "observation": obs, "observation-only": only}))
    return out


def mean_losses(model, sets) -> dict[str, float]:
    sums: dict[str, list[float]] = {}
    model.eval()
    with torch.no_grad():
        for ids, labels in sets:
            logits = model(input_ids=torch.tensor([ids])).logits
            for name, lab in labels.items():
                ell, mask = token_ce(logits, torch.tensor([lab]))
                acc = sums.setdefault(name, [0.0, 0])
                acc[0] += float(ell[mask].sum())
                acc[1] += int(mask.sum())
    model.train()
    return {k: s / n for k, (s, n) in sums.items()}


def run(tok, records, mask: bool, tied: bool, steps: int) -> tuple[dict, dict, float]:
    sft = SftConfig()
    sft.agent.mask_observations = mask
    examples, _ = build_examples(records, tok, sft, 256)
    model = build_tiny_random(tok, 0)
    if not tied:
        model.config.tie_word_embeddings = False
        model.lm_head.weight = torch.nn.Parameter(model.lm_head.weight.detach().clone())
    sets = label_sets(tok, records)
    before = mean_losses(model, sets)
    with tempfile.TemporaryDirectory() as out:
        args = SFTConfig(
            output_dir=out,
            max_steps=steps,
            per_device_train_batch_size=4,
            learning_rate=1e-2,
            lr_scheduler_type="constant",
            warmup_steps=0,
            save_strategy="no",
            report_to=[],
            use_cpu=True,
            max_length=None,
            remove_unused_columns=False,
            seed=0,
            disable_tqdm=True,
            logging_steps=10_000,
        )
        trainer = TrainpipeSFTTrainer(
            model=model,
            args=args,
            train_dataset=Dataset.from_list(examples),
            processing_class=tok,
            data_collator=WeightedCollator(pad_token_id=tok.pad_token_id),
        )
        started = time.time()
        trainer.train()
        seconds = time.time() - started
    return before, mean_losses(trainer.model, sets), seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--threads", type=int, default=1)
    opts = parser.parse_args()
    torch.set_num_threads(opts.threads)
    tok = embedded_tokenizer()
    records = [trajectory(k) for k in range(4)]
    print("| head | observations | action loss | observation loss | observation-only loss | train s |")
    print("|---|---|---|---|---|---|")
    for tied in (False, True):
        for mask in (True, False):
            before, after, seconds = run(tok, records, mask, tied, opts.steps)
            cells = [f"{before[k]:.2f} → {after[k]:.2f}" for k in ("action", "observation", "observation-only")]
            print(
                f"| {'tied' if tied else 'untied'} | {'masked' if mask else 'trained'} | "
                + " | ".join(cells)
                + f" | {seconds:.1f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
