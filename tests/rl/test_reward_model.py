"""The reward model (rl.reward_model): pairs built from verifier scores, its held-out split, TRL's RewardTrainer on
tiny-random, the `model` reward component against a direct forward pass, and the config checks."""

import subprocess
import sys

import pytest
import torch

from trainpipe.config import RewardConfig, RewardModelConfig, RlConfig
from trainpipe.errors import UserError
from trainpipe.rl import reward_model
from trainpipe.rl.rewards import ModelReward, build_rewards

REPO = __import__("pathlib").Path(__file__).resolve().parents[2]
PROMPT = [{"role": "user", "content": "What is 2 + 3?"}]
ROW = {"id": "x", "prompt": PROMPT, "task": "arithmetic", "answer": "5"}


@pytest.fixture(autouse=True)
def _single_thread(one_thread):
    yield


def tiny_reward_model(tokenizer, folder, seed=0):
    from transformers import LlamaConfig, LlamaForSequenceClassification

    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=1,
        num_attention_heads=2,
        num_key_value_heads=1,
        num_labels=1,
        pad_token_id=tokenizer.pad_token_id,
    )
    torch.manual_seed(seed)
    model = LlamaForSequenceClassification(config)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return model.eval()


def test_a_pair_rejects_a_wrong_sample_and_chooses_a_correct_one_else_the_verified_gold():
    right, wrong, gold = "2 + 3 = 5\nAnswer: 5", "Answer: 6", "Answer: 5"
    pair = reward_model._pair(ROW, [wrong, right, "Answer: 7"], gold)
    assert pair == {
        "prompt": PROMPT,
        "chosen": [{"role": "assistant", "content": right}],
        "rejected": [{"role": "assistant", "content": wrong}],
        "gold": False,
    }
    assert reward_model._pair(ROW, [wrong], gold)["chosen"][0]["content"] == gold
    assert reward_model._pair(ROW, [wrong], gold)["gold"] is True
    assert reward_model._pair(ROW, [right, right], gold) is None  # nothing wrong to reject
    assert reward_model._pair(ROW, [wrong], None) is None  # no correct answer at all
    assert reward_model._pair(ROW, [wrong], "Answer: 4") is None  # a gold that the verifier rejects is not used
    # hard negatives: a wrong sample that states no answer line is no rejected answer, unless they are off
    cut_off = "2 + 3 = 6, so the"
    assert reward_model._pair(ROW, [cut_off, right], gold) is None
    assert reward_model._pair(ROW, [cut_off, wrong, right], gold)["rejected"][0]["content"] == wrong
    assert reward_model._pair(ROW, [cut_off, right], gold, hard_negatives=False)["rejected"][0]["content"] == cut_off


def test_samples_come_per_prompt_from_the_shared_prefill_sampler(tokenizer):
    """At a temperature near 0 every sample is the greedy answer, the same text `generate` gives for that prompt
    alone (prompts of different lengths padded and grouped right); at temperature 1 the samples differ."""
    from trainpipe.models.chat import encode_prompt
    from trainpipe.models.load import build_tiny_random

    model = build_tiny_random(tokenizer, seed=0).eval()
    prompts = [PROMPT, [{"role": "user", "content": "Name a colour often used for the sky at noon, please."}]]
    rl = RlConfig(temperature=1e-6, max_completion_length=12, reward_model=RewardModelConfig(train=True, samples=3))
    got = reward_model.sample(model, tokenizer, prompts, rl)
    assert [len(s) for s in got] == [3, 3]
    for prompt, samples in zip(prompts, got):
        ids = torch.tensor([encode_prompt(tokenizer, prompt)])
        with torch.no_grad():
            out = model.generate(input_ids=ids, do_sample=False, max_new_tokens=12, pad_token_id=tokenizer.pad_token_id)
        greedy = tokenizer.decode(out[0, ids.size(1) :], skip_special_tokens=True)
        assert samples == [greedy] * 3
    rl.temperature = 1.0  # each row draws for itself
    assert all(len(set(samples)) == 3 for samples in reward_model.sample(model, tokenizer, prompts, rl))


def test_split_holds_out_a_seeded_share_and_needs_two_pairs():
    pairs = [{"i": i} for i in range(10)]
    fit, held = reward_model.split(pairs, 0.2, seed=0)
    assert len(fit) == 8 and len(held) == 2 and sorted(p["i"] for p in fit + held) == list(range(10))
    assert (fit, held) == reward_model.split(pairs, 0.2, seed=0) != reward_model.split(pairs, 0.2, seed=1)
    assert [len(x) for x in reward_model.split(pairs[:2], 0.9, 0)] == [1, 1]
    with pytest.raises(UserError, match="1 preference pair"):
        reward_model.split(pairs[:1], 0.2, 0)
    with pytest.raises(UserError, match="samples; rl.reward_model.hard_negatives=false also"):
        reward_model.split([], 0.2, 0, "; rl.reward_model.hard_negatives=false also rejects ...")


def test_model_reward_is_the_reward_model_output_on_prompt_plus_completion(tokenizer, tmp_path):
    model = tiny_reward_model(tokenizer, tmp_path)
    rl = RlConfig(rewards=[RewardConfig("model")], reward_model=RewardModelConfig(train=True))
    (func,), weights = build_rewards(rl, tmp_path)
    assert isinstance(func, ModelReward) and func.__name__ == "model" and weights == [1.0]
    completions = [[{"role": "assistant", "content": "Answer: 5"}], "Answer: 6"]
    got = func([PROMPT, PROMPT], completions, task=["arithmetic"] * 2)
    expected = []
    for text in ("Answer: 5", "Answer: 6"):
        rendered = tokenizer.apply_chat_template(PROMPT + [{"role": "assistant", "content": text}], tokenize=False)
        ids = torch.tensor([tokenizer(rendered, add_special_tokens=False)["input_ids"]])
        with torch.no_grad():
            expected.append(float(model(input_ids=ids).logits[0, 0]))
    assert got == expected and got[0] != got[1]


def test_reward_trainer_fits_pairs_it_was_given(tokenizer, tmp_path):
    from types import SimpleNamespace

    from trainpipe.rl.rewards import Scorer

    base = tmp_path / "base"
    untrained = Scorer(tiny_reward_model(tokenizer, base), tokenizer)
    # The chosen answer is the refusal: the untrained model happens to score it below every right answer.
    pairs = [
        {
            "prompt": [{"role": "user", "content": f"What is {i} + 1?"}],
            "chosen": [{"role": "assistant", "content": "no idea, sorry"}],
            "rejected": [{"role": "assistant", "content": f"Answer: {i + 1}"}],
        }
        for i in range(8)
    ]
    rl = RlConfig(
        seed=0, logging_steps=1, reward_model=RewardModelConfig(train=True, epochs=4, learning_rate=1e-3, batch_size=4)
    )
    io = SimpleNamespace(model_in=base, logs=tmp_path / "logs")

    def margins(scorer):
        return [scorer(p["prompt"] + p["chosen"]) - scorer(p["prompt"] + p["rejected"]) for p in pairs]

    assert all(m < 0 for m in margins(untrained))
    model, loss = reward_model._fit(rl, tokenizer, io, pairs)
    assert loss < 0.69  # below log 2, the Bradley-Terry loss of a model that cannot tell the answers apart
    assert all(m > 0 for m in margins(Scorer(model, tokenizer)))  # 4 epochs of 2 steps at 1e-3


@pytest.mark.parametrize(
    "rl, message",
    [
        (RlConfig(rewards=[RewardConfig("model")]), "set rl.reward_model.train=true"),
        (
            RlConfig(
                rewards=[RewardConfig("model"), RewardConfig("env")],
                environment="grid",
                reward_model=RewardModelConfig(train=True),
            ),
            "scores single-turn completions",
        ),
        (RlConfig(reward_model=RewardModelConfig(train=True, heldout=1.0)), "heldout=1.0"),
        (RlConfig(reward_model=RewardModelConfig(train=True, epochs=0)), "epochs (0) and learning_rate"),
        (RlConfig(reward_model=RewardModelConfig(train=True, samples=0)), "samples, max_pairs and batch_size"),
    ],
)
def test_bad_reward_model_configs_are_refused(rl, message):
    with pytest.raises(UserError, match=message.replace("(", r"\(").replace(")", r"\)")):
        reward_model.check(rl)


def test_cli_refuses_the_model_reward_without_a_reward_model_with_exit_2(smoke_cfg, tmp_path):
    from trainpipe.pipeline import run_stage

    run_stage(smoke_cfg("sft.enabled=false"), "collect")
    proc = subprocess.run(
        [
            sys.executable,
            str(REPO / "scripts" / "4_train_rl.py"),
            "--config",
            str(REPO / "configs" / "smoke.yaml"),
            f"paths.root={tmp_path}",
            "sft.enabled=false",
            "rl.enabled=true",
            "rl.rewards=[{name: model}]",
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "{name: model} scores with a learned reward model; set rl.reward_model.train=true" in proc.stderr
