from trainpipe.models.chat import IGNORE, encode_chat

CONV = [
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": "What is 2+2?"},
    {"role": "assistant", "content": "2 + 2 = 4\nAnswer: 4"},
    {"role": "user", "content": "Observation: fine"},
    {"role": "assistant", "content": "Done."},
]


def trained_text(tok, enc):
    return tok.decode([t for t, lab in zip(enc.input_ids, enc.labels) if lab != IGNORE])


def test_only_assistant_tokens_and_end_of_turn_are_trained(tokenizer):
    enc = encode_chat(tokenizer, CONV)
    assert trained_text(tokenizer, enc) == "2 + 2 = 4\nAnswer: 4<|im_end|>Done.<|im_end|>"
    # pad == eos here, and the end-of-turn token must still be trained
    assert tokenizer.pad_token_id == tokenizer.eos_token_id
    assert enc.labels.count(tokenizer.eos_token_id) == 2
    # labels equal input ids wherever they are trained
    assert all(lab in (IGNORE, tid) for tid, lab in zip(enc.input_ids, enc.labels))


def test_trained_turns_and_weights(tokenizer):
    enc = encode_chat(tokenizer, CONV, turn_weights=[0.5, 2.0], trained_turns={1})
    assert trained_text(tokenizer, enc) == "Done.<|im_end|>"
    weights = {w for w, lab in zip(enc.token_weights, enc.labels) if lab != IGNORE}
    assert weights == {2.0}
    assert all(w == 0.0 for w, lab in zip(enc.token_weights, enc.labels) if lab == IGNORE)


def test_default_system_prompt_is_not_trained(tokenizer):
    enc = encode_chat(tokenizer, [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}])
    assert trained_text(tokenizer, enc) == "hello<|im_end|>"
    assert "SmolLM" in tokenizer.decode(enc.input_ids)
