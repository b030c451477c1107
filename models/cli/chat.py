"""`genloom chat`: one answer from the local chat model, streamed to stdout (or one JSON object)."""
from __future__ import annotations

import sys

from models import jobs
from models.llm.context_policy import POLICIES
from models.llm.job import ChatRequest
from models.runtime.events import Notice, Partial

from .common import context, print_json

DEFAULTS = ChatRequest()


def register(subs) -> None:
    parser = subs.add_parser("chat", help="ask the local chat model (streams the answer)")
    parser.add_argument("--model", help="chat model name (default: SmolLM2-135M-Instruct)")
    parser.add_argument("--prompt", required=True, help="your message")
    parser.add_argument("--system", default="", help="system prompt (instructions for the assistant)")
    parser.add_argument("--max-tokens", type=int, default=DEFAULTS.max_tokens, help="longest answer, in tokens")
    parser.add_argument("--temperature", type=float, default=DEFAULTS.temperature,
                        help="randomness; 0 = greedy and deterministic")
    parser.add_argument("--top-k", type=int, default=DEFAULTS.top_k,
                        help="sample among the K likeliest tokens; 0 = off")
    parser.add_argument("--top-p", type=float, default=DEFAULTS.top_p,
                        help="sample among the likeliest tokens holding probability P; 1 = off")
    parser.add_argument("--min-p", type=float, default=DEFAULTS.min_p,
                        help="drop tokens less likely than P times the best one; 0 = off")
    parser.add_argument("--repeat-penalty", type=float, default=DEFAULTS.repeat_penalty,
                        help="penalise recently used tokens; 1 = off")
    parser.add_argument("--beams", type=int, default=1, help="beam search with B beams (1 = sampling)")
    parser.add_argument("--length-penalty", type=float, default=DEFAULTS.length_penalty,
                        help="beam search: >1 favours longer answers, <1 shorter ones")
    parser.add_argument("--stop", action="append", default=[], help="stop when this text appears (repeatable)")
    parser.add_argument("--context-policy", choices=POLICIES, default=DEFAULTS.context_policy,
                        help="what to do when the conversation outgrows the context")
    parser.add_argument("--seed", type=int, help="sampling seed (default: random, printed with --json)")
    parser.add_argument("--no-save", action="store_true", help="do not save the answer to the gallery")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of streaming")
    parser.set_defaults(func=run)


def request_from(args) -> ChatRequest:
    return ChatRequest(messages=(("user", args.prompt),), model=args.model, system=args.system,
                       max_tokens=args.max_tokens, temperature=args.temperature, top_k=args.top_k, top_p=args.top_p,
                       min_p=args.min_p, repeat_penalty=args.repeat_penalty, seed=args.seed, beams=args.beams,
                       length_penalty=args.length_penalty, stop=tuple(args.stop),
                       context_policy=args.context_policy, save=not args.no_save)


def run(args) -> int:
    request = request_from(args)

    def on_event(event) -> None:
        if isinstance(event, Notice):
            print(f"genloom: note: {event.text}", file=sys.stderr)
        elif isinstance(event, Partial) and event.what == "token" and not args.json:
            sys.stdout.write(event.payload["text"])
            sys.stdout.flush()

    result = jobs.drive(request, context(args), on_event)
    if args.json:
        keys = ("text", "tokens", "ttft_s", "tokens_per_s", "stop_reason", "model", "seed", "gallery_ids",
                "files", "prompt_tokens", "beams")
        print_json({k: result[k] for k in keys if k in result})
    else:
        sys.stdout.write("\n")
        print(f"genloom: {result['tokens']} tokens, {result['tokens_per_s']} tok/s, first token "
              f"{result['ttft_s'] * 1000:.0f} ms, stopped on {result['stop_reason']}", file=sys.stderr)
    return 0
