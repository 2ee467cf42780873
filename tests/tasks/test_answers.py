import gc
import time

from trainpipe.tasks import answers


def test_strip_think_closed_unclosed_and_stray_closer():
    assert answers.strip_think("a<think>x</think>b<THINK>y</Think>c") == "abc"
    assert answers.strip_think("keep <think>never closed Answer: 5") == "keep "
    assert answers.strip_think("reasoning Answer: 1</think>Answer: 2") == "Answer: 2"
    assert answers.strip_think("plain") == "plain"
    assert answers.strip_think("<think>a<think>b</think>c</think>d") == "d"


def _parse_all(n: int) -> float:
    # The cyclic GC's full passes scale with everything the test session holds, not with this parser: keep them
    # out of the measurement, or a long session makes linear work look quadratic.
    gc.collect()
    gc.disable()
    try:
        start = time.process_time()
        assert answers.strip_think("x" + "<think>" * n) == "x"
        assert answers.last_tagged("<INPUT>" * n + "</INPUT>", "INPUT") == ""
        assert answers.last_tagged("<INPUT>" * n, "INPUT") is None
        return time.process_time() - start
    finally:
        gc.enable()


def test_unclosed_tags_cost_linear_time():
    # 8x the input: linear work grows ~8x, quadratic ~64x; CPU-time ratios are robust to machine load.
    # The minimum of several runs discards one-off stalls (page faults, a busy neighbour).
    small = max(min(_parse_all(40_000) for _ in range(5)), 1e-3)
    large = min(_parse_all(320_000) for _ in range(5))
    assert large / small < 32


def test_final_int_prefers_last_answer_line_and_tolerates_format():
    assert answers.final_int("Answer: 3\nnope, Answer: 85") == 85
    assert answers.final_int("answer:  -1,234.") == -1234
    assert answers.final_int("**Answer:** 42") == 42
    assert answers.final_int("ANSWER: \u221212") == -12
    assert answers.final_int("so 2 + 3 = 5 and then 7") == 7
    assert answers.final_int("no digits") is None
    assert answers.final_int("<think>Answer: 9</think>") is None
    assert answers.final_int("<think>Answer: 9</think> final 4") == 4


def test_final_int_does_not_take_pieces_of_decimals():
    assert answers.final_int("Answer: 85.5") is None
    assert answers.final_int("it is 3.25") is None
    assert answers.final_int("1,000,000 exactly") == 1000000


def test_final_int_survives_pathological_text():
    start = time.monotonic()
    assert answers.final_int("1" * 200_000 + ",5") is None  # a run glued to ",5" is no integer
    assert answers.final_int("Answer: " + "7" * 5000) is None  # beyond int()'s digit limit
    assert answers.final_int("9" * 50_000 + " then 3") == 3
    assert time.monotonic() - start < 10.0  # a quadratic scan of these inputs takes minutes


def test_answer_line_detection():
    assert answers.has_answer_int_line("work\nAnswer: 85\n")
    assert answers.has_answer_int_line("Answer: -1,020.")
    assert not answers.has_answer_int_line("The answer: is 85 probably")
    assert not answers.has_answer_int_line("85")
    assert not answers.has_answer_int_line("<think>\nAnswer: 5\n</think>")


def test_parse_assignment_variants_and_override():
    text = "x1 = true, X2=0 x3:1 x2=True"
    assert answers.parse_assignment(text) == {1: True, 2: True, 3: True}
    assert answers.parse_assignment("try x1=True\nAnswer: x2=True") == {2: True}
    assert answers.parse_assignment("x1=True\nAnswer:\nx2=False") == {2: False}
    assert answers.parse_assignment("Answer: (see above)\nx4=1") == {4: True}
    assert answers.parse_assignment("<think>x1=True</think>x2=False") == {2: False}
    assert answers.parse_assignment("x10=Truthy") == {}
    assert answers.parse_assignment("x" + "9" * 5000 + "=True x2=1") == {2: True}


def test_last_tagged_and_python_block():
    text = "<INPUT>a</INPUT> then <input>\nb\n</input><think><INPUT>c</INPUT></think>"
    assert answers.last_tagged(text, "INPUT") == "\nb\n"
    assert answers.last_tagged("<INPUT>open only", "INPUT") is None
    assert answers.last_tagged("<INPUT>x<INPUT>y</INPUT>", "INPUT") == "y"
    reply = "```python\nprint(1)\n```\ntext\n```py\nprint(2)\n```\n```\nprint(3)\n```"
    assert answers.last_python_block(reply) == "print(2)\n"
    assert answers.last_python_block("```\nprint(3)\n```") is None


def test_normalize_output():
    assert answers.normalize_output("a  \r\nb\t\n\n\n") == "a\nb"
    assert answers.normalize_output("  a\n") == "  a"
    assert answers.normalize_output("") == ""
