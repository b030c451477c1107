"""Render a text item (chat answer or whole conversation) as Markdown, plain text or JSON."""
from __future__ import annotations

import json


def render(meta: dict, fmt: str) -> str:
    messages = meta.get("messages") or []
    if fmt == "json":
        return json.dumps({"model": meta.get("model"), "params": meta.get("params"), "messages": messages},
                          indent=2, ensure_ascii=False) + "\n"
    title = meta.get("params", {}).get("title") or meta.get("prompt", "")[:60] or "Conversation"
    if fmt == "md":
        parts = [f"# {title}", "", f"*Model: {meta.get('model', '')}*", ""]
        for message in messages:
            parts += [f"## {message.get('role', '').capitalize()}", "", message.get("content", ""), ""]
        return "\n".join(parts)
    parts = [title, "=" * len(title), ""]
    for message in messages:
        parts += [f"{message.get('role', '').upper()}:", message.get("content", ""), ""]
    return "\n".join(parts)
