"""The ISA-18.2 alarm state machine as a table: (latched, state, event) -> next state; tests enumerate it.

States: normal, unack (unacknowledged), ack (acknowledged), rtn_unack (returned to normal, unacknowledged).
A latched alarm (emergency button, fire) does not return to normal by itself: when its condition goes it keeps
its state until a person resets it, and a reset while the condition is still there is refused.
Shelving, suppression and out-of-service are flags beside the state (they hide an alarm, never change its state).
"""

from __future__ import annotations

from enum import StrEnum


class State(StrEnum):
    NORMAL = "normal"
    UNACK = "unack"
    ACK = "ack"
    RTN_UNACK = "rtn_unack"


class Trigger(StrEnum):
    ALARM = "alarm"  # the condition became true
    CLEAR = "clear"  # the condition went away
    ACK = "ack"  # an operator acknowledged
    RESET = "reset"  # an operator reset a latched alarm (its condition is gone)


S, T = State, Trigger
# None: the trigger is refused in that state (nothing to acknowledge, not latched, ...).
TRANSITIONS: dict[tuple[bool, State, Trigger], State | None] = {
    # not latched
    (False, S.NORMAL, T.ALARM): S.UNACK,
    (False, S.NORMAL, T.CLEAR): S.NORMAL,
    (False, S.NORMAL, T.ACK): None,
    (False, S.NORMAL, T.RESET): None,
    (False, S.UNACK, T.ALARM): S.UNACK,
    (False, S.UNACK, T.CLEAR): S.RTN_UNACK,
    (False, S.UNACK, T.ACK): S.ACK,
    (False, S.UNACK, T.RESET): None,
    (False, S.ACK, T.ALARM): S.ACK,
    (False, S.ACK, T.CLEAR): S.NORMAL,
    (False, S.ACK, T.ACK): None,
    (False, S.ACK, T.RESET): None,
    (False, S.RTN_UNACK, T.ALARM): S.UNACK,
    (False, S.RTN_UNACK, T.CLEAR): S.RTN_UNACK,
    (False, S.RTN_UNACK, T.ACK): S.NORMAL,
    (False, S.RTN_UNACK, T.RESET): None,
    # latched: the condition going away changes nothing; a reset (condition gone) ends it, acknowledging it too
    (True, S.NORMAL, T.ALARM): S.UNACK,
    (True, S.NORMAL, T.CLEAR): S.NORMAL,
    (True, S.NORMAL, T.ACK): None,
    (True, S.NORMAL, T.RESET): None,
    (True, S.UNACK, T.ALARM): S.UNACK,
    (True, S.UNACK, T.CLEAR): S.UNACK,
    (True, S.UNACK, T.ACK): S.ACK,
    (True, S.UNACK, T.RESET): S.NORMAL,
    (True, S.ACK, T.ALARM): S.ACK,
    (True, S.ACK, T.CLEAR): S.ACK,
    (True, S.ACK, T.ACK): None,
    (True, S.ACK, T.RESET): S.NORMAL,
    (True, S.RTN_UNACK, T.ALARM): S.UNACK,  # not reached by a latched alarm; kept total for the table's tests
    (True, S.RTN_UNACK, T.CLEAR): S.RTN_UNACK,
    (True, S.RTN_UNACK, T.ACK): S.NORMAL,
    (True, S.RTN_UNACK, T.RESET): S.NORMAL,
}


def next_state(latched: bool, state: State | str, trigger: Trigger) -> State | None:
    """The state after ``trigger`` (None: refused)."""
    return TRANSITIONS[(latched, State(state), trigger)]
