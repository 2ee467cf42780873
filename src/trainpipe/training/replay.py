"""Self-generated replay against forgetting: general prompts answered by the model training starts from, mixed
into the training data so fine-tuning keeps the behaviour it had outside the task. No external dataset is needed.

Prompts come from a built-in pool (disjoint from the retention suites) or from the model itself, sampled after its
chat template's user header. Reads the starting model; writes `<cache>/replay-<fingerprint>.jsonl` once per
(model, settings), so a rerun of the stage does not generate again.
"""

from __future__ import annotations

import json
import logging
import random
from pathlib import Path

from trainpipe import artifacts
from trainpipe.config import ModelConfig, ReplayConfig
from trainpipe.errors import UserError
from trainpipe.models.chat import IGNORE, encode_chat, render

log = logging.getLogger("trainpipe.replay")

# Open-ended everyday requests: the answers are whatever the starting model says, so the pool only has to be
# varied. None of these templates asks a retention-suite question (tests check the two are disjoint).
_TOPICS = (
    "the ocean",
    "a rainy afternoon",
    "breakfast",
    "old trees",
    "learning to swim",
    "a small library",
    "the night sky",
    "dogs",
    "growing tomatoes",
    "long train journeys",
    "playing the piano",
    "the first snow of winter",
    "friendship",
    "a city park",
    "honey bees",
    "mountain hiking",
    "baking bread",
    "the wind",
    "morning coffee",
    "a history museum",
    "riding a bicycle",
    "autumn leaves",
    "a quiet village",
    "volcanoes",
    "sea turtles",
    "writing letters by hand",
    "a birthday party",
    "camping in the forest",
    "the desert",
    "recycling",
    "street markets",
    "lighthouses",
    "learning a new language",
    "board games",
    "a thunderstorm",
    "cooking soup",
    "the rainforest",
    "owls",
    "a school garden",
    "kites",
    "folk music",
    "a busy airport",
    "penguins",
    "drawing with pencils",
    "sunflowers",
    "a fishing boat",
    "public transport",
    "sleeping well",
    "a childhood toy",
    "glaciers",
    "making tea",
    "chess",
    "a lake at dawn",
    "bridges",
    "a pet cat",
    "spring cleaning",
    "theatre",
    "a farmer's day",
    "clouds",
    "maps",
)
_TEMPLATES = (
    "Write one sentence about {topic}.",
    "Give me two short facts about {topic}.",
    "Describe {topic} in a few words.",
    "Write a short poem about {topic}.",
    "Why do people enjoy {topic}? Answer briefly.",
    "Tell me something interesting about {topic}.",
    "Write a haiku about {topic}.",
    "Suggest a title for a story about {topic}.",
    "Explain {topic} to a child in two sentences.",
    "What is a good question to ask about {topic}?",
    "List three words that remind you of {topic}.",
    "Write a friendly greeting card message that mentions {topic}.",
    # Short answers under an instruction, in the forms everyday Q&A takes (one word, a number, a list, JSON,
    # yes/no), phrased unlike any retention item so the two stay disjoint.
    "Name one thing you might see at {topic}. Reply in a single word.",
    "Is {topic} usually loud or quiet? Reply in a single word.",
    "Give me one word that describes {topic}, and nothing else.",
    "On a scale from 1 to 10, how relaxing is {topic}? Respond with only a number.",
    "Write the phrase '{topic}' in capital letters.",
    "Give two words related to {topic} as a JSON list.",
    "Does {topic} happen indoors? Reply yes or no, then explain in one sentence.",
    "Name two things related to {topic}, separated by a semicolon.",
)


def builtin_prompts() -> list[str]:
    """Every built-in pool prompt, in a fixed order (topic-major)."""
    return [t.format(topic=topic) for topic in _TOPICS for t in _TEMPLATES]


def pick_prompts(pool: list[str], n: int, seed: int) -> list[str]:
    """n distinct prompts from the pool, drawn with a seeded shuffle; more than the pool holds is an error."""
    if n > len(pool):
        raise UserError(
            f"sft.replay.ratio asks for {n} replay examples but the prompt pool holds {len(pool)}; "
            "lower sft.replay.ratio or use sft.replay.pool=self"
        )
    order = list(range(len(pool)))
    random.Random(seed).shuffle(order)
    return [pool[i] for i in order[:n]]


def self_prompts(model, tokenizer, n: int, seed: int, max_new_tokens: int = 48) -> list[str]:
    """Prompts the model writes itself: sampled after the chat template's user header, cut at the end of the
    turn; empty, unfinished and repeated ones are dropped, and drawing goes on (up to 4 rounds) until n are found."""
    import torch

    header = user_header(tokenizer)
    ids = tokenizer(header, add_special_tokens=False, return_tensors="pt")["input_ids"].to(model.device)
    found: list[str] = []
    for round_ in range(4):
        torch.manual_seed(seed + round_)
        want = 2 * (n - len(found)) + 8
        with torch.inference_mode():
            out = model.generate(
                ids.repeat(want, 1),
                attention_mask=torch.ones_like(ids).repeat(want, 1),
                do_sample=True,
                temperature=1.0,
                top_p=0.95,
                max_new_tokens=max_new_tokens,
                eos_token_id=tokenizer.eos_token_id,
                pad_token_id=tokenizer.eos_token_id,
            )
        for row in out[:, ids.shape[1] :]:
            finished = tokenizer.eos_token_id in row.tolist()
            text = tokenizer.decode(row, skip_special_tokens=True).strip()
            if finished and len(text) >= 8 and text not in found:
                found.append(text)
        if len(found) >= n:
            return found[:n]
    raise UserError(
        f"sft.replay.pool=self: the model wrote only {len(found)} usable prompts of {n}; "
        "lower sft.replay.ratio or use sft.replay.pool=builtin"
    )


def user_header(tokenizer) -> str:
    """The template text that opens a user turn (with the template's default system turn, if any)."""
    marker = "\x00trainpipe\x00"
    text = render(tokenizer, [{"role": "user", "content": marker}])
    return text[: text.index(marker)]


def answer(model, tokenizer, prompts: list[str], max_new_tokens: int, batch_size: int = 64) -> list[dict]:
    """Greedy answers of the model as SFT conversations {messages, complete}; `complete` is false for an answer
    cut off by max_new_tokens, whose end-of-turn is then not trained (it would teach stopping mid-sentence).
    Large batches: a CPU decode step costs about the same for 16 rows as for 64 (it reads every weight once)."""
    from trainpipe.training.generation import generate_completions

    done = generate_completions(model, tokenizer, prompts, max_new_tokens, batch_size)
    out = []
    for prompt, (completion,) in zip(prompts, done):
        text = completion.text.strip()
        if text:
            out.append(
                {
                    "messages": [{"role": "user", "content": prompt}, {"role": "assistant", "content": text}],
                    "complete": completion.tokens < max_new_tokens,
                }
            )
    return out


def replay_conversations(
    rcfg: ReplayConfig, model_dir: Path, model_fp: str, n: int, cache_dir: Path, mcfg: ModelConfig
) -> list[dict]:
    """n replay conversations (fewer when the model answered some with nothing), generated once per
    (model, settings) and cached as JSON lines written atomically."""
    from trainpipe.models.hardware import model_dtype

    key = artifacts.fingerprint(model_fp, rcfg.pool, n, rcfg.max_new_tokens, rcfg.seed, str(model_dtype(mcfg.dtype)))
    path = cache_dir / f"replay-{key}.jsonl"
    if path.is_file():
        log.info("replay: %s (cached)", path)
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    from trainpipe.models.load import load_model, load_tokenizer

    tokenizer = load_tokenizer(model_dir, mcfg, padding_side="left")
    model = load_model(model_dir, mcfg)
    model.eval()
    if rcfg.pool == "self":
        prompts = self_prompts(model, tokenizer, n, rcfg.seed)
    else:
        prompts = pick_prompts(builtin_prompts(), n, rcfg.seed)
    convs = answer(model, tokenizer, prompts, rcfg.max_new_tokens)
    log.info(
        "replay: %d answers, %d of them cut off at sft.replay.max_new_tokens=%d",
        len(convs),
        sum(not c["complete"] for c in convs),
        rcfg.max_new_tokens,
    )
    cache_dir.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text("".join(json.dumps(c, ensure_ascii=False) + "\n" for c in convs), encoding="utf-8")
    tmp.replace(path)
    return convs


def replay_examples(convs: list[dict], tokenizer, max_length: int, task_examples: list[dict]) -> list[dict]:
    """Trainer examples for replay conversations, with the same columns as the task examples: weight 1 per
    token where those carry token weights, and curriculum difficulties spread over the task's range (replay
    runs through the whole curriculum, not only at its start). Conversations past max_length are skipped."""

    out = []
    difficulties = sorted(e["difficulty"] for e in task_examples if "difficulty" in e)
    for conv in convs:
        enc = encode_chat(tokenizer, conv["messages"])
        if len(enc.input_ids) > max_length:
            continue
        labels = list(enc.labels)
        last = max((i for i, t in enumerate(labels) if t != IGNORE), default=None)
        if not conv.get("complete", True) and last is not None and labels[last] == tokenizer.eos_token_id:
            labels[last] = IGNORE  # a cut-off answer: its text is trained, the end of turn after it is not
        ex = {"input_ids": enc.input_ids, "labels": labels}
        if task_examples and "token_weights" in task_examples[0]:
            ex["token_weights"] = [1.0] * len(enc.input_ids)
        if difficulties:
            ex["difficulty"] = difficulties[(len(out) * len(difficulties)) // max(1, len(convs))]
        out.append(ex)
    return out
