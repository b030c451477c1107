"""The SQLite conversation store: CRUD, search, settings, truncation, export, crash safety."""
from __future__ import annotations

import json
import sqlite3

import pytest

from models.llm.conversations import ConversationStore, title_from
from models.runtime.errors import BadInput


@pytest.fixture
def store(genloom_home):
    store = ConversationStore()
    yield store
    store.close()


def test_lives_in_the_data_dir_in_wal_mode(store, genloom_home):
    assert store.path == genloom_home / "chats.sqlite"
    assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_new_rename_delete_and_list_newest_first(store):
    a = store.new("First")
    b = store.new("Second", settings={"temperature": 0.2}, model="m")
    assert [c.id for c in store.list()] == [b, a]
    store.rename(a, "  Renamed\n chat ")
    assert store.get(a).title == "Renamed chat"
    assert store.get(b).settings == {"temperature": 0.2} and store.get(b).model == "m"
    store.append(a, "user", "hello")
    store.delete(a)
    assert [c.id for c in store.list()] == [b]
    assert store.db.execute("SELECT COUNT(*) FROM messages").fetchone()[0] == 0
    with pytest.raises(BadInput):
        store.get(a)


def test_search_matches_titles_and_message_text(store):
    colours = store.new("Colours")
    store.append(colours, "user", "Name three primary colors.")
    store.append(colours, "assistant", "Red, yellow and blue.")
    maths = store.new("Maths homework")
    store.append(maths, "user", "What is 2 + 2?")
    assert [c.id for c in store.search("yellow")] == [colours]
    assert [c.id for c in store.search("homework")] == [maths]
    assert [c.id for c in store.search("primary blue")] == [colours]  # every word, anywhere
    assert store.search("purple") == []
    assert len(store.search("")) == 2


def test_messages_append_update_truncate_and_replace(store):
    cid = store.new()
    store.append(cid, "user", "one")
    answer = store.append(cid, "assistant", "two", meta={"tokens": 2})
    store.append(cid, "user", "three")
    store.update_message(answer, "TWO", meta={"tokens": 3, "stop_reason": "eos"})
    assert [(m.role, m.content) for m in store.messages(cid)] == [("user", "one"), ("assistant", "TWO"),
                                                                   ("user", "three")]
    assert store.messages(cid)[1].meta == {"tokens": 3, "stop_reason": "eos"}
    store.truncate(cid, 1)
    assert [m.content for m in store.messages(cid)] == ["one"]
    store.replace_messages(cid, [("user", "a"), {"role": "assistant", "content": "b", "meta": {"x": 1}}])
    assert [(m.role, m.content, m.meta) for m in store.messages(cid)] == [("user", "a", {}),
                                                                          ("assistant", "b", {"x": 1})]
    with pytest.raises(BadInput):
        store.append(cid, "robot", "beep")


def test_settings_round_trip(store):
    cid = store.new()
    store.set_settings(cid, {"temperature": 0.9, "system": "Be brief.", "stop": ["END"]}, model="smol")
    assert store.settings(cid) == {"temperature": 0.9, "system": "Be brief.", "stop": ["END"]}
    assert store.get(cid).model == "smol"


def test_committed_writes_survive_a_second_connection(store):
    cid = store.new("Crash test")
    store.append(cid, "user", "saved before generation")
    other = sqlite3.connect(store.path)
    assert other.execute("SELECT content FROM messages").fetchall() == [("saved before generation",)]
    other.close()
    reopened = ConversationStore(store.path)
    assert [m.content for m in reopened.messages(cid)] == ["saved before generation"]
    reopened.close()


def test_export_md_txt_json(store, tmp_path):
    cid = store.new("Colours", settings={"system": "Be brief.", "temperature": 0.0}, model="smollm2")
    store.append(cid, "user", "Name three primary colors.")
    store.append(cid, "assistant", "Red, yellow and **blue**.", meta={"tokens": 8, "stop_reason": "eos"})
    md = store.export(cid, tmp_path / "chat.md")
    text = md.read_text(encoding="utf-8")
    assert text.startswith("# Colours") and "## User" in text and "**blue**" in text and "smollm2" in text
    assert "Be brief." in text
    txt = store.export(cid, tmp_path / "chat.txt").read_text(encoding="utf-8")
    assert "USER:" in txt and "ASSISTANT:" in txt
    data = json.loads(store.export(cid, tmp_path / "chat", fmt="json").read_text(encoding="utf-8"))
    assert [m["role"] for m in data["messages"]] == ["system", "user", "assistant"]
    assert data["messages"][2]["stats"]["tokens"] == 8 and data["params"]["temperature"] == 0.0
    assert (tmp_path / "chat.json").is_file()
    with pytest.raises(BadInput):
        store.render(cid, "pdf")


def test_title_from_a_prompt():
    assert title_from("Name three primary colors.") == "Name three primary colors."
    assert title_from("one two three four five six seven eight nine ten") == "one two three four five six seven eight …"
