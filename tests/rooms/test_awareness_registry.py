"""The awareness registry's rules, in process."""

from __future__ import annotations

from tandem.protocol import AwarenessEntry as Entry
from tandem.rooms.awareness import (
    VIEWER_COUNT_CLIENT_ID,
    Audience,
    AwarenessLimits,
    AwarenessRegistry,
)

OWNER = {"username": "owner", "role": "owner"}
VIEWER = {"username": "v", "role": "view"}


def test_an_id_stays_bound_to_its_principal_after_its_connection_left():
    reg = AwarenessRegistry()
    assert reg.accept("tab1", "user:o", OWNER, [Entry(5, 1, {"c": 1})])
    assert reg.remove_peer("tab1") == [Entry(5, 2, None)]
    assert reg.accept("sock2", "guest:g", VIEWER, [Entry(5, 9, {"c": 6})]) == []
    back = reg.accept("tab1-again", "user:o", OWNER, [Entry(5, 1, {"c": 3})])
    assert [e.state["c"] for e in back] == [3]


def test_a_live_id_is_not_rebound_by_an_echo_of_the_same_principal():
    reg = AwarenessRegistry()
    reg.accept("tab1", "user:o", OWNER, [Entry(5, 3, {"c": 1})])
    assert reg.accept("tab2", "user:o", OWNER, [Entry(5, 3, {"c": 1})]) == []
    reg.remove_peer("tab2")
    assert [e.client_id for e in reg.states()] == [5]


def test_limits_and_audiences():
    reg = AwarenessRegistry(AwarenessLimits(max_ids_per_peer=2, max_states_per_room=3))
    got = reg.accept("a", "user:a", VIEWER, [Entry(i, 1, {}) for i in range(1, 5)])
    assert [e.client_id for e in got] == [1, 2]
    reg.accept("b", "user:b", OWNER, [Entry(10, 1, {}), Entry(VIEWER_COUNT_CLIENT_ID, 1, {})])
    assert reg.accept("c", "user:c", VIEWER, [Entry(20, 1, {})]) == []  # the room is full
    assert [e.client_id for e in reg.states(Audience.EDITORS_ONLY)] == [10]
    assert reg.viewer_count() == 2


def test_states_not_renewed_expire():
    now = [0.0]
    reg = AwarenessRegistry(clock=lambda: now[0])
    reg.accept("a", "user:a", OWNER, [Entry(1, 1, {})])
    now[0] = 20
    reg.accept("b", "user:b", OWNER, [Entry(2, 1, {})])
    now[0] = 31
    assert reg.expire_older_than(30) == [Entry(1, 2, None)]
    assert [e.client_id for e in reg.states()] == [2]
    assert reg.accept("a", "user:a", OWNER, [Entry(1, 3, {"back": True})])
