"""Tree rollouts (rl.tree): branch points from hand-made entropies, near-duplicate pruning on hand-made token lists,
per-token advantages against hand-computed ones, leaves that continue their root's prefix, and a GRPO run on the
tiny random model that samples fewer tokens than flat sampling for the same leaves."""

import pytest
import torch
from test_algorithms import PROMPTS, SCORED, make_io, small_rl, tiny_dir, train, write_collect  # noqa: F401 (fixture)

from trainpipe.config import ModelConfig, RewardConfig, RlConfig
from trainpipe.errors import UserError
from trainpipe.rl import algorithms, tree
from trainpipe.rl.tree import Leaf


@pytest.fixture(autouse=True)
def _single_thread(one_thread):
    yield


def test_branch_points_are_the_highest_entropy_positions_inside_the_completion():
    entropies = [9.0, 0.1, 2.5, 0.3, 2.5, 1.0, 7.0, 8.0]
    # Position 0 (a fresh root) and 7 (past the completion's length) never branch; the tie 2.5 goes to 2 first.
    assert tree.branch_points(entropies, 7, 3) == [6, 2, 4]
    assert tree.branch_points(entropies, 3, 5) == [2, 1]
    assert tree.branch_points(entropies, 1, 2) == []


A, B, C = [1, 2, 3, 4, 5, 6], [1, 2, 3, 4, 5, 7], [9, 8, 7, 6, 5, 4]
D, E = [1, 2, 3, 4, 5, 6], [9, 8, 7, 6, 5, 3]  # D repeats A; E is C with its last token changed


def test_pruning_keeps_one_leaf_per_cluster_of_near_duplicates_and_fills_in_order():
    # Bigram Jaccard: A~B and C~E share 4 of 6 bigrams (0.67), A = D (1.0), the two families nothing.
    assert tree.prune([A, B, C, D, E], 2, 0.6) == [0, 2]
    assert tree.prune([A, B, C, D, E], 3, 0.6) == [0, 1, 2]  # two clusters: B fills in candidate order
    # At 0.9 only the exact copy D is a near-duplicate: it is the one left out.
    assert tree.prune([A, B, C, D, E], 4, 0.9) == [0, 1, 2, 4]
    assert tree.prune([A, B], 2, 0.5) == [0, 1]
    assert tree.ngrams([5]) == {(5,)} and tree.ngrams([1, 2, 1, 2]) == {(1, 2), (2, 1)}


def test_shared_tokens_get_the_mean_advantage_of_the_leaves_below_once_per_node():
    # Root 0 (4 tokens) with branches at 2 and 1; root 1 (3 tokens) alone.
    leaves = [Leaf(0, 4, (1,) * 4), Leaf(0, 2, (1,) * 5), Leaf(0, 1, (1,) * 3), Leaf(1, 3, (2,) * 3)]
    advantages = torch.tensor([1.0, -2.0, 4.0, 0.5])
    third, quarter = 1.0 / 3.0, -0.25  # t=0: mean(1, −2, 4) = 1 over 3 leaves; t=1: mean(1, −2) over 2
    expected = torch.tensor(
        [
            [third, quarter, 1.0, 1.0, 1.0],
            [third, quarter, -2.0, -2.0, -2.0],
            [third, 4.0, 4.0, 4.0, 4.0],
            [0.5, 0.5, 0.5, 0.5, 0.5],
        ]
    )
    got = tree.node_advantages(advantages, leaves, 5)
    torch.testing.assert_close(got, expected)
    # Once per node: summed over the rows holding a shared token, its weight is the node's mean advantage.
    assert got[:3, 0].sum().item() == pytest.approx(1.0) and got[:2, 1].sum().item() == pytest.approx(-0.5)


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"algorithm": "rloo"}, "grows GRPO's groups, not rl.algorithm=rloo"),
        ({"algorithm": "ppo", "loss_type": "grpo"}, "not rl.algorithm=ppo"),
        ({"environment": "grid"}, "rl.environment=grid plays multi-turn episodes"),
        ({"use_vllm": True}, "generates with transformers"),
        ({"tree_similarity": 0.0}, r"rl.tree_similarity in \(0, 1\]"),
        ({"tree_continuations": 0}, "must each be ≥ 1"),
        ({"num_generations": 8}, r"= 6, at least as many"),
        ({"tree_roots": 4}, "rl.tree_roots=4 below it"),
        ({"max_completion_length": 1}, "max_completion_length must be ≥ 2"),
    ],
)
def test_tree_config_problems_fail_at_check_time(overrides, message):
    with pytest.raises(UserError, match=message):
        algorithms.check(RlConfig(rollout="tree", **overrides))


def test_the_default_tree_config_passes_and_becomes_the_trainer_settings():
    rl = RlConfig(rollout="tree", tree_similarity=0.7)
    algorithms.check(rl)
    assert tree.settings(rl) == tree.TreeSettings(roots=2, branch_points=2, continuations=1, similarity=0.7)
    assert tree.settings(RlConfig()) is None


def tree_rl(**overrides) -> RlConfig:
    base = dict(
        rollout="tree",
        num_generations=4,
        batch_size=4,
        max_completion_length=8,
        tree_roots=1,
        tree_branch_points=2,
        tree_continuations=2,
        temperature=0.7,
        rewards=[RewardConfig("task"), RewardConfig("external", low=0, high=10)],
        blend_alpha=0.5,  # the external reward varies across a random model's completions; the task score does not
    )
    return small_rl(**{**base, **overrides})


def build(tmp_path, tiny_dir, rl):  # noqa: F811 (the fixture)
    from trainpipe.models.load import load_model, load_tokenizer

    tokenizer = load_tokenizer(tiny_dir, ModelConfig())
    model = load_model(tiny_dir, ModelConfig(), dtype=torch.float32)
    collect = write_collect(tmp_path, prompts=PROMPTS, sft=SCORED)
    trainer, _ = algorithms.build_trainer(rl, model, tokenizer, collect, make_io(tmp_path, tiny_dir))
    trainer.model.train()
    return trainer


def prompt_rows(tokenizer, group: int) -> list[list[int]]:
    texts = ["What is 2 + 3?", "Name a colour that is often used for the sky at noon, please."]
    ids = [
        tokenizer.apply_chat_template(
            [{"role": "user", "content": t}], add_generation_prompt=True, tokenize=True, return_dict=True
        )["input_ids"]
        for t in texts
    ]
    return [p for p in ids for _ in range(group)]


def test_leaves_continue_their_roots_prefix_from_its_highest_entropy_positions(tmp_path, tiny_dir, monkeypatch):  # noqa: F811
    trainer = build(tmp_path, tiny_dir, tree_rl())
    rows = prompt_rows(trainer.processing_class, 4)
    calls = []

    def spy(model, prompt_ids, *args):
        out = generate_shared(model, prompt_ids, *args)
        calls.append((prompt_ids, out))
        return out

    generate_shared = tree.generate_shared
    monkeypatch.setattr(tree, "generate_shared", spy)
    torch.manual_seed(0)
    completions, logprobs = trainer._generate_single_turn(rows, None, {}, 4)
    leaves = trainer._tree_leaves
    (root_rows, roots), (branch_rows, continued) = calls[:2]
    assert root_rows == [rows[0], rows[4]] and len(branch_rows) == 8  # 2 prompts × 2 branch points × 2
    assert len(completions) == 8 and logprobs is None
    assert [list(leaf.ids) for leaf in leaves] == completions
    assert [leaf.root for leaf in leaves[:4]] == [0] * 4 and [leaf.root for leaf in leaves[4:]] == [1] * 4
    entropies = trainer._entropies(trainer.model, root_rows, roots)
    for leaf in leaves:
        root = roots[leaf.root]
        assert list(leaf.ids[: leaf.split]) == root[: leaf.split] and len(leaf.ids) <= 8
        if leaf.split < len(root):  # a branch: sampled from prompt + the root's prefix, at a top-entropy position
            assert leaf.split in tree.branch_points(entropies[leaf.root], len(root), 2)
            assert (rows[0] if leaf.root == 0 else rows[4]) + list(leaf.ids[: leaf.split]) in branch_rows
    assert sum(leaf.split < len(roots[leaf.root]) for leaf in leaves) >= 6  # 5 candidates, 4 kept per prompt
    metrics = trainer._metrics["train"]
    assert metrics["tree/leaves_pruned"] == [2.0]
    # Roots plus the branches' own tokens (each cut to the completion budget), nothing counted twice.
    prompts = [rows[0]] * 4 + [rows[4]] * 4  # branch rows go root by root
    cut = [len(c[: 8 - (len(r) - len(p))]) for r, c, p in zip(branch_rows, continued, prompts)]
    assert metrics["generated_tokens"] == [float(sum(map(len, roots)) + sum(cut))]


def test_tree_grpo_trains_and_samples_fewer_tokens_than_flat_for_the_same_leaves(tmp_path, tiny_dir, monkeypatch):  # noqa: F811
    shapes = []
    node_advantages = tree.node_advantages

    def spy(advantages, leaves, width):
        out = node_advantages(advantages, leaves, width)
        shapes.append((tuple(out.shape), bool((out != advantages.unsqueeze(1)).any())))
        return out

    monkeypatch.setattr(tree, "node_advantages", spy)
    # One root and three branch points: four candidates for four leaves, so nothing is pruned and every leaf's
    # tokens are sampled at most once.
    rl = tree_rl(tree_branch_points=3, tree_continuations=1)
    collect = write_collect(tmp_path / "tree", prompts=PROMPTS, sft=SCORED)
    metrics, _, delta, trainer = train(rl, tiny_dir, collect, tmp_path / "tree")
    assert metrics["steps"] == 2 and delta > 0
    # (B, T) advantages each step; on the step with varied rewards the shared prefixes' credit differs from the leaf's.
    assert len(shapes) == 2 and all(shape[0] == 4 for shape, _ in shapes) and any(c for _, c in shapes)
    logged = [h for h in trainer.state.log_history if "generated_tokens" in h]
    assert len(logged) == 2 and all(h["tree/leaves_pruned"] == 0 for h in logged)

    flat_rl = small_rl(**{**vars(rl), "rollout": "flat"})
    flat_collect = write_collect(tmp_path / "flat", prompts=PROMPTS, sft=SCORED)
    _, _, _, flat = train(flat_rl, tiny_dir, flat_collect, tmp_path / "flat")
    flat_logged = [h for h in flat.state.log_history if "generated_tokens" in h]
    assert len(flat_logged) == 2 and all("tree/leaves_pruned" not in h for h in flat_logged)
    for tree_step, flat_step in zip(logged, flat_logged):
        # Flat sampling draws every leaf token; the tree draws the shared prefixes once.
        assert flat_step["generated_tokens"] == pytest.approx(flat_step["completions/mean_length"] * 4)
        assert tree_step["generated_tokens"] < tree_step["completions/mean_length"] * 4
        assert tree_step["generated_tokens"] < flat_step["generated_tokens"]
