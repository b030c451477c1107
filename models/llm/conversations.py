"""Chat conversations in SQLite (`<GENLOOM_HOME>/chats.sqlite`, WAL): titles, messages, settings.

Usage::

    store = ConversationStore()
    cid = store.new("Colours", settings={"temperature": 0.7})
    store.append(cid, "user", "Name three primary colors.")     # saved before generation starts
    store.append(cid, "assistant", answer, meta={"tokens": 12})  # saved after it ends
    store.search("colors")                                     # titles and message text
    store.export(cid, "chat.md")                               # .md, .txt or .json

A crash while the model is answering loses at most that partial answer: the user's message is already
committed, and each write is one transaction.
"""
from __future__ import annotations

import json
import sqlite3
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from models.runtime import paths
from models.runtime.errors import BadInput, StorageError

SCHEMA = """
CREATE TABLE IF NOT EXISTS conversations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    title TEXT NOT NULL,
    model TEXT NOT NULL DEFAULT '',
    created REAL NOT NULL,
    updated REAL NOT NULL,
    settings TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE IF NOT EXISTS messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    conversation INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    role TEXT NOT NULL,
    content TEXT NOT NULL,
    meta TEXT NOT NULL DEFAULT '{}',
    created REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS messages_conversation ON messages(conversation, position);
"""
FORMATS = ("md", "txt", "json")
ROLES = ("system", "user", "assistant")


@dataclass(frozen=True)
class Message:
    id: int
    role: str
    content: str
    meta: dict = field(default_factory=dict)  # per-answer stats: tokens, tokens_per_s, ttft_s, stop_reason...


@dataclass(frozen=True)
class Conversation:
    id: int
    title: str
    model: str
    created: float
    updated: float
    settings: dict


class ConversationStore:
    """One connection per thread that uses it (the panel owns one on the GUI thread)."""

    def __init__(self, path: Path | str | None = None):
        self.path = Path(path) if path else paths.home() / "chats.sqlite"
        try:
            self.db = sqlite3.connect(self.path, timeout=30)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.execute("PRAGMA foreign_keys=ON")
            self.db.executescript(SCHEMA)
        except sqlite3.Error as exc:
            raise StorageError(f"The chat history {self.path} cannot be opened: {exc}") from None

    def close(self) -> None:
        self.db.close()

    # ---- conversations -------------------------------------------------------------------------
    def new(self, title: str = "New chat", settings: dict | None = None, model: str = "") -> int:
        now = time.time()
        cursor = self._write("INSERT INTO conversations(title, model, created, updated, settings) VALUES (?,?,?,?,?)",
                             (_title(title), model or "", now, now, json.dumps(settings or {})))
        return int(cursor.lastrowid)

    def get(self, conversation_id: int) -> Conversation:
        row = self.db.execute("SELECT id, title, model, created, updated, settings FROM conversations WHERE id = ?",
                              (int(conversation_id),)).fetchone()
        if row is None:
            raise BadInput(f"No conversation with id {conversation_id}.")
        return Conversation(row[0], row[1], row[2], row[3], row[4], json.loads(row[5] or "{}"))

    def rename(self, conversation_id: int, title: str) -> None:
        self.get(conversation_id)
        self._write("UPDATE conversations SET title = ?, updated = ? WHERE id = ?",
                    (_title(title), time.time(), int(conversation_id)))

    def delete(self, conversation_id: int) -> None:
        self.get(conversation_id)
        with self._transaction():
            self.db.execute("DELETE FROM messages WHERE conversation = ?", (int(conversation_id),))
            self.db.execute("DELETE FROM conversations WHERE id = ?", (int(conversation_id),))

    def list(self, search: str | None = None) -> list[Conversation]:
        """Newest first; `search` keeps conversations whose title or any message has every word."""
        where, args = [], []
        for word in (search or "").split():
            like = f"%{word}%"
            where.append("(c.title LIKE ? OR EXISTS (SELECT 1 FROM messages m WHERE m.conversation = c.id "
                         "AND m.content LIKE ?))")
            args += [like, like]
        sql = "SELECT id, title, model, created, updated, settings FROM conversations c"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY updated DESC, id DESC"
        rows = self.db.execute(sql, args)
        return [Conversation(r[0], r[1], r[2], r[3], r[4], json.loads(r[5] or "{}")) for r in rows]

    def search(self, text: str) -> list[Conversation]:
        return self.list(search=text)

    def settings(self, conversation_id: int) -> dict:
        return self.get(conversation_id).settings

    def set_settings(self, conversation_id: int, settings: dict, model: str | None = None) -> None:
        self.get(conversation_id)
        self._write("UPDATE conversations SET settings = ?, model = COALESCE(?, model) WHERE id = ?",
                    (json.dumps(settings, default=str), model, int(conversation_id)))

    # ---- messages ------------------------------------------------------------------------------
    def messages(self, conversation_id: int) -> list[Message]:
        rows = self.db.execute("SELECT id, role, content, meta FROM messages WHERE conversation = ? "
                               "ORDER BY position, id",
                               (int(conversation_id),))
        return [Message(r[0], r[1], r[2], json.loads(r[3] or "{}")) for r in rows]

    def append(self, conversation_id: int, role: str, content: str, meta: dict | None = None) -> int:
        """Add a message at the end; returns its id (committed before this returns)."""
        self.get(conversation_id)
        if role not in ROLES:
            raise BadInput(f"Unknown message role '{role}' (use {', '.join(ROLES)}).")
        with self._transaction():
            position = self.db.execute("SELECT COALESCE(MAX(position), -1) + 1 FROM messages WHERE conversation = ?",
                                       (int(conversation_id),)).fetchone()[0]
            cursor = self.db.execute(
                "INSERT INTO messages(conversation, position, role, content, meta, created) VALUES (?,?,?,?,?,?)",
                (int(conversation_id), position, role, str(content), json.dumps(meta or {}, default=str), time.time()))
            self.db.execute("UPDATE conversations SET updated = ? WHERE id = ?", (time.time(), int(conversation_id)))
        return int(cursor.lastrowid)

    def update_message(self, message_id: int, content: str, meta: dict | None = None) -> None:
        with self._transaction():
            found = self.db.execute("UPDATE messages SET content = ?, meta = COALESCE(?, meta) WHERE id = ?",
                                    (str(content), None if meta is None else json.dumps(meta, default=str),
                                     int(message_id)))
            if found.rowcount == 0:
                raise BadInput(f"No message with id {message_id}.")

    def truncate(self, conversation_id: int, keep: int) -> None:
        """Keep the first `keep` messages (Regenerate and Edit & resend drop what follows)."""
        ids = [m.id for m in self.messages(conversation_id)][max(0, int(keep)):]
        with self._transaction():
            self.db.executemany("DELETE FROM messages WHERE id = ?", [(i,) for i in ids])
            self.db.execute("UPDATE conversations SET updated = ? WHERE id = ?", (time.time(), int(conversation_id)))

    def replace_messages(self, conversation_id: int, messages: list) -> None:
        """Replace the whole history with `messages` ((role, content) pairs or dicts with role/content/meta)."""
        self.get(conversation_id)
        rows = []
        for position, message in enumerate(messages):
            if isinstance(message, dict):
                role, content, meta = message.get("role"), message.get("content", ""), message.get("meta") or {}
            else:
                role, content, meta = message[0], message[1], {}
            if role not in ROLES:
                raise BadInput(f"Unknown message role '{role}' (use {', '.join(ROLES)}).")
            rows.append((int(conversation_id), position, role, str(content), json.dumps(meta, default=str),
                         time.time()))
        with self._transaction():
            self.db.execute("DELETE FROM messages WHERE conversation = ?", (int(conversation_id),))
            self.db.executemany(
                "INSERT INTO messages(conversation, position, role, content, meta, created) VALUES (?,?,?,?,?,?)", rows)
            self.db.execute("UPDATE conversations SET updated = ? WHERE id = ?", (time.time(), int(conversation_id)))

    # ---- export --------------------------------------------------------------------------------
    def render(self, conversation_id: int, fmt: str = "md") -> str:
        """The whole conversation as Markdown, plain text or JSON (with the system prompt and settings)."""
        from models.gallery.text_export import render

        if fmt not in FORMATS:
            raise BadInput(f"Unknown export format '{fmt}' (choose from {', '.join(FORMATS)}).")
        conversation = self.get(conversation_id)
        messages = [{"role": m.role, "content": m.content, **({"stats": m.meta} if m.meta else {})}
                    for m in self.messages(conversation_id)]
        system = conversation.settings.get("system")
        if system and not (messages and messages[0]["role"] == "system"):
            messages.insert(0, {"role": "system", "content": system})
        params = {**conversation.settings, "title": conversation.title}
        return render({"model": conversation.model, "params": params, "messages": messages,
                       "prompt": conversation.title}, fmt)

    def export(self, conversation_id: int, target: Path | str, fmt: str | None = None) -> Path:
        """Write the conversation to `target`; the format comes from `fmt` or the file's suffix."""
        target = Path(target)
        fmt = fmt or target.suffix.lstrip(".").lower() or "md"
        text = self.render(conversation_id, fmt)
        if target.suffix.lstrip(".").lower() != fmt:
            target = target.with_name(target.name + "." + fmt)
        tmp = target.with_name(target.name + ".tmp")
        try:
            tmp.write_text(text, encoding="utf-8")
            tmp.replace(target)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise StorageError(f"Cannot write {target}: {exc.strerror or exc}") from None
        return target

    # ---- helpers -------------------------------------------------------------------------------
    def _write(self, sql: str, args: tuple):
        with self._transaction():
            return self.db.execute(sql, args)

    @contextmanager
    def _transaction(self):
        """One committed transaction; sqlite errors become one-line StorageErrors."""
        try:
            with self.db:
                yield
        except sqlite3.Error as exc:
            raise StorageError(f"The chat history could not be saved: {exc}") from None


def _title(text: str) -> str:
    title = " ".join(str(text or "").split())[:120]
    return title or "New chat"


def title_from(prompt: str, words: int = 8) -> str:
    """A conversation title from its first prompt: the first few words."""
    parts = " ".join(str(prompt).split()).split(" ")
    title = " ".join(parts[:words])
    return (title + " …" if len(parts) > words else title) or "New chat"
