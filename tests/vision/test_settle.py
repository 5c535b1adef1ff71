"""FootSettler: each track's foot fitted over one walking step, the frame in the middle returned half a step late."""

from __future__ import annotations

import numpy as np
import pytest

from iot_gateway.vision.settle import FootSettler


def _walk(
    settler: FootSettler, frames: int, swing: float, hidden: frozenset[int] = frozenset()
) -> dict[int, np.ndarray]:
    """Track 7 walks right at 4 px a frame, its box bottom swinging +-`swing` px with the steps; in `hidden` frames
    it is counted at a wrong (predicted) spot but not seen. Returns the settled feet by frame."""
    out = {}
    for n in range(1, frames + 1):
        true = np.array([[100.0 + 4 * n, 300.0 + 0.5 * n]])
        measured = true + [[0.0, swing * (-1) ** n]]
        seen_ids = np.array([], dtype=np.int64) if n in hidden else np.array([7])
        seen_feet = measured[:0] if n in hidden else measured
        counted = true + [[25.0, 25.0]] if n in hidden else measured
        settled = settler.push(n, seen_ids, seen_feet, np.array([7]), counted)
        if settled is not None:
            assert settled.track_ids.tolist() == [7]
            out[settled.frame] = settled.feet[0]
    return out


def test_lag_is_half_a_step_in_frames():
    assert FootSettler(7).lag == 2
    assert FootSettler(15).lag == 4
    assert FootSettler(1).lag == 1
    with pytest.raises(ValueError, match="frame_rate"):
        FootSettler(0)


def test_a_straight_walk_comes_back_exact_and_late():
    settler = FootSettler(7)
    settled = _walk(settler, 20, swing=0.0)
    assert sorted(settled) == list(range(1, 19))  # frame n settles when frame n + 2 has come
    for n, foot in settled.items():
        np.testing.assert_allclose(foot, [100.0 + 4 * n, 300.0 + 0.5 * n], atol=1e-9)


def test_the_step_swing_is_mostly_cancelled():
    settled = _walk(FootSettler(7), 30, swing=3.0)
    middle = [n for n in settled if 3 <= n <= 28]  # a full window on both sides
    errors = [abs(settled[n][1] - (300.0 + 0.5 * n)) for n in middle]
    assert max(errors) <= 0.7  # 3 px of swing -> 0.6 px after a 5-frame line fit (0 on a straight walk)
    assert all(abs(settled[n][0] - (100.0 + 4 * n)) < 1e-9 for n in middle)


def test_a_hidden_frame_is_interpolated_from_the_frames_around_it():
    settled = _walk(FootSettler(7), 20, swing=0.0, hidden=frozenset({10}))
    np.testing.assert_allclose(settled[10], [140.0, 305.0], atol=1e-9)  # not the prediction 25 px off


def test_untracked_and_new_boxes_keep_their_own_foot():
    settler = FootSettler(7)
    results = [settler.push(n, np.array([-1]), np.array([[50.0, 60.0 + n]]), np.array([-1]),
                            np.array([[50.0, 60.0 + n]])) for n in range(1, 5)]
    assert results[:2] == [None, None]
    assert results[2] is not None and results[2].frame == 1
    np.testing.assert_allclose(results[2].feet, [[50.0, 61.0]])
    # A track seen in fewer than three frames of the window is not fitted.
    settler = FootSettler(7)
    for n in range(1, 4):
        seen = np.array([3]) if n == 1 else np.array([], dtype=np.int64)
        feet = np.array([[10.0, 20.0]]) if n == 1 else np.zeros((0, 2))
        last = settler.push(n, seen, feet, np.array([3]), np.array([[10.0 + n, 20.0]]))
    assert last is not None and last.frame == 1
    np.testing.assert_allclose(last.feet, [[11.0, 20.0]])
