"""The dialogue task: generated conversations, loaders, split, config and its generic rewards."""

from __future__ import annotations

import json

import pytest

from core.context import RunContext
from core.errors import ConfigError, DataError
from core.evaluators import run_evaluator
from core.run import build_rewards
from plugins.dialogue.generator import generate_conversations, load_scenarios
from plugins.dialogue.loaders import parse_conversation


def key(prompt) -> str:
    return json.dumps(prompt, sort_keys=True)


def make_task(compose_cfg, plugins, tmp_path, overrides=()):
    cfg = compose_cfg(["task=dialogue", "model=tiny", *overrides], tmp_path)
    return plugins.tasks.get("dialogue")(cfg.task), cfg


def test_generator_is_seeded_distinct_and_well_formed():
    rows = generate_conversations(300, seed=3, max_user_turns=3)
    assert rows == generate_conversations(300, seed=3, max_user_turns=3)
    assert rows != generate_conversations(300, seed=4, max_user_turns=3)
    assert len(rows) == 300 and len({key(r["messages"]) for r in rows}) == 300
    for r in rows:
        roles = [m["role"] for m in r["messages"]]
        assert roles == ["user", "assistant"] * (r["turns"] - 1) + ["user"]
        assert 1 <= r["turns"] <= 3 and r["reference"] and "{" not in json.dumps(r["messages"]).replace('{"', "")
        assert r["topic"].split("/")[0] == r["scenario"]
    assert {r["turns"] for r in rows} == {1, 2, 3}
    assert len({r["scenario"] for r in rows}) == len(load_scenarios()) == 10


def test_generator_rejects_impossible_turn_counts():
    with pytest.raises(ValueError, match="max_user_turns"):
        generate_conversations(10, seed=0, max_user_turns=50)


def test_default_splits_have_hundreds_of_prompts_and_are_disjoint(compose_cfg, plugins, tmp_path):
    task, cfg = make_task(compose_cfg, plugins, tmp_path)
    full = task.build_splits()
    train, test = full["train"], full["test"]
    assert len(train) >= 400 and len(test) >= 64
    assert not {key(p) for p in train["prompt"]} & {key(p) for p in test["prompt"]}
    assert not set(train["topic"]) & set(test["topic"])  # split by topic: held-out topics are unseen
    for prompt in train["prompt"][:50]:
        assert prompt[0] == {"role": "system", "content": cfg.task.system_prompt} and prompt[-1]["role"] == "user"
    assert len(task.splits()["test"]) == cfg.task.eval_prompts == 64


def test_split_depends_on_the_seed(compose_cfg, plugins, tmp_path):
    a, _ = make_task(compose_cfg, plugins, tmp_path, ["task.seed=1"])
    b, _ = make_task(compose_cfg, plugins, tmp_path, ["task.seed=2"])
    assert set(a.build_splits()["test"]["topic"]) != set(b.build_splits()["test"]["topic"])


def test_bad_builtin_settings(compose_cfg, plugins, tmp_path):
    task, _ = make_task(compose_cfg, plugins, tmp_path, ["task.max_user_turns=0"])
    with pytest.raises(ConfigError, match="task.max_user_turns=0"):
        task.build_splits()
    task, _ = make_task(compose_cfg, plugins, tmp_path, ["task.data.source=csv"])
    with pytest.raises(ConfigError, match="task.data.source='csv'"):
        task.build_splits()


def test_parse_conversation_shapes():
    msgs = [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"},
            {"role": "user", "content": "Weather?"}, {"role": "assistant", "content": "Sunny."}]
    assert parse_conversation({"messages": msgs}) == (msgs[:3], "Sunny.")
    assert parse_conversation({"messages": json.dumps(msgs[:3]), "reference": "Rain."}) == (msgs[:3], "Rain.")
    assert parse_conversation({"utterances": ["Hi", "Hello!", "Weather?"]}) == (msgs[:3], "")
    for bad, why in [({"messages": [{"role": "bot", "content": "x"}]}, "message 1"),
                     ({"messages": [{"role": "assistant", "content": "x"}]}, "end with a user turn"),
                     ({"utterances": ["a", 3]}, "list of strings"),
                     ({"text": "hi"}, "no 'messages' or 'utterances'")]:
        with pytest.raises(ValueError, match=why):
            parse_conversation(bad)


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def convo_rows(n: int, column: str = "messages"):
    rows = []
    for i in range(n):
        messages = [{"role": "user", "content": f"Question {i} about topic {i % 7}?"},
                    {"role": "assistant", "content": f"Answer {i}."}]
        rows.append({column: messages})
    return rows


def test_jsonl_loader_with_column_mapping(compose_cfg, plugins, tmp_path):
    path = write_jsonl(tmp_path / "chats.jsonl", convo_rows(20, column="conversation"))
    task, _ = make_task(compose_cfg, plugins, tmp_path, [
        "task.data.source=jsonl", f"task.data.path={path}", "+task.data.columns={messages: conversation}",
        "task.system_prompt=null"])
    splits = task.build_splits()
    assert len(splits["train"]) + len(splits["test"]) == 20
    row = splits["test"][0]
    assert row["prompt"][-1]["role"] == "user" and row["reference"].startswith("Answer")
    assert not {key(p) for p in splits["train"]["prompt"]} & {key(p) for p in splits["test"]["prompt"]}


def test_jsonl_loader_with_utterance_lists(compose_cfg, plugins, tmp_path):
    rows = [{"dialog": ["Hi there", f"Hello {i}!", f"Can you help with thing {i}?"]} for i in range(10)]
    path = write_jsonl(tmp_path / "utt.jsonl", rows)
    task, cfg = make_task(compose_cfg, plugins, tmp_path, [
        "task.data.source=jsonl", f"task.data.path={path}", "+task.data.columns={utterances: dialog}"])
    splits = task.build_splits()
    prompt = splits["train"][0]["prompt"]
    assert [m["role"] for m in prompt] == ["system", "user", "assistant", "user"]
    assert prompt[1]["content"] == "Hi there"


def test_rows_cut_from_one_conversation_stay_on_one_side(compose_cfg, plugins, tmp_path):
    rows = []
    for c in range(10):
        turns = [f"Hi, conversation {c}.", f"Hello {c}!", "Tell me more.", f"More {c}.", "Thanks!", "Bye."]
        rows += [{"utterances": turns[:k], "conversation": c} for k in (2, 4, 6)]  # 3 depths each
    path = write_jsonl(tmp_path / "unrolled.jsonl", rows)
    task, _ = make_task(compose_cfg, plugins, tmp_path, ["task.data.source=jsonl", f"task.data.path={path}"])
    splits = task.build_splits()
    sides = {}
    for side in ("train", "test"):
        for prompt in splits[side]["prompt"]:
            sides.setdefault(prompt[1]["content"], set()).add(side)
    assert len(sides) == 10 and all(len(s) == 1 for s in sides.values())
    assert len(splits["test"]) % 3 == 0 and len(splits["test"]) > 0


def test_malformed_row_names_file_and_row(compose_cfg, plugins, tmp_path):
    rows = convo_rows(5)
    rows[3] = {"messages": [{"role": "user", "content": "ok"}, {"role": "narrator", "content": "?"}]}
    path = write_jsonl(tmp_path / "bad.jsonl", rows)
    task, _ = make_task(compose_cfg, plugins, tmp_path, ["task.data.source=jsonl", f"task.data.path={path}"])
    with pytest.raises(DataError, match=r"bad\.jsonl: row 4: message 2 must be"):
        task.build_splits()


def test_hf_source_reads_a_local_data_file_and_directory(compose_cfg, plugins, tmp_path):
    folder = tmp_path / "ds"
    folder.mkdir()
    write_jsonl(folder / "train.jsonl", convo_rows(12))
    for path in (folder / "train.jsonl", folder):
        task, _ = make_task(compose_cfg, plugins, tmp_path, ["task.data.source=hf", f"task.data.path={path}"])
        splits = task.build_splits()
        assert len(splits["train"]) + len(splits["test"]) == 12


def test_default_config_reuses_generic_rewards_and_evaluators(compose_cfg, plugins, tmp_path):
    task, cfg = make_task(compose_cfg, plugins, tmp_path)
    names = [r.name for r in cfg.task.rewards]
    assert names == ["relevance", "length_target", "distinct_n"]
    assert all(plugins.rewards.source(n).startswith("core.rewards.builtin") for n in names)
    assert all(plugins.evaluators.source(n).startswith("core.rewards.builtin") for n in cfg.task.evaluators)
    assert "dialogue" not in {plugins.rewards.source(n).split()[0] for n in plugins.rewards}


def test_default_rewards_prefer_an_on_topic_reply_of_the_right_length(compose_cfg, plugins, tmp_path):
    task, cfg = make_task(compose_cfg, plugins, tmp_path)
    ctx = RunContext(cfg=cfg, output_dir=tmp_path, plugins=plugins, task=task)
    ds = task.splits()["test"]
    rewards = build_rewards(cfg.task.rewards, ctx, ds.column_names)
    row = ds[0]
    good = row["reference"]
    replies = [good, "Ok.", "Bananas and stock prices went up sharply on the moon yesterday, said the quiet fish."]
    prompts = [row["prompt"]] * 3
    completions = [[{"role": "assistant", "content": t}] for t in replies]
    total = [0.0] * 3
    for fn in rewards:
        total = [t + fn.weight * v for t, v in zip(total, fn(prompts, completions, reference=[good] * 3))]
    assert total[0] > total[1] and total[0] > total[2]
    metrics = {}
    for name in cfg.task.evaluators:
        metrics.update({f"{name}/{k}": v for k, v in run_evaluator(
            plugins.evaluators.get(name), prompts, completions, {"reference": [good] * 3}).items()})
    assert {"relevance/last_turn", "diversity/distinct_2", "length/mean_words", "diversity/repetition_rate"} <= set(metrics)
