"""With observation masking the model does not learn to predict observations: a short SFT run on repeated
synthetic trajectories (tiny random model) lowers action-token loss but not observation-token loss."""

from __future__ import annotations

import torch

from trainpipe.config import SftConfig
from trainpipe.models.chat import IGNORE
from trainpipe.training.agent import encode_turns
from trainpipe.training.losses import token_ce
from trainpipe.training.sft_data import build_examples

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


RECORDS = [trajectory(k) for k in range(4)]


def label_sets(tokenizer, rec):
    """(action labels, observation-only labels): observation tokens that no assistant turn ever emits, so
    shared format tokens (':' and '<|im_end|>', trained in every action) do not count as observations."""
    acts = encode_turns(tokenizer, rec["messages"])
    both = encode_turns(tokenizer, rec["messages"], train_observations=True)
    action_vocab = {lab for r in RECORDS for lab in encode_turns(tokenizer, r["messages"]).labels}
    obs = [lab if a == IGNORE and lab not in action_vocab else IGNORE for a, lab in zip(acts.labels, both.labels)]
    return acts.input_ids, acts.labels, obs


def mean_losses(model, tokenizer) -> tuple[float, float]:
    totals = [[0.0, 0], [0.0, 0]]
    model.eval()
    with torch.no_grad():
        for rec in RECORDS:
            ids, *labels = label_sets(tokenizer, rec)
            logits = model(input_ids=torch.tensor([ids])).logits
            for total, lab in zip(totals, labels):
                ell, mask = token_ce(logits, torch.tensor([lab]))
                total[0] += float(ell[mask].sum())
                total[1] += int(mask.sum())
    model.train()
    return totals[0][0] / totals[0][1], totals[1][0] / totals[1][1]


def train(tokenizer, tmp_path, mask: bool):
    from datasets import Dataset
    from trl import SFTConfig

    from trainpipe.models.load import build_tiny_random
    from trainpipe.training.sft_trainer import TrainpipeSFTTrainer, WeightedCollator

    sft = SftConfig()
    sft.agent.mask_observations = mask
    examples, _ = build_examples(RECORDS, tokenizer, sft, 256)
    model = build_tiny_random(tokenizer, 0)
    # Untied output head: with tied embeddings an observation token's output row also moves whenever its
    # input embedding is updated as context, which is not learning to predict it (bench/agent_masking.py
    # reports the tied figures too).
    model.config.tie_word_embeddings = False
    model.lm_head.weight = torch.nn.Parameter(model.lm_head.weight.detach().clone())
    before = mean_losses(model, tokenizer)
    args = SFTConfig(
        output_dir=str(tmp_path / str(mask)),
        max_steps=6,
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
        logging_steps=100,
    )
    trainer = TrainpipeSFTTrainer(
        model=model,
        args=args,
        train_dataset=Dataset.from_list(examples),
        processing_class=tokenizer,
        data_collator=WeightedCollator(pad_token_id=tokenizer.pad_token_id),
    )
    trainer.train()
    assert trainer.model.lm_head.weight.data_ptr() != trainer.model.model.embed_tokens.weight.data_ptr()
    return before, mean_losses(trainer.model, tokenizer)


def test_masked_observations_are_not_learned_while_actions_are(tokenizer, tmp_path, one_thread):
    _, _, obs = label_sets(tokenizer, RECORDS[0])
    assert tokenizer.decode([t for t in obs if t != IGNORE]) == "Observation crimson velvetObservation marble thunder"

    (act0, obs0), (act1, obs1) = train(tokenizer, tmp_path, mask=True)
    assert act1 < 0.6 * act0  # actions are learned (measured: 10.92 -> 4.87 nats)
    assert obs1 > obs0 - 0.1  # observations stay at (or above) the untrained loss (10.71 -> 10.93)
    # The control: trained on observations, the same run does learn them, so the measure can detect it.
    (_, obs0_c), (_, obs1_c) = train(tokenizer, tmp_path, mask=False)
    assert obs0_c == obs0 and obs1_c < 0.6 * obs0  # (10.71 -> 5.37)
