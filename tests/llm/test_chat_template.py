"""Chat template rendering against transformers' apply_chat_template (golden strings + heavy live check)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from models.llm.chat_template import CHATML_TEMPLATE, render_chat
from models.runtime.errors import BadInput, ModelError

CASES = json.loads((Path(__file__).parent / "fixtures" / "chat_golden.json").read_text(encoding="utf-8"))


def _render(case):
    return render_chat(case["messages"], case["template"], add_generation_prompt=case["add_generation_prompt"],
                       bos_token=case["bos_token"], eos_token=case["eos_token"])


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c['name']}-{len(c['messages'])}-{c['add_generation_prompt']}")
def test_matches_transformers_golden(case):
    if case["error"]:
        with pytest.raises(BadInput, match="rejected the conversation: Conversation roles must alternate"):
            _render(case)
    else:
        assert _render(case) == case["text"]


def test_smollm_template_and_ids(smollm_tok, smollm_golden):
    for chat in smollm_golden["chats"]:
        text = render_chat(chat["messages"], smollm_tok.chat_template,
                           add_generation_prompt=chat["add_generation_prompt"],
                           bos_token=smollm_tok.bos_token, eos_token=smollm_tok.eos_token)
        assert text == chat["text"]
        assert smollm_tok.encode(text) == chat["ids"]


def test_chatml_fallback():
    messages = [{"role": "system", "content": "S"}, {"role": "user", "content": "U"}]
    assert render_chat(messages) == "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nU<|im_end|>\n<|im_start|>assistant\n"
    assert render_chat(messages, "  ", add_generation_prompt=False).endswith("U<|im_end|>\n")
    assert render_chat(messages, None) == render_chat(messages, CHATML_TEMPLATE)


def test_extra_variables_and_globals():
    template = "{{ strftime_now('%Y') | length }}|{{ enable_thinking }}|{{ tools | tojson }}"
    assert render_chat([{"role": "user", "content": "x"}], template, enable_thinking=False,
                       tools=[{"name": "h\u00e9"}]) == '4|False|[{"name": "h\u00e9"}]'


def test_errors_are_one_line():
    user = [{"role": "user", "content": "x"}]
    with pytest.raises(ModelError, match="chat template is broken") as info:
        render_chat(user, "{% for m in messages %}\n{{ m.content }")
    assert "\n" not in str(info.value)
    with pytest.raises(ModelError, match="unsafe operation"):
        render_chat(user, "{{ messages.append(1) }}")
    with pytest.raises(ModelError, match="unsafe operation"):
        render_chat(user, "{{ ''.__class__.__mro__ }}")
    with pytest.raises(BadInput, match="conversation is empty"):
        render_chat([])
    with pytest.raises(BadInput, match="Message 1 has no role"):
        render_chat([{"content": "x"}])
    with pytest.raises(BadInput, match="Message 1 \\(user\\) has no text"):
        render_chat([{"role": "user"}])


@pytest.mark.heavy
def test_live_against_transformers():
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    from transformers.utils.chat_template_utils import render_jinja_template

    messages = [{"role": "system", "content": "  sys  "}, {"role": "user", "content": "q\u00e9 \U0001F600"},
                {"role": "assistant", "content": "a"}, {"role": "user", "content": "again"}]
    for case in {c["name"]: c for c in CASES}.values():
        for gen in (True, False):
            ours = render_chat(messages, case["template"], add_generation_prompt=gen, bos_token="<s>", eos_token="</s>")
            theirs = render_jinja_template([messages], chat_template=case["template"], add_generation_prompt=gen,
                                           bos_token="<s>", eos_token="</s>")[0][0]
            assert ours == theirs
