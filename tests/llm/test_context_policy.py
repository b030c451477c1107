"""Context overflow policies."""
from __future__ import annotations

import pytest

from models.llm.context_policy import Turn, fit_context
from models.runtime.errors import BadInput

TURNS = [Turn("system", 50), Turn("user", 300), Turn("assistant", 400), Turn("user", 200),
         Turn("assistant", 100), Turn("user", 30)]  # 1080 tokens


def test_fits_without_notice():
    for policy in ("stop", "drop_oldest", "rolling"):
        plan = fit_context(TURNS, 2048, policy, reserve=512)
        assert plan.keep == list(range(6)) and plan.notice is None and not plan.stop and plan.tokens == 1080


def test_stop():
    plan = fit_context(TURNS, 1024, "stop", reserve=24)
    assert plan.stop and plan.keep == list(range(6))
    assert plan.notice == ("The conversation needs 1080 tokens but the context holds 1000: "
                           "start a new chat or pick another overflow policy")


def test_drop_oldest_keeps_system_and_prompt():
    plan = fit_context(TURNS, 1024, "drop_oldest", reserve=224)  # budget 800
    # fixed 80 (system + last); room 720: assistant 100 + user 200 + assistant 400 = 700 fit, user 300 does not
    assert plan.keep == [0, 2, 3, 4, 5] and plan.tokens == 780 and plan.cut_tokens == 0
    assert plan.notice == "The context was full: the oldest message was left out"
    plan = fit_context(TURNS, 500, "drop_oldest")  # room 420: 100 + 200 fit, the 400 does not
    assert plan.keep == [0, 3, 4, 5] and plan.notice.endswith("the oldest 2 messages were left out")


def test_rolling_keeps_the_last_tokens():
    plan = fit_context(TURNS, 1024, "rolling", reserve=224)  # budget 800, room 720
    assert plan.keep == [0, 1, 2, 3, 4, 5] and plan.cut_tokens == 280 and plan.tokens == 800
    assert plan.notice == "The context was full: the oldest 280 tokens were left out"
    plan = fit_context(TURNS, 500, "rolling")  # room 420: 100 + 200 whole, then the last 120 of the 400
    assert plan.keep == [0, 2, 3, 4, 5] and plan.cut_tokens == 400 - 120 and plan.tokens == 500


def test_prompt_alone_too_long_is_bad_input():
    for policy in ("stop", "drop_oldest", "rolling"):
        with pytest.raises(BadInput, match="The prompt needs 80 tokens but only 70 of the 100-token context") as info:
            fit_context(TURNS, 100, policy, reserve=30)
        assert "\n" not in str(info.value)
    with pytest.raises(BadInput, match="needs 5000 tokens"):
        fit_context([Turn("user", 5000)], 4096)


def test_bad_arguments():
    with pytest.raises(BadInput, match="Unknown context policy 'truncate'"):
        fit_context(TURNS, 100, "truncate")
    with pytest.raises(BadInput, match="conversation is empty"):
        fit_context([], 100)
    with pytest.raises(BadInput, match="context length must be positive"):
        fit_context(TURNS, 0)
