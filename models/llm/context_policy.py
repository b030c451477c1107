"""What to keep when a conversation no longer fits the model's context window.

Usage::

    turns = [Turn("system", 40), Turn("user", 900), Turn("assistant", 700), Turn("user", 30)]
    plan = fit_context(turns, limit=2048, policy="drop_oldest", reserve=256)
    plan.keep        # indices of the turns to keep, in order
    plan.cut_tokens  # leading tokens to cut from the first kept non-system turn ("rolling" only)
    plan.notice      # one line for the user when the policy acted, else None

Policies (the names LM Studio users know):
- "stop": nothing is dropped; when it does not fit, `plan.stop` is True and the notice says why.
- "drop_oldest": keep the system prompt, drop whole turns from the oldest until it fits.
- "rolling": keep the system prompt and the last tokens that fit, cutting inside a turn if needed.
The last turn (the new prompt) is never dropped: if the system prompt plus it (plus `reserve`
tokens for the reply) cannot fit, BadInput is raised whatever the policy.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from models.runtime.errors import BadInput

POLICIES = ("stop", "drop_oldest", "rolling")


@dataclass(frozen=True)
class Turn:
    role: str      # "system", "user", "assistant", ...
    tokens: int    # its token count once rendered with the chat template


@dataclass
class ContextPlan:
    keep: list[int] = field(default_factory=list)
    cut_tokens: int = 0
    tokens: int = 0            # tokens left after the plan (without the reserve)
    stop: bool = False
    notice: str | None = None


def fit_context(turns, limit: int, policy: str = "stop", reserve: int = 0) -> ContextPlan:
    """Plan for `turns` in a context of `limit` tokens, leaving `reserve` tokens free for the reply."""
    if policy not in POLICIES:
        raise BadInput(f"Unknown context policy '{policy}' (use {', '.join(POLICIES)})")
    if limit < 1 or reserve < 0:
        raise BadInput(f"The context length must be positive (got {limit}) and the reserve 0 or more")
    turns = list(turns)
    if not turns:
        raise BadInput("The conversation is empty")
    budget = limit - reserve
    system = [i for i, t in enumerate(turns) if t.role == "system" and i == 0]
    last = len(turns) - 1
    fixed = sum(turns[i].tokens for i in system) + (turns[last].tokens if last not in system else 0)
    if fixed > budget:
        raise BadInput(f"The prompt needs {fixed} tokens but only {budget} of the {limit}-token context "
                       "are free: shorten it or use a model with a longer context")
    total = sum(t.tokens for t in turns)
    if total <= budget:
        return ContextPlan(keep=list(range(len(turns))), tokens=total)
    if policy == "stop":
        return ContextPlan(keep=list(range(len(turns))), tokens=total, stop=True,
                           notice=f"The conversation needs {total} tokens but the context holds {budget}: "
                                  "start a new chat or pick another overflow policy")
    middle = [i for i in range(len(turns)) if i not in system and i != last]
    room = budget - fixed
    kept: list[int] = []
    used = 0
    for i in reversed(middle):  # newest first
        if used + turns[i].tokens > room:
            break
        kept.insert(0, i)
        used += turns[i].tokens
    cut = 0
    if policy == "rolling" and len(kept) < len(middle) and room - used > 0:
        partial = middle[len(middle) - len(kept) - 1]  # the newest turn that did not fit whole
        cut = turns[partial].tokens - (room - used)
        kept.insert(0, partial)
        used = room
    keep = system + kept + ([last] if last not in system else [])
    dropped = len(turns) - len(keep)
    tokens = fixed + used
    if policy == "rolling":
        notice = f"The context was full: the oldest {total - tokens} tokens were left out"
    else:
        what = "message was" if dropped == 1 else f"{dropped} messages were"
        notice = f"The context was full: the oldest {what} left out"
    return ContextPlan(keep=keep, cut_tokens=cut, tokens=tokens, notice=notice)
