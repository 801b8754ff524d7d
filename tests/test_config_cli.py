"""`bodyscene config show` prints the config a command resolves; `config schema` exports it for editors."""

import json
import sys

import pytest
import yaml

from bodyscene.cli import main
from bodyscene.config import RunConfig, TrainConfig, load_config


def _stdout(monkeypatch, capsys, *args) -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "argv", ["bodyscene", *map(str, args)])
    with pytest.raises(SystemExit) as e:
        main()
    captured = capsys.readouterr()
    return e.value.code, captured.out, captured.err


def test_config_show_prints_defaults_then_file_then_set_as_yaml_that_loads_back(monkeypatch, capsys, tmp_path):
    code, out, _ = _stdout(monkeypatch, capsys, "config", "show", "--config", "demo", "--set", "train.lr=0.25")
    assert code == 0
    shown = RunConfig.model_validate(yaml.safe_load(out))  # the printed YAML is itself a valid config
    assert shown.train.lr == 0.25 and shown == load_config("demo", {"train": {"lr": 0.25}})
    assert shown.prepare.segmenter == load_config("demo").prepare.segmenter != RunConfig().prepare.segmenter
    saved = tmp_path / "shown.yaml"
    saved.write_text(out)
    assert load_config(saved) == shown  # show -> file -> --config gives the same run


def test_config_show_names_a_misspelt_set_key_in_one_line(run_cli):
    code, err = run_cli("config", "show", "--set", "train.lrr=1", one_line=True)
    assert code == 2 and "unknown key 'train.lrr'" in err


def test_config_schema_lists_every_key_with_its_default_and_forbids_unknown_ones(monkeypatch, capsys, tmp_path):
    path = tmp_path / "bodyscene.schema.json"
    code, _, err = _stdout(monkeypatch, capsys, "config", "schema", "--out", path)
    assert code == 0 and str(path) in err
    schema = json.loads(path.read_text())
    assert set(schema["properties"]) == set(RunConfig.model_fields)
    train = schema["$defs"]["TrainConfig"]
    assert set(train["properties"]) == set(TrainConfig.model_fields) and train["additionalProperties"] is False
    assert train["properties"]["lr"]["default"] == TrainConfig().lr
    assert schema["$defs"]["ModelConfig"]["properties"]["kind"]["enum"][0] == "baseline"
