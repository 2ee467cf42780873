"""PPO on the tiny random model: the loss against hand-computed numbers, the rollout's rewards, returns and
advantages, observation tokens kept out of both losses, and the config checks."""

import math
import re

import pytest
import torch
from test_algorithms import _single_thread, make_io, small_rl, tiny_dir, train, write_collect  # noqa: F401
from test_environments import VowelEnv, serve

from trainpipe.config import RewardConfig
from trainpipe.errors import UserError
from trainpipe.rl import algorithms
from trainpipe.rl.ppo import PPOTrainer

PROMPTS = [
    {"id": f"p{i}", "source": "t", "prompt": f"What is {i} + 3?", "task": "arithmetic", "answer": str(i + 3)}
    for i in range(4)
]


def build(rl, tiny_dir, collect, root):  # noqa: F811
    from trainpipe.config import ModelConfig
    from trainpipe.models.load import load_model, load_tokenizer

    tokenizer = load_tokenizer(tiny_dir, ModelConfig())
    model = load_model(tiny_dir, ModelConfig(), dtype=torch.float32)
    return algorithms.build_trainer(rl, model, tokenizer, collect, make_io(root, tiny_dir))[0]


def test_loss_is_trls_clipped_surrogate_on_our_advantages_plus_the_clipped_value_loss(tmp_path, tiny_dir):  # noqa: F811
    # beta > 0: the reference's log-probs are in the batch, yet the loss carries no KL term (it is in the rewards).
    rl = small_rl(algorithm="ppo", loss_type="dapo", beta=0.5, ppo_value_clip=0.2, ppo_vf_coef=0.1)
    trainer = build(rl, tiny_dir, write_collect(tmp_path, prompts=PROMPTS), tmp_path)
    assert isinstance(trainer, PPOTrainer) and trainer.beta == 0.5
    trainer.model.train()
    trainer.current_gradient_accumulation_steps = 1  # what the training loop sets with grad_accum 1
    prompt, completion = torch.tensor([[5, 6, 7]]), torch.tensor([[8, 9, 10, 11]])
    tool_mask = torch.tensor([[1, 1, 1, 0]])  # the last token is an environment's observation
    ids, attention = torch.cat([prompt, completion], 1), torch.ones(1, 7, dtype=torch.long)
    with torch.no_grad():
        logps = trainer._get_per_token_logps_and_entropies(trainer.model, ids, attention, 4)[0]
        trainer.value_model.head.weight.zero_()
        trainer.value_model.head.bias.fill_(0.5)  # V = 0.5 on every token
    ratios = torch.tensor([[1.5, 0.5, 1.1, 3.0]])
    inputs = {
        "prompt_ids": prompt,
        "prompt_mask": torch.ones_like(prompt),
        "completion_ids": completion,
        "completion_mask": torch.ones_like(completion),
        "tool_mask": tool_mask,
        "advantages": torch.tensor([[1.0, -1.0, 2.0, 50.0]]),
        "old_per_token_logps": logps - ratios.log(),
        "ref_per_token_logps": logps - 1.0,
        "num_items_in_batch": torch.tensor(3),
        "old_values": torch.tensor([[0.4, 0.9, 0.5, 9.0]]),
        "returns": torch.tensor([[1.0, 0.5, 0.2, 9.0]]),
    }
    loss = trainer._compute_loss(trainer.model, inputs)
    # Surrogate −min(r·A, clip(r, 0.8, 1.2)·A): t0 −min(1.5, 1.2) = −1.2; t1 −min(−0.5, −0.8) = 0.8;
    # t2 −2.2; t3 is masked. dapo: summed over the 3 chosen tokens of the batch, divided by 3.
    policy = (-1.2 + 0.8 - 2.2) / 3
    # Value, clip 0.2 around the old values: t0 (0.5 − 1)² = 0.25; t1 max((0.5 − 0.5)², (0.7 − 0.5)²) = 0.04
    # (clipped larger); t2 (0.5 − 0.2)² = 0.09; ½ · 0.38 / 3.
    value = 0.5 * 0.38 / 3
    assert loss.item() == pytest.approx(policy + 0.1 * value, abs=1e-5)
    metrics = trainer._metrics["train"]
    assert metrics["value/loss"] == [pytest.approx(value)] and metrics["value/clip_fraction"] == [pytest.approx(1 / 3)]
    assert metrics["clip_ratio/region_mean"] == [pytest.approx(2 / 3)] and "kl" not in metrics
    loss.backward()
    # ∂/∂bias = 0.1 · ½ · 2 · ((0.5 − 1) + 0 + (0.5 − 0.2)) / 3: t1's clipped update passes no gradient.
    assert trainer.value_model.head.bias.grad.item() == pytest.approx(0.1 * (-0.5 + 0.3) / 3)


def test_rollout_returns_are_the_score_at_every_chosen_token_and_advantages_are_whitened(
    tmp_path,
    tiny_dir,  # noqa: F811
    monkeypatch,
):
    outs = []
    original = PPOTrainer._generate_and_score_completions

    def spy(self, inputs):
        outs.append(original(self, inputs))
        return outs[-1]

    monkeypatch.setattr(PPOTrainer, "_generate_and_score_completions", spy)
    # The head starts at zero; drawn at random here so that V differs by token and R − V is not one constant
    # (whitening a constant leaves nothing to check, and the policy no gradient).
    from trainpipe.rl.ppo import ValueModel

    init = ValueModel.__init__

    def random_head(self, *args, **kwargs):
        init(self, *args, **kwargs)
        torch.nn.init.normal_(self.head.weight, std=0.5)

    monkeypatch.setattr(ValueModel, "__init__", random_head)
    # γ = λ = 1 and beta = 0: every token's return is the completion's score. A random model's completions run
    # the full 6 tokens without EOS: length reward −(6 − 4)/4 = −0.5, missing-EOS penalty −1.
    rl = small_rl(
        algorithm="ppo",
        rewards=[RewardConfig("length", target_length=4)],
        ppo_gamma=1.0,
        ppo_lambda=1.0,
        ppo_missing_eos_penalty=1.0,
        max_steps=1,
        batch_size=4,
        max_completion_length=6,
    )
    metrics, report, delta, trainer = train(rl, tiny_dir, write_collect(tmp_path, prompts=PROMPTS), tmp_path)
    assert metrics["steps"] == 1 and delta > 0 and report["value_parameters"] > 0
    out = outs[0]
    mask = out["completion_mask"].float()
    assert mask.sum() == 24  # 4 completions × 6 tokens
    torch.testing.assert_close(out["returns"], torch.full_like(mask, -1.5))
    # Advantages R − V, whitened over the 24 tokens.
    adv = out["advantages"]
    assert adv.shape == mask.shape and adv.mean().item() == pytest.approx(0, abs=1e-5)
    assert adv.pow(2).mean().item() == pytest.approx(1, abs=1e-4)
    raw = out["returns"] - out["old_values"]
    torch.testing.assert_close(adv, (raw - raw.mean()) / raw.std(unbiased=False), atol=1e-4, rtol=1e-4)
    logged = next(h for h in trainer.state.log_history if "value/loss" in h)
    assert {"value/explained_variance", "value/clip_fraction", "value/mean"} <= set(logged)


def test_multi_turn_ppo_pays_step_rewards_at_turn_ends_and_keeps_observations_out(
    tmp_path,
    tiny_dir,  # noqa: F811
    monkeypatch,
):
    seen = []
    original = PPOTrainer._generate_and_score_completions

    def spy(self, inputs):
        seen.append((inputs, original(self, inputs)))
        return seen[-1][1]

    monkeypatch.setattr(PPOTrainer, "_generate_and_score_completions", spy)
    server, url, _ = serve(VowelEnv)  # pays each reply the share of vowels among its letters; two turns
    rl = small_rl(
        algorithm="ppo",
        environment="http",
        env_url=url,
        rewards=[RewardConfig("env")],
        env_episodes=4,
        env_max_turns=2,
        env_turn_tokens=3,
        ppo_missing_eos_penalty=1.0,
        batch_size=4,
        max_steps=1,
        ppo_gamma=1.0,
        ppo_lambda=1.0,
    )
    try:
        metrics, report, delta, trainer = train(rl, tiny_dir, None, tmp_path)
    finally:
        server.shutdown()
    assert report["environment"] == "http" and metrics["steps"] == 1 and delta > 0
    inputs, out = seen[0]
    observation = (out["tool_mask"] == 0) & (out["completion_mask"] == 1)
    assert observation.any()  # two turns: the grid's reply after the first sits inside each completion
    for key in ("advantages", "returns", "old_values"):
        assert (out[key][observation] == 0).all(), key
    # γ = λ = 1, beta = 0: a token's return is what the episode pays from its turn on, less the missing-EOS penalty.
    assert sum(x["step_rewards"][0] > 0 for x in inputs) >= 2  # turn 0 paid something: its reward is not at the end
    for row, x in enumerate(inputs):
        ended = out["completion_ids"][row][len(x["token_step"]) - 1].item() in trainer.eos_token_ids
        for t, turn in enumerate(x["token_step"]):
            if turn >= 0:
                want = sum(x["step_rewards"][turn:]) - (0.0 if ended else 1.0)
                assert out["returns"][row, t].item() == pytest.approx(want, abs=1e-5), (row, t)


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"loss_type": "cispo"}, "PPO's clipped surrogate averages token losses as one of dapo, bnpo"),
        ({"ppo_gamma": 1.5}, "rl.ppo_gamma=1.5, rl.ppo_lambda=0.95: each must lie in [0, 1]"),
        ({"ppo_epochs": 0}, "rl.ppo_epochs and rl.ppo_minibatches must each be ≥ 1"),
        ({"ppo_value_clip": 0.0}, "rl.ppo_value_clip and rl.ppo_value_lr must be > 0"),
        ({"batch_size": 3}, "multiple of rl.num_generations"),
    ],
)
def test_ppo_configs_are_checked_before_loading(overrides, message):
    with pytest.raises(UserError, match=re.escape(message)):
        algorithms.check(small_rl(algorithm="ppo", **overrides))


def test_epochs_and_minibatches_are_trls_iterations_and_generation_steps(tmp_path, tiny_dir):  # noqa: F811
    rl = small_rl(algorithm="ppo", ppo_epochs=3, ppo_minibatches=2, grad_accum=2)
    trainer = build(rl, tiny_dir, write_collect(tmp_path, prompts=PROMPTS), tmp_path)
    assert trainer.num_iterations == 3 and trainer.args.steps_per_generation == 4
    # One generation batch: 2 minibatches of batch_size × grad_accum completions.
    assert trainer.args.generation_batch_size == 2 * 2 * 2
    assert not math.isnan(trainer.ppo.value_lr) and trainer.ppo.value_lr == rl.learning_rate


def test_value_model_starts_from_the_policy_and_its_new_weights_from_the_seed(tiny_dir):  # noqa: F811
    from trainpipe.config import ModelConfig
    from trainpipe.models.load import load_model
    from trainpipe.rl.ppo import value_model_from
    from trainpipe.training import driver

    policy = load_model(tiny_dir, ModelConfig(), dtype=torch.float32)
    lora = driver.peft_config(small_rl().lora, task_type="FEATURE_EXTRACTION")
    a = value_model_from(policy, lora, seed=3)
    torch.rand(100)  # whatever the global generator did in between (a fresh start after a kill, another process)
    b, c = value_model_from(policy, lora, seed=3), value_model_from(policy, lora, seed=4)
    assert all(torch.equal(v, b.state_dict()[k]) for k, v in a.state_dict().items())
    lora_a = [k for k in a.state_dict() if "lora_A" in k]
    assert lora_a and not any(torch.equal(a.state_dict()[k], c.state_dict()[k]) for k in lora_a)
    # The head starts at zero (V = 0 everywhere), whatever the seed.
    assert not a.head.weight.any() and not c.head.weight.any() and not a.head.bias.any()
    # The backbone is the policy's (LoRA on top, its B factors zero: the same hidden states at the start).
    ids = torch.tensor([[5, 6, 7, 8]])
    with torch.no_grad():
        want = policy.base_model(input_ids=ids).last_hidden_state
        got = a.backbone(input_ids=ids, attention_mask=torch.ones_like(ids)).last_hidden_state
    torch.testing.assert_close(got, want)
    trainable = [n for n, p in a.named_parameters() if p.requires_grad]
    assert "head.weight" in trainable and all("lora_" in n or n.startswith("head.") for n in trainable)


def test_without_lora_the_whole_value_model_trains_in_its_own_optimizer_group(tmp_path, tiny_dir):  # noqa: F811
    from trainpipe.config import LoraConfig

    rl = small_rl(algorithm="ppo", lora=LoraConfig(enabled=False), ppo_value_lr=5e-3)
    trainer = build(rl, tiny_dir, write_collect(tmp_path, prompts=PROMPTS), tmp_path)
    optimizer = trainer.create_optimizer()
    (group,) = [g for g in optimizer.param_groups if g.get("ppo_value")]
    value_params = list(trainer.value_model.parameters())
    assert group["lr"] == 5e-3 and len(group["params"]) == len(value_params)
    assert all(p.requires_grad for p in value_params)
    # The value model is a copy: training it leaves the policy's weights alone.
    policy_ids = {id(p) for p in trainer.model.parameters()}
    assert not policy_ids & {id(p) for p in value_params}


def test_head_only_value_trains_its_head_on_rollout_features_and_no_backbone(tmp_path, tiny_dir, monkeypatch):  # noqa: F811
    seen = []
    original = PPOTrainer._compute_loss

    def spy(self, model, inputs):
        seen.append(inputs)
        return original(self, model, inputs)

    monkeypatch.setattr(PPOTrainer, "_compute_loss", spy)
    rl = small_rl(
        algorithm="ppo",
        ppo_value_train="head",
        rewards=[RewardConfig("length", target_length=4)],
        max_steps=2,
        batch_size=4,
        max_completion_length=6,
    )
    metrics, report, delta, trainer = train(rl, tiny_dir, write_collect(tmp_path, prompts=PROMPTS), tmp_path)
    value = trainer.value_model
    assert metrics["steps"] == 2 and report["value_trained_parameters"] == value.head.in_features + 1
    assert not any(p.requires_grad for p in value.backbone.parameters())
    assert value.head.bias.item() != 0  # it started at zero and learned the returns' level
    # The features the update used are the frozen backbone's on that batch: the same values as a full forward.
    batch = seen[-1]
    ids = torch.cat([batch["prompt_ids"], batch["completion_ids"]], dim=1)
    attention = torch.cat([batch["prompt_mask"], batch["completion_mask"]], dim=1)
    n = batch["completion_ids"].size(1)
    assert batch["value_features"].shape == (ids.size(0), n, value.head.in_features)
    with torch.no_grad():
        torch.testing.assert_close(value.value(batch["value_features"]), value(ids, attention, n))
