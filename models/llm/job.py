"""The chat job (family "chat"): one assistant answer to a conversation, streamed token by token.

    request = ChatRequest(messages=(("user", "Name three primary colors."),), temperature=0.0)
    for event in run(request, ctx): ...   # Partial("token", {...}) / Progress / Notice, then Result

Steps: pick the model -> render the chat template -> apply the context policy -> reuse the
conversation's KV cache for the longest shared token prefix (only new tokens are encoded) -> sample
(or beam search) until eos / a stop string / max tokens -> save the answer to the gallery.
The engine state (decoder, tokenizer, per-conversation KV caches) lives in `ctx.state['chat']`, so a
follow-up turn on the worker thread starts where the previous answer ended.
"""
from __future__ import annotations

import secrets
import time
from dataclasses import asdict, dataclass

from models.runtime.errors import BadInput
from models.runtime.events import Notice, Partial, Progress, Result

from . import sampling
from .chat_template import render_chat
from .context_policy import POLICIES, Turn, fit_context
from .detokenize import Detokenizer
from .chat_engine import cache_of

INSPECT_TOP = 10  # candidates recorded per token when the inspector is on


@dataclass(frozen=True)
class ChatRequest:
    family = "chat"

    messages: tuple = ()  # ((role, content), ...): the conversation, ending with the new user message
    model: str | None = None
    conversation_id: int | None = None  # KV cache reuse across turns of the same conversation
    system: str = ""
    max_tokens: int = 512
    temperature: float = 0.7
    top_k: int = 40
    top_p: float = 0.95
    min_p: float = 0.05
    repeat_penalty: float = 1.0
    seed: int | None = None  # None: a random seed, reported in the result
    beams: int = 1
    length_penalty: float = 1.0
    stop: tuple = ()  # extra stop strings
    context_policy: str = "drop_oldest"
    inspect: bool = False  # record the top candidates of every token (token inspector)
    save: bool = True  # save the answer to the gallery

    def params(self) -> dict:
        """Plain settings for the gallery item (restored by the chat panel's apply_params)."""
        data = asdict(self)
        data.pop("messages")
        data["stop"] = list(self.stop)
        return data


def validate(request: ChatRequest) -> None:
    if not request.messages or request.messages[-1][0] != "user" or not str(request.messages[-1][1]).strip():
        raise BadInput("The prompt is empty: type a message first.")
    for role, content in request.messages:
        if role not in ("system", "user", "assistant") or not isinstance(content, str):
            raise BadInput(f"A message has an unknown role '{role}' or no text.")
    if not isinstance(request.max_tokens, int) or not 1 <= request.max_tokens <= 32768:
        raise BadInput(f"max tokens must be from 1 to 32768, not {request.max_tokens}")
    if request.context_policy not in POLICIES:
        raise BadInput(f"Unknown context policy '{request.context_policy}' (use {', '.join(POLICIES)}).")
    if not isinstance(request.beams, int) or not 1 <= request.beams <= 16:
        raise BadInput(f"beams must be from 1 to 16, not {request.beams}")
    sampler_settings(request, 0).validate()


def sampler_settings(request: ChatRequest, seed: int) -> sampling.SamplerSettings:
    return sampling.SamplerSettings(temperature=request.temperature, top_k=request.top_k, top_p=request.top_p,
                                    min_p=request.min_p, repeat_penalty=request.repeat_penalty, seed=seed)


def run(request: ChatRequest, ctx):
    validate(request)
    seed = request.seed if request.seed is not None else secrets.randbelow(2**31)
    manifest = ctx.registry.get("chat", request.model)
    cache = cache_of(ctx)
    engine = cache.engine(manifest, ctx.sessions)
    messages, ids, notice = build_prompt(request, engine)
    if notice:
        yield Notice(notice)
    state = cache.state(request.conversation_id, manifest.name, engine)
    start = time.perf_counter()
    shared = engine.reuse(state, ids)  # keep the cached prefix, never re-run it
    yield Progress(0, request.max_tokens, "reading the prompt")
    logits = engine.feed(state, ids[shared:])  # (V,)
    prefill = time.perf_counter() - start
    if request.beams > 1:
        from .chat_beams import beam_answer

        outcome = yield from beam_answer(request, engine, state, ids, logits, seed)
    else:
        outcome = yield from sample_answer(request, engine, state, ids, logits, seed)
    elapsed = time.perf_counter() - start
    text, tokens, first, stop_reason, extra = outcome
    ttft = prefill + first if first is not None else elapsed
    decode = elapsed - ttft
    rate = (len(tokens) - 1) / decode if len(tokens) > 1 and decode > 0 else len(tokens) / max(elapsed, 1e-9)
    gallery_ids, files = [], []
    if request.save and text.strip():
        item = ctx.gallery.add_text(text, kind="chat", model=manifest.name, params=request.params(), seed=seed,
                                    prompt=messages[-1]["content"], messages=messages + [
                                        {"role": "assistant", "content": text}])
        gallery_ids, files = [item], [str(ctx.gallery.get(item).path)]
    yield Result({"text": text, "tokens": len(tokens), "ttft_s": round(ttft, 4), "tokens_per_s": round(rate, 2),
                  "stop_reason": stop_reason, "model": manifest.name, "seed": seed, "gallery_ids": gallery_ids,
                  "files": files, "prompt_tokens": len(ids), "cached_tokens": shared, "token_ids": tokens, **extra})


def build_prompt(request: ChatRequest, engine) -> tuple[list[dict], list[int], str | None]:
    """The messages kept by the context policy, their prompt ids, and the policy's notice (or None)."""
    messages = [{"role": r, "content": c} for r, c in request.messages]
    if request.system.strip() and messages[0]["role"] != "system":
        messages.insert(0, {"role": "system", "content": request.system})
    counts = turn_tokens(messages, engine)
    reserve = min(request.max_tokens, engine.context // 4)
    plan = fit_context([Turn(m["role"], n) for m, n in zip(messages, counts)], engine.context,
                       request.context_policy, reserve)
    if plan.stop:
        raise BadInput(plan.notice)
    kept = [dict(messages[i]) for i in plan.keep]
    if plan.cut_tokens:
        first = 1 if kept[0]["role"] == "system" else 0
        content_ids = engine.tokenizer.encode(kept[first]["content"])
        kept[first]["content"] = engine.tokenizer.decode(content_ids[plan.cut_tokens:], skip_special=True)
    ids = engine.encode(render(kept, engine))
    first = 1 if kept[0]["role"] == "system" else 0
    notice = plan.notice
    while len(ids) + reserve > engine.context and len(kept) - first > 1 and request.context_policy != "stop":
        del kept[first]  # the template's own text (a default system prompt) can move with the first turn
        ids = engine.encode(render(kept, engine))
        notice = notice or "The context was full: the oldest message was left out"
    if len(ids) + 1 > engine.context:
        raise BadInput(f"The prompt needs {len(ids)} tokens but the model's context holds {engine.context}.")
    return kept, ids, notice


def render(messages: list[dict], engine) -> str:
    return render_chat(messages, engine.chat_template, add_generation_prompt=True,
                       bos_token=engine.tokenizer.bos_token, eos_token=engine.tokenizer.eos_token)


def turn_tokens(messages: list[dict], engine) -> list[int]:
    """Tokens each message adds to the rendered prompt (the last one includes the generation prompt)."""
    counts, previous = [], ""
    for i in range(len(messages)):
        text = render_chat(messages[:i + 1], engine.chat_template, add_generation_prompt=i == len(messages) - 1,
                           bos_token=engine.tokenizer.bos_token, eos_token=engine.tokenizer.eos_token)
        added = text[len(previous):] if text.startswith(previous) else text
        counts.append(len(engine.tokenizer.encode(added)))
        previous = text
    return counts


class StopText:
    """Streams text while holding back any tail that could start a stop string."""

    def __init__(self, stops):
        self.stops = [s for s in stops if s]
        self.text = ""
        self.sent = 0
        self.hit = False

    def add(self, piece: str) -> str:
        self.text += piece
        for stop in self.stops:
            at = self.text.find(stop, max(0, self.sent - len(stop)))
            if at >= 0:
                self.text, self.hit = self.text[:at], True
        hold = 0 if self.hit else max([_overlap(self.text, s) for s in self.stops] + [0])
        out = self.text[self.sent:len(self.text) - hold]
        self.sent += len(out)
        return out

    def finish(self) -> str:
        out = self.text[self.sent:]
        self.sent = len(self.text)
        return out


def _overlap(text: str, stop: str) -> int:
    """Length of the longest suffix of text that is a proper prefix of stop."""
    for n in range(min(len(text), len(stop) - 1), 0, -1):
        if stop.startswith(text[-n:]):
            return n
    return 0


def candidates(logits, settings, history, engine) -> list[dict]:
    """Top candidates for the token inspector, raw and after each sampler stage."""
    rows = sampling.inspect(logits, settings, k=INSPECT_TOP, history=history)
    return [{"id": r.token_id, "piece": engine.piece(r.token_id), "logit": r.logit, "prob": r.prob,
             "stages": dict(r.stage_probs), "survives": r.survives} for r in rows]


def sample_answer(request: ChatRequest, engine, state, prompt_ids, logits, seed):
    """Sampler-chain decoding; yields token events and returns (text, tokens, ttft, stop_reason, extra)."""
    settings = sampler_settings(request, seed)
    chain = sampling.build_chain(settings)
    detok = Detokenizer(engine.tokenizer, strip_leading_space=engine.tokenizer.strip_leading_space)
    stop = StopText(request.stop)
    history = list(prompt_ids)
    tokens: list[int] = []
    start, first, reason = time.perf_counter(), None, "length"
    for n in range(1, request.max_tokens + 1):
        token = chain.sample(logits, history)
        inspected = None
        if request.inspect:
            inspected = {"candidates": candidates(logits, settings, history, engine), "picked": token, "beams": None}
        if first is None:
            first = time.perf_counter() - start
        if token in engine.eos_ids:
            reason = "eos"
            break
        tokens.append(token)
        history.append(token)
        text = stop.add(detok.push(token))
        yield Partial("token", {"text": text, "id": token, "index": n - 1, "piece": engine.piece(token),
                                "inspect": inspected})
        yield Progress(n, request.max_tokens)
        if stop.hit:
            reason = "stop"
            break
        if len(state.tokens) + 1 >= engine.context:
            reason = "context"
            yield Notice(f"The answer stopped at the model's {engine.context}-token context limit.")
            break
        if n < request.max_tokens:
            logits = engine.feed(state, [token])
    if not stop.hit:
        tail = stop.add(detok.flush()) + stop.finish()
        if tail:
            yield Partial("token", {"text": tail, "id": None, "index": len(tokens), "piece": "", "inspect": None})
    return stop.text, tokens, first, reason, {}
