"""Environment suites: held-out episodes played greedily and multi-turn in the chat format agent SFT trains on
(user: the first observation; then per turn an assistant Thought/Action reply and a user "Observation: ..." turn),
all episodes' turn t generated as one batch. Scored by success (goal reached; Jeffreys interval) and by return
clipped to [−1, 1] (t interval). Reads evaluate.environments; the runner caches the results.
"""

from __future__ import annotations

import logging
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

from trainpipe.config import Config
from trainpipe.data.records import message
from trainpipe.data.store import has_use, load_split
from trainpipe.data.trajectory import observation_message
from trainpipe.errors import UserError
from trainpipe.evaluation.results import EXAMPLES, Suite, summarize_items
from trainpipe.evaluation.stats import mean_interval
from trainpipe.tasks.environments import ENVIRONMENTS, EVAL_SEEDS_START, Environment, EnvSpec, parse_move

log = logging.getLogger("trainpipe.evaluate")
KIND = GROUP = "environment"
PREFIX = "env:"
# "Action: right" (also "**Action:** right") at the start of a line: the reply's action, as training renders it.
# Environments evaluate can play offline and score: those that make instances and know when one is solved.
PLAYABLE = [name for name, spec in ENVIRONMENTS.items() if spec.make and spec.solved]
_ACTION = re.compile(r"^[\s*_]*action\s*(?:\*\*|__)?\s*:\s*(?:\*\*|__)?\s*(.*)$", re.IGNORECASE | re.MULTILINE)


def environment_suites(cfg: Config) -> list:
    """One suite per evaluate.environments entry: max_examples episodes with seeds EVAL_SEEDS_START, +1, ..."""
    ev = cfg.evaluate
    suites = []
    for number, name in enumerate(ev.environments):
        if name in ev.environments[:number]:
            raise UserError(f"evaluate.environments lists {name} twice")
        if name not in PLAYABLE:
            raise UserError(f"evaluate.environments: unknown environment {name!r}; known: {', '.join(PLAYABLE)}")
        if PREFIX + name in ev.sampling:
            raise UserError(
                f"evaluate.sampling.{PREFIX}{name}: environment suites always play greedily; "
                f"remove that entry (the turn budget is evaluate.env_turn_tokens)"
            )
        spec = ENVIRONMENTS[name]
        turns = ev.env_max_turns or spec.default_turns(ev.env_difficulty)
        env = spec.make(ev.env_difficulty, turns)
        items = []
        for seed in range(EVAL_SEEDS_START, EVAL_SEEDS_START + ev.max_examples):
            prompt = env.reset(seed)
            items.append(
                {
                    "id": f"{name}-{seed}",
                    "seed": seed,
                    "prompt": prompt,
                    "answer": None,
                    "task": PREFIX + name,
                    "layout": spec.layout(env),
                }
            )
        settings = {
            "environment": name,
            "difficulty": ev.env_difficulty,
            "max_turns": turns,
            "turn_tokens": ev.env_turn_tokens,
            "temperature": 0.0,
            "first_seed": EVAL_SEEDS_START,
        }
        suites.append(Suite(PREFIX + name, KIND, items, settings, GROUP))
    return suites


def action_text(reply: str) -> str:
    """What the environment is told: the text after the reply's first "Action:" label, else the whole reply."""
    found = _ACTION.search(reply)
    return found.group(1) if found and found.group(1).strip() else reply


@dataclass
class Episode:
    env: Environment
    messages: list[dict]
    rewards: list[float] = field(default_factory=list)
    tokens: int = 0
    named_moves: int = 0
    done: bool = False
    solved: bool = False


def play(suite, generate_turns: Callable[[Sequence[Sequence[dict]], int], list]) -> list[Episode]:
    """Play every episode of `suite`; `generate_turns(conversations, max_new_tokens)` returns one greedy
    Completion per conversation (HFBackend.generate_chats), so each turn is one batched call."""
    settings = suite.settings
    spec = ENVIRONMENTS[settings["environment"]]
    episodes = []
    for item in suite.items:
        env = spec.make(settings["difficulty"], settings["max_turns"])
        episodes.append(Episode(env, [message("user", env.reset(item["seed"]))]))
    for turn in range(settings["max_turns"]):
        active = [e for e in episodes if not e.done]
        if not active:
            break
        log.info(
            "evaluate: %s turn %d: %d of %d episodes still playing", suite.name, turn + 1, len(active), len(episodes)
        )
        replies = generate_turns([e.messages for e in active], settings["turn_tokens"])
        for episode, completion in zip(active, replies):
            _advance(episode, completion, spec)
    return episodes


def _advance(episode: Episode, completion, spec: EnvSpec) -> None:
    reply = completion.text.strip()
    action = action_text(reply)
    observation, reward, done = episode.env.step(action)
    episode.messages += [message("assistant", reply), observation_message(observation)]
    episode.rewards.append(float(reward))
    episode.tokens += completion.tokens
    episode.named_moves += parse_move(action) is not None
    episode.done = done
    episode.solved = done and spec.solved(episode.env)


def environment_result(suite, episodes: list[Episode], level: float) -> dict:
    """Per-episode records (score = 1 when the goal was reached) with the suite summary and a few transcripts."""
    records, examples = [], []
    for item, ep in zip(suite.items, episodes):
        ret = max(-1.0, min(1.0, math.fsum(ep.rewards)))
        transcript = "\n".join(f"[{m['role']}] {m['content']}" for m in ep.messages[1:])
        records.append(
            {
                "id": item["id"],
                "seed": item["seed"],
                "score": 1.0 if ep.solved else 0.0,
                "return": ret,
                "turns": len(ep.rewards),
                "samples": 1,
                "correct": int(ep.solved),
                "tokens": ep.tokens,
                "format_ok": ep.named_moves == len(ep.rewards),
                "completion": transcript,
            }
        )
        if len(examples) < EXAMPLES:
            examples.append(
                {
                    "id": item["id"],
                    "prompt": item["prompt"],
                    "answer": None,
                    "completion": transcript,
                    "score": records[-1]["score"],
                    "return": ret,
                }
            )
    return {**environment_summary(records, level), "examples": examples}


def environment_summary(records: list[dict], level: float) -> dict:
    """Task-style summary on success (mean, Jeffreys interval, tokens per episode, share of episodes whose every
    reply named a move) plus the mean return with its t interval, clipped to the return's range [−1, 1]."""
    returns = [r["return"] for r in records]
    lo, hi = mean_interval(returns, level)
    return {
        **summarize_items(records, level),
        "kind": KIND,
        "mean_return": math.fsum(returns) / len(returns) if returns else 0.0,
        "return_lo": max(-1.0, lo),
        "return_hi": min(1.0, hi),
    }


def layout_notes(suites, collect_dir: Path) -> list[str]:
    """For each environment suite, how many held-out episodes start from a layout that also starts a collect
    training trajectory: seeds are disjoint, but a small grid has few layouts (72 on 3x3), so they repeat."""
    from trainpipe.data.records import record_meta

    env_suites = [s for s in suites if s.kind == KIND]
    if not env_suites:
        return []
    train = load_split(collect_dir, "sft", "train") if has_use(collect_dir, "sft") else []
    seen = set()
    for rec in train:
        meta = record_meta(rec)
        if meta.get("start") and meta.get("goal"):
            seen.add((meta.get("environment"), meta.get("difficulty"), tuple(meta["start"] + meta["goal"])))
    notes = []
    for suite in env_suites:
        s = suite.settings
        repeated = sum((s["environment"], s["difficulty"], tuple(i["layout"])) in seen for i in suite.items)
        notes.append(
            f"{suite.name}: {repeated} of {len(suite.items)} held-out episodes (seeds {s['first_seed']}.."
            f"{s['first_seed'] + len(suite.items) - 1}, disjoint from collect and RL) start from a layout "
            f"that also starts a collect training trajectory"
        )
    return notes
