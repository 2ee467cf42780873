"""RL training sets from collect output: scored conversations reach the external reward under their own field name."""

import pytest

from trainpipe.config import RewardConfig, RlConfig
from trainpipe.data.formats import Ctx, normalise
from trainpipe.data.store import save_splits
from trainpipe.rl import data
from trainpipe.rl.rewards import ExternalReward


def scored(question, answer, score):
    row = {
        "conversation": [{"role": "human", "content": question}, {"role": "gpt", "content": answer}],
        "meta_eval_score": score,
        "score_reason": "r",
    }
    return normalise(row, "scored_conversation", "sft", Ctx("s.jsonl", 1, "s.jsonl"))


@pytest.mark.parametrize("field", ["meta_eval_score", "reward"])
def test_external_reward_finds_the_score_of_scored_conversations(tmp_path, tokenizer, field):
    recs = [scored("Name a colour.", "Blue.", 4), scored("Name a fruit.", "Apple.", 1)]
    save_splits(tmp_path / "collect" / "sft", "sft", {"train": recs, "eval": recs[:1]})
    spec = RewardConfig("external", field=field, low=0, high=5)
    ds, report = data.prompt_dataset(tmp_path / "collect", RlConfig(tasks=[], rewards=[spec]), tokenizer)
    assert report["external_prompts"] == 2
    rows = {r["reference"]: r for r in ds}
    # 4 on [0, 5] maps to 2 · 4/5 − 1 = 0.6, and 1 to −0.6; the prompt is the conversation before the answer.
    assert rows["Blue."]["external"] == pytest.approx(0.6) and rows["Apple."]["external"] == pytest.approx(-0.6)
    assert rows["Blue."]["prompt"] == [{"role": "user", "content": "Name a colour."}]
    got = ExternalReward(spec)(
        [rows["Blue."]["prompt"]],
        [[{"role": "assistant", "content": "Blue."}]],
        external=[rows["Blue."]["external"]],
        reference=["Blue."],
    )
    assert got == [pytest.approx(0.6)]  # an exact copy of the reference earns the whole scaled score
