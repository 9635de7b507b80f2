"""``eventually`` waits for state that has not arrived yet, and still fails in the end."""

from __future__ import annotations

import pytest

from tests.eventually import eventually


async def test_state_that_arrives_late_is_waited_for() -> None:
    state: dict[str, list[int]] = {}
    calls = 0

    def check() -> bool:
        nonlocal calls
        calls += 1
        if calls == 3:
            state["queue"] = []  # the update reaches the peer on the third look
        return state["queue"] == []

    await eventually(check, timeout=5, interval=0.001)
    assert calls == 3


@pytest.mark.parametrize("error", [KeyError("queue"), IndexError(1), AssertionError("no")])
async def test_state_that_never_arrives_fails_with_the_last_error(error: Exception) -> None:
    def check() -> None:
        raise error

    with pytest.raises(type(error)):
        await eventually(check, timeout=0.05, interval=0.01)


async def test_other_errors_are_not_waited_for() -> None:
    calls = 0

    def check() -> None:
        nonlocal calls
        calls += 1
        raise TypeError("a bug in the test")

    with pytest.raises(TypeError):
        await eventually(check, timeout=5)
    assert calls == 1
