"""sft.score on scored conversations: the weight mapping, the min-score filter, the score prefix and its served
chat template, and (tiny model, real tokenizer) that a low-rated copy of a conversation moves the model less."""

import pytest
import torch
from datasets import Dataset
from trl import SFTConfig as TrlSFTConfig

from trainpipe.config import ScoreConfig, SftConfig
from trainpipe.data.formats import Ctx, normalise
from trainpipe.data.records import sft_record
from trainpipe.errors import UserError
from trainpipe.models.chat import IGNORE, encode_chat, encode_prompt
from trainpipe.models.load import build_tiny_random
from trainpipe.training import scores
from trainpipe.training.sft_data import build_examples
from trainpipe.training.sft_trainer import TrainpipeSFTTrainer, WeightedCollator

COLOUR = [{"role": "human", "content": "Name a colour."}, {"role": "assistant", "content": "The sky is a deep blue."}]
SUM = [{"role": "user", "content": "What is 2 + 3?"}, {"role": "assistant", "content": "2 + 3 = 5\nAnswer: 5"}]


def scored(conversation, score):
    """A record exactly as collect makes it from a {conversation, meta_eval_score, score_reason} row."""
    row = {"conversation": conversation, "meta_eval_score": score, "score_reason": "r"}
    return normalise(row, "scored_conversation", "sft", Ctx("s.jsonl", 1, "s.jsonl"))


def plain(conversation):
    return sft_record(
        "p.jsonl",
        [{"role": "user" if m["role"] != "assistant" else "assistant", "content": m["content"]} for m in conversation],
    )


def sft_cfg(**score):
    return SftConfig(score=ScoreConfig(**score))


def test_score_weight_is_linear_from_low_to_high_and_clipped():
    assert scores.score_weight(5, 0, 5) == 1.0
    assert scores.score_weight(1, 0, 5) == pytest.approx(0.2)
    assert scores.score_weight(3, 1, 5) == pytest.approx(0.5)
    assert scores.score_weight(0.5, 1, 5) == 0.0 and scores.score_weight(9, 1, 5) == 1.0
    with pytest.raises(ValueError, match="above low"):
        scores.score_weight(3, 5, 5)


def test_min_score_drops_only_scored_records_below_it_and_reports_the_count(tokenizer):
    recs = [scored(COLOUR, 1), scored(SUM, 4), plain(COLOUR), scored(SUM[:1] + [SUM[1] | {"content": "5"}], 3)]
    examples, report = build_examples(recs, tokenizer, sft_cfg(min_score=3), 256)
    assert len(examples) == 3 and report["score_filtered"] == 1 and report["examples"] == 3
    # Equal to min_score is kept; the unscored record is never filtered, whatever the threshold.
    _, report = build_examples(recs, tokenizer, sft_cfg(min_score=100), 256)
    assert report["score_filtered"] == 3 and report["examples"] == 1
    with pytest.raises(UserError, match="drops all 2"):
        build_examples(recs[:2], tokenizer, sft_cfg(min_score=100), 256)


def test_default_leaves_every_record_as_today(tokenizer):
    recs = [scored(COLOUR, 1), scored(SUM, 5)]
    examples, report = build_examples(recs, tokenizer, SftConfig(), 256)
    assert examples == [
        {"input_ids": e.input_ids, "labels": e.labels} for e in (encode_chat(tokenizer, r["messages"]) for r in recs)
    ]
    assert not any(k.startswith("score") for k in report)


def test_weight_mode_scales_each_examples_trained_tokens(tokenizer):
    recs = [scored(COLOUR, 1), scored(SUM, 4), plain(COLOUR)]
    examples, report = build_examples(recs, tokenizer, sft_cfg(mode="weight", low=0, high=5), 256)
    for ex, want in zip(examples, (0.2, 0.8, 1.0)):  # the unscored record weighs 1
        trained = [w for w, lab in zip(ex["token_weights"], ex["labels"]) if lab != IGNORE]
        assert trained and trained == pytest.approx([want] * len(trained))
        assert all(w == 0.0 for w, lab in zip(ex["token_weights"], ex["labels"]) if lab == IGNORE)
    assert report["scored_records"] == 2 and report["score_high"] == 5
    # high defaults to the highest training score.
    examples, report = build_examples(recs[:2], tokenizer, sft_cfg(mode="weight"), 256)
    assert report["score_high"] == 4.0 and max(examples[0]["token_weights"]) == pytest.approx(0.25)


def test_weight_mode_without_scored_records_adds_no_weights(tokenizer):
    examples, _ = build_examples([plain(COLOUR)], tokenizer, sft_cfg(mode="weight"), 256)
    assert "token_weights" not in examples[0]  # the fast unweighted CE path stays


def test_weight_mode_refuses_what_cannot_weight(tokenizer):
    with pytest.raises(UserError, match="sft.loss=ce"):
        build_examples([scored(COLOUR, 1)], tokenizer, SftConfig(loss="nlirg", score=ScoreConfig(mode="weight")), 256)
    with pytest.raises(UserError, match="above sft.score.low"):
        build_examples([scored(COLOUR, 1)], tokenizer, sft_cfg(mode="weight", low=2), 256)


def test_score_prefix_renders_the_line_as_or_into_the_system_message():
    msgs = [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]
    assert scores.with_score_prefix(msgs, 4.5) == [{"role": "system", "content": "score: 4.5"}] + msgs
    system = [{"role": "system", "content": "Be brief."}] + msgs
    assert scores.with_score_prefix(system, 5.0)[0] == {"role": "system", "content": "score: 5\nBe brief."}
    assert system[0]["content"] == "Be brief."  # the input is not modified


def test_prefix_mode_trains_on_the_records_own_score(tokenizer):
    recs = [scored(COLOUR, 2), plain(SUM)]
    examples, report = build_examples(recs, tokenizer, sft_cfg(mode="prefix"), 256)
    text = tokenizer.decode(examples[0]["input_ids"])
    assert text.startswith("<|im_start|>system\nscore: 2<|im_end|>\n<|im_start|>user\nName a colour.")
    assert examples[1]["input_ids"] == encode_chat(tokenizer, recs[1]["messages"]).input_ids  # unscored: as today
    assert report["score_high"] == 2.0 and "token_weights" not in examples[0]


@pytest.mark.parametrize(
    "prompt",
    [
        [{"role": "user", "content": "Hi"}],
        [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}],
        [
            {"role": "user", "content": "Hi"},
            {"role": "assistant", "content": "Hello"},
            {"role": "user", "content": "Bye"},
        ],
    ],
)
def test_served_template_renders_prompts_as_training_renders_the_top_score(tokenizer, prompt):
    served = _copy(tokenizer)
    scores.serve_top_score(served, ScoreConfig(mode="prefix"), {"score_high": 5.0})
    # encode_prompt is what evaluation and RL render prompts with; training renders with_score_prefix.
    assert encode_prompt(served, prompt) == encode_prompt(tokenizer, scores.with_score_prefix(prompt, 5.0))
    trained = prompt + [{"role": "assistant", "content": "Ok"}]
    want = encode_chat(tokenizer, scores.with_score_prefix(trained, 5.0))
    assert encode_chat(served, trained).input_ids == want.input_ids


def test_served_template_keeps_a_score_line_the_caller_gives(tokenizer):
    served = _copy(tokenizer)
    scores.serve_top_score(served, ScoreConfig(mode="prefix"), {"score_high": 5.0})
    asked = [{"role": "system", "content": "score: 3"}, {"role": "user", "content": "Hi"}]
    assert encode_prompt(served, asked) == encode_prompt(tokenizer, asked)
    untouched = _copy(tokenizer)
    scores.serve_top_score(untouched, ScoreConfig(mode="weight"), {"score_high": 5.0})
    scores.serve_top_score(untouched, ScoreConfig(mode="prefix"), {"score_high": None})
    assert untouched.chat_template == tokenizer.chat_template


def _copy(tokenizer):
    import copy

    return copy.deepcopy(tokenizer)


# ---- a real (tiny) model ----------------------------------------------------------------------------------


def _train(tokenizer, tmp_path, colour_score, sum_score, mode):
    """Train the same seeded tiny model on both conversations (one batch) and return each one's loss after."""
    torch.manual_seed(0)
    recs = [scored(COLOUR, colour_score), scored(SUM, sum_score)]
    examples, _ = build_examples(recs, tokenizer, sft_cfg(mode=mode, low=0, high=5), 256)
    model = build_tiny_random(tokenizer, seed=0)
    args = TrlSFTConfig(
        output_dir=str(tmp_path),
        use_cpu=True,
        report_to=[],
        max_length=None,
        bf16=False,
        remove_unused_columns=False,
        per_device_train_batch_size=2,
        max_steps=4,
        learning_rate=1e-3,
        lr_scheduler_type="constant",
        save_strategy="no",
        seed=0,
        logging_steps=1,
    )
    trainer = TrainpipeSFTTrainer(
        model=model,
        args=args,
        train_dataset=Dataset.from_list(examples),
        processing_class=tokenizer,
        data_collator=WeightedCollator(pad_token_id=0),
    )
    trainer.train()
    return _losses(model.eval(), tokenizer)


def _losses(model, tokenizer):
    out = []
    for conv in (COLOUR, SUM):
        enc = encode_chat(
            tokenizer, [{"role": "user" if m["role"] == "human" else m["role"], "content": m["content"]} for m in conv]
        )
        with torch.no_grad():
            out.append(model(input_ids=torch.tensor([enc.input_ids]), labels=torch.tensor([enc.labels])).loss.item())
    return out


def test_a_low_rated_copy_moves_the_model_less_than_a_high_rated_one(tokenizer, tmp_path, one_thread):
    start = _losses(build_tiny_random(tokenizer, seed=0).eval(), tokenizer)
    colour_high = _train(tokenizer, tmp_path / "a", 5, 1, "weight")  # colour conversation rated 5/5, sum 1/5
    colour_low = _train(tokenizer, tmp_path / "b", 1, 5, "weight")  # the same two, ratings swapped
    drop = lambda after: [s - a for s, a in zip(start, after)]  # noqa: E731
    (colour_drop_high, sum_drop_low), (colour_drop_low, sum_drop_high) = drop(colour_high), drop(colour_low)
    assert colour_drop_high > 0 and sum_drop_high > 0
    # Each conversation learns clearly more when it is the high-rated one (weight 1 against 0.2).
    assert colour_drop_high > 1.2 * colour_drop_low and sum_drop_high > 1.2 * sum_drop_low
    # Without weight mode the ratings change nothing: both runs train identically.
    unweighted = _train(tokenizer, tmp_path / "c", 5, 1, "none")
    assert unweighted == pytest.approx(_train(tokenizer, tmp_path / "d", 1, 5, "none"))
