"""Entropy-branching tree rollouts for GRPO (rl.rollout=tree): per prompt a few root completions, new continuations
sampled from each root's highest-entropy positions, near-duplicate leaves pruned by clustering, exactly
rl.num_generations leaves kept. Each leaf is an ordinary prompt → completion row (rewards, logging, loss as TRL's).

Advantages: GRPO's over a prompt's leaves (r − mean, scaled as TRL's scale_rewards), then per token: a token of a
tree node that n leaves share (a root's tokens before a kept branch's split) is credited with Ā, the mean advantage
of those n leaves, and counts once per node: it sits in n rows, each carrying Ā / n, so its loss weight summed over
the rows is Ā. (Counting it once per leaf, Ā in every row, would sum to n·Ā = Σ A: flat GRPO's weight, as if the
prefix had been sampled n times.) Tokens only one leaf holds keep that leaf's advantage.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch

from trainpipe.config import RlConfig
from trainpipe.errors import UserError
from trainpipe.rl.generation import generate_shared

NGRAM = 2  # near-duplicates are judged on token bigrams: order-aware, yet robust to a single changed token


@dataclass(frozen=True)
class TreeSettings:
    roots: int  # root completions per prompt
    branch_points: int  # branching positions per root
    continuations: int  # new continuations per branch point
    similarity: float  # n-gram Jaccard similarity at which two leaves are near-duplicates


@dataclass(frozen=True)
class Leaf:
    root: int  # index of its root among the step's roots (unique across prompts)
    split: int  # completion tokens [0, split) are its root's; a root's own leaf has split = its length
    ids: tuple[int, ...]  # the full completion


def check(rl: RlConfig) -> None:
    """rl.rollout=tree's config problems, raised before anything is loaded (from algorithms.check)."""
    if rl.rollout == "flat":
        return
    if rl.algorithm != "grpo":
        raise UserError(f"rl.rollout=tree grows GRPO's groups, not rl.algorithm={rl.algorithm}'s (set rl.rollout=flat)")
    if rl.environment:
        raise UserError(
            f"rl.rollout=tree branches single-turn completions of task prompts; rl.environment={rl.environment} "
            "plays multi-turn episodes (unset rl.environment or set rl.rollout=flat)"
        )
    if rl.use_vllm:
        raise UserError("rl.rollout=tree generates with transformers; set rl.use_vllm=false")
    if min(rl.tree_roots, rl.tree_branch_points, rl.tree_continuations) < 1 or not 0 < rl.tree_similarity <= 1:
        raise UserError(
            "rl.tree_roots, rl.tree_branch_points and rl.tree_continuations must each be ≥ 1, "
            "rl.tree_similarity in (0, 1]"
        )
    candidates = rl.tree_roots * (1 + rl.tree_branch_points * rl.tree_continuations)
    if not rl.tree_roots < rl.num_generations <= candidates:
        raise UserError(
            f"rl.rollout=tree keeps exactly rl.num_generations={rl.num_generations} leaves per prompt (TRL's group): "
            f"it needs rl.tree_roots={rl.tree_roots} below it and the candidate leaves, rl.tree_roots × "
            f"(1 + rl.tree_branch_points × rl.tree_continuations) = {candidates}, at least as many"
        )
    if rl.max_completion_length < 2:
        raise UserError("rl.rollout=tree branches inside completions: rl.max_completion_length must be ≥ 2")


def settings(rl: RlConfig) -> TreeSettings | None:
    """rl.rollout → the trainer's `tree` argument: None samples flat groups."""
    if rl.rollout == "flat":
        return None
    return TreeSettings(rl.tree_roots, rl.tree_branch_points, rl.tree_continuations, rl.tree_similarity)


def branch_points(entropies: Sequence[float], length: int, k: int) -> list[int]:
    """The `k` completion positions of highest entropy (ties: the earlier first), highest first. Position 0 is left
    out (a branch there shares nothing: it is a fresh root), and so is everything at or past `length`."""
    scores = np.asarray(entropies[1:length], dtype=float)
    return [int(i) + 1 for i in np.argsort(-scores, kind="stable")[:k]]


def ngrams(ids: Sequence[int], n: int = NGRAM) -> set[tuple[int, ...]]:
    """The token n-grams of `ids`; a sequence shorter than n is its own single gram (so no set is empty)."""
    return {tuple(ids[i : i + n]) for i in range(max(1, len(ids) - n + 1))}


def prune(candidates: Sequence[Sequence[int]], keep: int, similarity: float) -> list[int]:
    """Indices (ascending) of `keep` candidates: complete-linkage clusters on n-gram Jaccard distance cut at
    1 − similarity (every pair in a cluster is at least `similarity` alike); the first member of each cluster, in
    candidate order; when clusters are fewer than `keep`, the other members fill up in candidate order."""
    if len(candidates) <= keep:
        return list(range(len(candidates)))
    from scipy.cluster.hierarchy import fcluster, linkage
    from scipy.spatial.distance import pdist
    from sklearn.preprocessing import MultiLabelBinarizer

    present = MultiLabelBinarizer().fit_transform([ngrams(c) for c in candidates]).astype(bool)
    labels = fcluster(linkage(pdist(present, "jaccard"), "complete"), t=1.0 - similarity, criterion="distance")
    firsts, rest, seen = [], [], set()
    for i, label in enumerate(labels):
        (rest if label in seen else firsts).append(i)
        seen.add(label)
    return sorted((firsts + rest)[:keep])


def node_advantages(advantages: torch.Tensor, leaves: Sequence[Leaf], width: int) -> torch.Tensor:
    """(B, width) advantages from the leaves' (B,) ones: token t < split of leaf i lies in the node its root's leaves
    j with split_j > t share; it gets their mean advantage divided by their number (once per node, see the module
    docstring). Other tokens keep their leaf's advantage."""
    device = advantages.device
    roots = torch.tensor([leaf.root for leaf in leaves], device=device)
    splits = torch.tensor([leaf.split for leaf in leaves], device=device)
    t = torch.arange(width, device=device)
    shared = t.unsqueeze(0) < splits.unsqueeze(1)  # (B, T): token t of row i is a root token
    # members[i, j, t]: leaf j holds token t of leaf i's root
    members = (roots.unsqueeze(1) == roots.unsqueeze(0)).unsqueeze(-1) & shared.unsqueeze(0)
    members = members & shared.unsqueeze(1)
    count = members.sum(1).clamp(min=1).to(advantages.dtype)
    total = torch.einsum("ijt,j->it", members.to(advantages.dtype), advantages)
    return torch.where(shared, total / count**2, advantages.unsqueeze(1).expand(-1, width))


class TreeRolloutMixin:
    """Put first in the bases of a GRPOTrainer; `tree=TreeSettings(...)` grows tree rollouts, `tree=None` keeps flat
    sampling. Either way `generated_tokens` (new tokens sampled per generation batch) is logged."""

    def __init__(self, *args, tree: TreeSettings | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.tree, self._tree_leaves = tree, None
        if tree is not None and (self.accelerator.num_processes > 1 or getattr(self, "tools", None)):
            raise UserError("rl.rollout=tree runs in one process without tools (set launch.num_processes=1)")

    def _generate_single_turn(self, prompt_ids, images, multimodal_fields, num_generations, *args, **kwargs):
        self._tree_leaves = None
        plain = images is None or all(x is None for x in images)
        if self.tree is None or not self.model.training or not plain or multimodal_fields:
            out = super()._generate_single_turn(prompt_ids, images, multimodal_fields, num_generations, *args, **kwargs)
            self._log_tree(sum(len(c) for c in out[0]), None)
            return out
        groups = [prompt_ids[i : i + num_generations] for i in range(0, len(prompt_ids), num_generations)]
        if any(any(row != group[0] for row in group) for group in groups):
            raise RuntimeError("tree rollouts expect each prompt's rows together, as TRL's sampler yields them")
        # Under autocast: the precision of the loss's log-probs (rl.generation).
        with self.accelerator.autocast(), self._sampling_models() as (policy, decoder):
            leaves, generated, pruned = self._grow(policy, decoder, [g[0] for g in groups], num_generations)
        self._tree_leaves = leaves
        self._log_tree(generated, pruned)
        return [list(leaf.ids) for leaf in leaves], None

    def _generate_and_score_completions(self, inputs):
        out = super()._generate_and_score_completions(inputs)
        leaves, self._tree_leaves = self._tree_leaves, None
        if leaves is not None:
            out["advantages"] = node_advantages(out["advantages"], leaves, out["completion_ids"].size(1))
        return out

    # --- growing the trees --------------------------------------------------------------------------------------
    def _grow(self, policy, model, prompts: list[list[int]], keep: int) -> tuple[list[Leaf], int, int]:
        """`keep` leaves per prompt (grouped in prompt order), the new tokens sampled on `model` (the bf16 decode
        copy where there is one, else `policy`), the candidates pruned."""
        s, budget = self.tree, self.generation_config.max_new_tokens
        owner = [p for p in range(len(prompts)) for _ in range(s.roots)]
        roots = self._sample(model, [prompts[p] for p in owner], budget)
        generated = sum(map(len, roots))
        entropies = self._entropies(policy, [prompts[p] for p in owner], roots)
        # Branch rows: prompt + root[:pos], `continuations` rows per (root, pos), sampled in one batch up to the
        # longest budget; each is cut to its own (the leaf stays within max_completion_length) and counted as cut,
        # as flat sampling counts its completions' lengths, not the decoding steps of rows already done.
        branches = [
            (r, pos)
            for r, root in enumerate(roots)
            for pos in branch_points(entropies[r], len(root), s.branch_points)
            for _ in range(s.continuations)
        ]
        candidates: list[list[Leaf]] = [[] for _ in prompts]
        for r, root in enumerate(roots):
            candidates[owner[r]].append(Leaf(r, len(root), tuple(root)))
        if branches:
            rows = [prompts[owner[r]] + roots[r][:pos] for r, pos in branches]
            continued = self._sample(model, rows, budget - min(pos for _, pos in branches))
            for (r, pos), ids in zip(branches, continued):
                candidates[owner[r]].append(Leaf(r, pos, tuple(roots[r][:pos] + ids[: budget - pos])))
                generated += len(ids[: budget - pos])
        generated += self._fill(model, prompts, candidates, keep, len(roots), budget)
        leaves, pruned = [], 0
        for group in candidates:
            kept = prune([leaf.ids for leaf in group], keep, s.similarity)
            leaves += [group[i] for i in kept]
            pruned += len(group) - keep
        return leaves, generated, pruned

    def _fill(self, model, prompts, candidates: list[list[Leaf]], keep: int, next_root: int, budget: int) -> int:
        """Extra roots for prompts whose roots were too short to branch into `keep` candidates; the tokens sampled."""
        short = [p for p, group in enumerate(candidates) for _ in range(keep - len(group))]
        if not short:
            return 0
        extra = self._sample(model, [prompts[p] for p in short], budget)
        for k, (p, ids) in enumerate(zip(short, extra)):
            candidates[p].append(Leaf(next_root + k, len(ids), tuple(ids)))
        return sum(map(len, extra))

    def _sample(self, model, rows: list[list[int]], max_new_tokens: int) -> list[list[int]]:
        config = copy.deepcopy(self.generation_config)
        config.max_new_tokens = max_new_tokens
        pad = self._tokenizer.pad_token_id
        return generate_shared(model, rows, pad, config, self.eos_token_ids, self.accelerator.device)

    def _entropies(self, model, prompts: list[list[int]], completions: list[list[int]]) -> list[list[float]]:
        """Per completion token, the entropy (at the sampling temperature) of the distribution that drew it."""
        from trl.trainer.utils import pad

        device, pad_id = self.accelerator.device, self._tokenizer.pad_token_id
        ps = [torch.tensor(p, device=device) for p in prompts]
        cs = [torch.tensor(c, device=device) for c in completions]  # generate samples ≥ 1 token
        ids = torch.cat([pad(ps, pad_id, padding_side="left"), pad(cs, pad_id, padding_side="right")], dim=1)
        mask = torch.cat(
            [
                pad([torch.ones_like(p) for p in ps], 0, padding_side="left"),
                pad([torch.ones(len(c), dtype=torch.long, device=device) for c in completions], 0),
            ],
            dim=1,
        )
        width = ids.size(1) - max(map(len, prompts))
        _, entropy, _ = self._get_per_token_logps_and_entropies(
            model, ids, mask, width, batch_size=self.args.per_device_train_batch_size, compute_entropy=True
        )
        return [row[: len(c)] for row, c in zip(entropy.tolist(), completions)]

    def _log_tree(self, generated: int, pruned: int | None) -> None:
        metrics = self._metrics["train" if self.model.training else "eval"]
        counts = torch.tensor([generated, pruned or 0], device=self.accelerator.device)
        total = self.accelerator.gather(counts.unsqueeze(0)).sum(0).tolist()
        metrics["generated_tokens"].append(float(total[0]))
        if pruned is not None:
            metrics["tree/leaves_pruned"].append(float(total[1]))
