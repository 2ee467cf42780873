from pathlib import Path

import pytest

from trainpipe.config import load_config
from trainpipe.errors import UserError


def test_defaults_and_overrides_are_typed():
    cfg = load_config(None, ["sft.learning_rate=1e-4", "data.sources=[{path: my.jsonl}]", "sft.lora.r=4"])
    assert cfg.sft.learning_rate == pytest.approx(1e-4) and isinstance(cfg.sft.learning_rate, float)
    assert cfg.sft.lora.r == 4
    assert cfg.data.sources[0].path == "my.jsonl" and cfg.data.sources[0].kind == "file"
    assert cfg.data.sources[0].format == "auto"


def test_every_problem_reported_at_once_with_file_lines(tmp_path: Path):
    f = tmp_path / "c.yaml"
    f.write_text(
        "sft:\n  learnin_rate: 0.1\n  batch_size: 0\n  lora:\n    r: abc\n"
        "data:\n  sources:\n    - {path: x.jsonl, kind: bogus}\n"
    )
    with pytest.raises(UserError) as exc:
        load_config(str(f), ["model.bse=x", "sft.epochs=-1"])
    msg = str(exc.value)
    assert f"{f}:2: sft.learnin_rate: unknown key; did you mean 'sft.learning_rate'?" in msg
    assert f"{f}:3: sft.batch_size: expected an integer ≥ 1; got 0" in msg
    assert f"{f}:5: sft.lora.r: expected int; got 'abc'" in msg
    assert f"{f}:8: data.sources[0].kind: expected one of file, datasets, task, environment; got 'bogus'" in msg
    assert "override model.bse: unknown key; did you mean 'model.base'?" in msg
    assert "override sft.epochs: expected a positive number; got -1" in msg


def test_missing_required_value_names_dotted_key(tmp_path: Path):
    f = tmp_path / "c.yaml"
    f.write_text("model:\n  base: ???\n")
    with pytest.raises(UserError, match=r"c.yaml:2: model.base: missing required value"):
        load_config(str(f), [])


def test_bad_yaml_and_missing_file(tmp_path: Path):
    with pytest.raises(UserError, match="config file not found"):
        load_config(str(tmp_path / "nope.yaml"), [])
    f = tmp_path / "bad.yaml"
    f.write_text("sft: [unclosed\n")
    with pytest.raises(UserError, match="not valid YAML"):
        load_config(str(f), [])


def test_malformed_override():
    with pytest.raises(UserError, match="expected dotted.key=value"):
        load_config(None, ["sft.learning_rate"])


def test_repo_config_files_load():
    repo = Path(__file__).resolve().parents[1]
    for path in [repo / "config.yaml", *sorted((repo / "configs").glob("*.yaml"))]:
        load_config(str(path), [])


def test_a_setting_of_another_stage_is_an_unknown_key_with_exit_2(tmp_path: Path, capsys):
    """Each stage's section holds only what that stage reads: rl and cpt do not take sft's settings."""
    from trainpipe.cli import stage_main

    f = tmp_path / "c.yaml"
    f.write_text(
        "rl:\n  packing: true\n  loss: ce\ncpt:\n  group_by_length: false\nsft:\n  agent: {multi_turn: true}\n"
    )
    assert stage_main("rl", ["--config", str(f), "rl.flash_attention=true"]) == 2
    err = capsys.readouterr().err
    assert f"{f}:2: rl.packing: unknown key; did you mean 'cpt.packing'? (packing is a setting of cpt, sft only)" in err
    assert f"{f}:3: rl.loss: unknown key; did you mean 'rl.loss_type'? (loss is a setting of cpt, sft only)" in err
    assert (
        f"{f}:5: cpt.group_by_length: unknown key; did you mean 'sft.group_by_length'? (group_by_length is a "
        "setting of sft only)"
    ) in err
    assert f"{f}:7: sft.agent.multi_turn: unknown key\n" in err
    assert (
        "override rl.flash_attention: unknown key; did you mean 'sft.flash_attention'? (flash_attention is a "
        "setting of sft only)"
    ) in err
    assert "Traceback" not in err
