"""Shared data loading: JSONL and HF-style local datasets, row errors, seeded group splits."""

from __future__ import annotations

import json

import pytest

from core.data import DataConfig, load_external, load_hf, load_jsonl, split_rows
from core.errors import ConfigError, DataError


def write_jsonl(path, rows):
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return path


def test_jsonl_with_column_mapping(tmp_path):
    path = write_jsonl(tmp_path / "d.jsonl", [{"q": "Who?", "a": "Ann"}, {"q": "Where?", "a": "Oslo"}])
    rows = load_jsonl(path, required=["question"], columns={"question": "q"})
    assert [r["question"] for r in rows] == ["Who?", "Where?"]


def test_malformed_jsonl_line_names_file_and_line(tmp_path):
    path = write_jsonl(tmp_path / "d.jsonl", [{"question": "ok"}, "{not json"])
    with pytest.raises(DataError, match=r"d.jsonl: line 2: invalid JSON"):
        load_jsonl(path)


def test_row_missing_a_field_names_the_row(tmp_path):
    path = write_jsonl(tmp_path / "d.jsonl", [{"question": "a"}, {"question": ""}])
    with pytest.raises(DataError, match=r"d.jsonl: row 2: missing or empty field 'question'"):
        load_jsonl(path, required=["question"])


def test_hf_loader_reads_local_files_and_dirs(tmp_path):
    write_jsonl(tmp_path / "train.jsonl", [{"text": f"t{i}", "label": i % 2} for i in range(5)])
    rows = load_hf(str(tmp_path / "train.jsonl"), required=["review"], columns={"review": "text"}, limit=3)
    assert [r["review"] for r in rows] == ["t0", "t1", "t2"]
    data_dir = tmp_path / "ds"
    data_dir.mkdir()
    write_jsonl(data_dir / "train.jsonl", [{"text": "x", "label": 1}])
    assert load_hf(str(data_dir), split="train")[0]["text"] == "x"


def test_unreachable_hub_dataset_is_one_line():
    with pytest.raises(DataError, match=r"dataset 'someone/no-such-dataset' \(split 'train'\) could not be loaded"):
        load_hf("someone/no-such-dataset")


def test_load_external_dispatch_and_errors(tmp_path):
    path = write_jsonl(tmp_path / "d.jsonl", [{"question": "q"}])
    assert load_external(DataConfig(source="jsonl", path=str(path)), ["question"]) == [{"question": "q"}]
    with pytest.raises(ConfigError, match="needs task.data.path"):
        load_external(DataConfig(source="jsonl"), [])
    with pytest.raises(ConfigError, match="task.data.source='csvx'"):
        load_external(DataConfig(source="csvx", path=str(path)), [])


def test_group_split_is_seeded_and_keeps_groups_together():
    rows = [{"passage": i // 3, "q": i} for i in range(60)]
    train, test = split_rows(rows, 0.25, seed=1, group=lambda r: r["passage"])
    assert split_rows(rows, 0.25, seed=1, group=lambda r: r["passage"]) == (train, test)
    assert {r["passage"] for r in train}.isdisjoint({r["passage"] for r in test})
    assert len(test) == 15 and len(train) + len(test) == 60
    assert split_rows(rows, 0.25, seed=2, group=lambda r: r["passage"])[1] != test
    with pytest.raises(ConfigError, match="test_fraction"):
        split_rows(rows, 1.5, seed=0)


def test_non_utf8_byte_names_file_and_line(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_bytes(b'{"a": "ok"}\n{"a": "caf\xe9"}\n')
    with pytest.raises(DataError, match=r"bad.jsonl: line 2: not UTF-8 \(byte 0xe9 at column 11\)"):
        load_jsonl(path)


def test_truncated_gzip_is_a_data_error(tmp_path):
    import gzip

    whole = gzip.compress(b"".join(b'{"a": %d}\n' % i for i in range(2000)))
    path = tmp_path / "cut.jsonl.gz"
    path.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(DataError, match="cut.jsonl.gz: truncated or corrupt gzip file after line"):
        load_jsonl(path)


def test_hf_loader_reads_local_jsonl_with_exact_line_numbers(tmp_path):
    path = tmp_path / "rows.jsonl"
    path.write_text('{"q": 1}\n{"q": 2}\n{"q": \n{"q": 4}\n')
    with pytest.raises(DataError, match="rows.jsonl: line 3: invalid JSON"):
        load_hf(str(path))


def test_limit_zero_is_refused_not_all_rows(tmp_path):
    path = tmp_path / "rows.jsonl"
    path.write_text('{"q": 1}\n{"q": 2}\n')
    with pytest.raises(ConfigError, match=r"task.data.limit=0: must be null \(all rows\) or an integer >= 1"):
        load_jsonl(path, limit=0)
    assert len(load_jsonl(path, limit=1)) == 1


def test_single_group_cannot_be_split_and_says_why():
    rows = [{"passage": "same", "q": i} for i in range(10)]
    with pytest.raises(DataError, match=r"only 1 distinct group .* among 10 rows: nothing is left to train on"):
        split_rows(rows, 0.2, seed=0, group=lambda r: r["passage"])
    train, test = split_rows([{"p": i % 2} for i in range(4)], 0.9, seed=0, group=lambda r: r["p"])
    assert train and test
