"""core.feedback store, HTTP API (validation, tokens, undo rights, idempotency) and export."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from core.feedback.app import MAX_BODY, create_app
from core.feedback.export import agreement, export, load_preferences
from core.feedback.store import Store


def pair(i: int, chat: bool = True) -> dict:
    prompt = [{"role": "user", "content": f"Question {i}?"}] if chat else f"Question {i}?"
    return {"prompt": prompt, "prompt_text": f"Question {i}?", "completion_a": f"answer A{i}",
            "completion_b": f"answer B{i}", "model_a": "m1", "model_b": "m2", "reward_a": 1.0, "reward_b": 0.0,
            "task": "qa", "columns": {"answers": [str(i)]}}


@pytest.fixture()
def store(tmp_path):
    s = Store(tmp_path / "fb.db", overlap=2)
    s.add_pairs([pair(i) for i in range(1, 6)])
    return s


def login(client: TestClient, name: str) -> dict:
    r = client.post("/api/login", json={"name": name})
    assert r.status_code == 200, r.text
    return {"X-Rater-Key": r.json()["key"]}


def test_rate_undo_and_idempotent_retries(store):
    client = TestClient(create_app(store))
    alice = login(client, "alice")
    nxt = client.get("/api/next", params={"rater": "alice"}, headers=alice).json()
    assert nxt["pair"]["id"] == 1 and "reward_a" not in nxt["pair"]  # raters do not see automatic rewards
    body = {"uid": "u" * 16, "pair_id": 1, "rater": "alice", "choice": "a", "rating": 4, "correction": "fixed"}
    assert client.post("/api/judgements", json=body, headers=alice).status_code == 201
    assert client.post("/api/judgements", json=body, headers=alice).status_code == 200  # retry: stored once
    assert client.post("/api/judgements", json={**body, "uid": "v" * 16}, headers=alice).status_code == 409
    assert store.progress("alice")["mine"] == 1
    assert client.get("/api/next", params={"rater": "alice"}, headers=alice).json()["pair"]["id"] == 2
    # the name is claimed: another person cannot log in as alice, nor undo her work
    assert client.post("/api/login", json={"name": "alice"}).status_code == 403
    bob = login(client, "bob")
    assert client.post("/api/undo", json={"rater": "alice"}, headers=bob).status_code == 403
    assert client.post("/api/undo", json={"rater": "bob"}, headers=bob).status_code == 404
    r = client.post("/api/undo", json={"rater": "alice"}, headers=alice)
    assert r.status_code == 200 and r.json()["pair_id"] == 1
    assert store.judgements() == []


@pytest.mark.parametrize("body, status", [
    ('{"uid": "abcdefgh", "pair_id": 1,', 422),                                           # malformed JSON
    ({"uid": "abcdefgh", "pair_id": 99, "rater": "alice", "choice": "a"}, 404),          # unknown pair
    ({"uid": "abcdefgh", "pair_id": 1, "rater": "alice", "choice": "maybe"}, 422),       # invalid choice
    ({"uid": "abcdefgh", "pair_id": 1, "rater": "alice", "choice": "a", "rating": 9}, 422),
    ({"uid": "x", "pair_id": 1, "rater": "alice", "choice": "a"}, 422),                   # bad uid
    ({"uid": "abcdefgh", "pair_id": -1, "rater": "alice", "choice": "a"}, 422),
    ({"uid": "abcdefgh", "pair_id": 1, "rater": "<b>x</b>", "choice": "a"}, 422),         # bad rater name
    ({"uid": "abcdefgh", "pair_id": 1, "rater": "alice", "choice": "a", "correction": "x" * 5000}, 422),
    ({"uid": "abcdefgh", "pair_id": 1, "rater": "alice", "choice": "a", "extra": 1}, 422),
])
def test_bad_input_is_refused(store, body, status):
    client = TestClient(create_app(store))
    alice = login(client, "alice")
    if isinstance(body, str):
        r = client.post("/api/judgements", content=body, headers={**alice, "Content-Type": "application/json"})
    else:
        r = client.post("/api/judgements", json=body, headers=alice)
    assert r.status_code == status, r.text
    assert store.judgements() == []


def test_oversized_body_and_wrong_rater_key(store):
    client = TestClient(create_app(store))
    login(client, "alice")
    r = client.post("/api/judgements", content="x" * (MAX_BODY + 1), headers={"Content-Type": "application/json"})
    assert r.status_code == 413
    body = {"uid": "abcdefgh", "pair_id": 1, "rater": "alice", "choice": "a"}
    assert client.post("/api/judgements", json=body).status_code == 403
    assert client.post("/api/judgements", json=body, headers={"X-Rater-Key": "nope"}).status_code == 403


def test_token_is_required_on_every_request(store):
    client = TestClient(create_app(store, token="s3cret"))
    assert client.get("/").status_code == 401
    assert client.get("/", params={"token": "wrong"}).status_code == 401
    assert client.post("/api/login", json={"name": "a"}).status_code == 401
    assert client.get("/", params={"token": "s3cret"}).status_code == 200
    ok = {"Authorization": "Bearer s3cret"}
    assert client.post("/api/login", json={"name": "a"}, headers=ok).status_code == 200
    page = client.get("/", params={"token": "s3cret"})
    assert "script-src 'self'" in page.headers["content-security-policy"]


def test_export_is_trl_preference_format_with_agreement(store, tmp_path):
    for rater, choices in {"x": ["a", "b", "tie"], "y": ["a", "a", "both_bad"]}.items():
        store.ensure_rater(rater)
        for pid, choice in enumerate(choices, start=1):
            store.judge(f"{rater}-{pid}-uid", pid, rater, choice)
    summary = export(store, tmp_path / "prefs")
    assert summary["rows"] == 6 and summary["pairs"] == 4
    assert summary["agreement"]["comparisons"] == 3 and summary["agreement"]["raw"] == pytest.approx(1 / 3, abs=1e-3)
    rows = [json.loads(line) for line in open(tmp_path / "prefs.jsonl")]
    first = rows[0]
    assert first["prompt"] == [{"role": "user", "content": "Question 1?"}]
    assert first["chosen"] == [{"role": "assistant", "content": "answer A1"}]
    assert first["rejected"] == [{"role": "assistant", "content": "answer B1"}]
    assert (first["reward_a"], first["model_b"], first["rater"]) == (1.0, "m2", "x")
    assert [r["in_pairs"] for r in rows] == [True, True, False, True, True, False]
    for path in ("prefs.jsonl", "prefs.parquet"):
        ds = load_preferences(tmp_path / path)
        assert len(ds) == 4 and set(ds.column_names) == {"prompt", "chosen", "rejected"}
    assert ds[1]["chosen"][0]["content"] == "answer B2"


def test_agreement_without_overlap_is_none():
    assert agreement([{"pair_id": 1, "rater": "x", "choice": "a"}])["raw"] is None
