"""Render a model's Jinja chat template the way Hugging Face `apply_chat_template` does.

Usage::

    prompt = render_chat(messages, tok.chat_template, add_generation_prompt=True,
                         bos_token=tok.bos_token, eos_token=tok.eos_token)

`messages` is a list of {"role": ..., "content": ...} dicts. Without a template the ChatML format is used.
Like transformers, the template runs in a sandboxed, immutable Jinja environment with trim_blocks and
lstrip_blocks, the `loopcontrols` extension, a `tojson` filter that keeps non-ASCII text, and the globals
`raise_exception(msg)` and `strftime_now(fmt)`.
"""
from __future__ import annotations

import json
from datetime import datetime
from functools import lru_cache

from models.runtime.errors import BadInput, ModelError

CHATML_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)


class _TemplateRaised(Exception):
    """raise_exception() was called by the template (usually a bad conversation shape)."""


def _raise_exception(message):
    raise _TemplateRaised(str(message))


def _strftime_now(fmt):
    return datetime.now().strftime(fmt)


def _tojson(value, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    return json.dumps(value, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)


def _generation_extension():
    """`{% generation %}...{% endgeneration %}` (marks assistant text for training masks): render the body."""
    from jinja2 import nodes
    from jinja2.ext import Extension

    class Generation(Extension):
        tags = {"generation"}

        def parse(self, parser):
            lineno = next(parser.stream).lineno
            body = parser.parse_statements(("name:endgeneration",), drop_needle=True)
            return nodes.Scope(body, lineno=lineno)

    return Generation


@lru_cache(maxsize=16)
def compile_template(template: str):
    """A compiled jinja2 Template; a syntax error raises ModelError."""
    from jinja2 import TemplateError
    from jinja2.ext import loopcontrols
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                        extensions=[_generation_extension(), loopcontrols])
    env.filters["tojson"] = _tojson
    env.globals["raise_exception"] = _raise_exception
    env.globals["strftime_now"] = _strftime_now
    try:
        return env.from_string(template)
    except TemplateError as exc:
        line = f" (line {exc.lineno})" if getattr(exc, "lineno", None) else ""
        raise ModelError(f"The model's chat template is broken{line}: {exc.message or exc}") from None


def _check_messages(messages) -> list[dict]:
    if not isinstance(messages, (list, tuple)) or not messages:
        raise BadInput("The conversation is empty")
    checked = []
    for i, message in enumerate(messages):
        if not isinstance(message, dict) or not isinstance(message.get("role"), str):
            raise BadInput(f"Message {i + 1} has no role")
        if not isinstance(message.get("content"), (str, list)):
            raise BadInput(f"Message {i + 1} ({message['role']}) has no text")
        checked.append(dict(message))
    return checked


def render_chat(messages, template: str | None = None, *, add_generation_prompt: bool = True,
                bos_token: str | None = None, eos_token: str | None = None, **extra) -> str:
    """The prompt text for `messages`. `template=None` uses ChatML. Extra keyword arguments
    (tools, documents, enable_thinking, ...) are passed to the template like transformers does.
    A template that rejects the conversation (raise_exception) raises BadInput; a broken one ModelError."""
    from jinja2 import TemplateError
    from jinja2.exceptions import SecurityError

    compiled = compile_template(template if template and template.strip() else CHATML_TEMPLATE)
    values = {"messages": _check_messages(messages), "add_generation_prompt": add_generation_prompt}
    if bos_token is not None:
        values["bos_token"] = bos_token
    if eos_token is not None:
        values["eos_token"] = eos_token
    values.update(extra)
    try:
        return compiled.render(**values)
    except _TemplateRaised as exc:
        raise BadInput(f"The chat template rejected the conversation: {exc}") from None
    except SecurityError as exc:
        raise ModelError(f"The model's chat template tried an unsafe operation: {exc}") from None
    except TemplateError as exc:
        raise ModelError(f"The model's chat template failed: {exc.message or exc}") from None
    except (TypeError, ValueError, KeyError, IndexError, AttributeError) as exc:
        raise ModelError(f"The model's chat template failed: {exc}") from None
