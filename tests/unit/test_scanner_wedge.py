"""A keyboard-wedge scanner types like a very fast cashier: the detector tells its codes from a
person's typing by the key timing alone."""

from __future__ import annotations

import pytest

from drivers.scanner.wedge import ENTER, Decision, Scanned, Typed, WedgeDetector

EAN = "8991234567890"


def keys(text: str, start: float, gap: float) -> list[tuple[str, float]]:
    return [(char, start + index * gap) for index, char in enumerate(text)]


def run(detector: WedgeDetector, events: list[tuple[str, float]], end: float) -> list[Decision]:
    """Feed every key, then let the app's timer poll once at ``end``; merge adjacent typing."""
    decided: list[Decision] = []
    for char, at in events:
        decided += detector.feed(char, at)
    decided += detector.poll(end)
    merged: list[Decision] = []
    for decision in decided:
        if merged and isinstance(decision, Typed) and isinstance(merged[-1], Typed):
            merged[-1] = Typed(merged[-1].text + decision.text)
        else:
            merged.append(decision)
    return merged


def test_a_fast_burst_ended_by_enter_is_a_scan() -> None:
    detector = WedgeDetector()
    assert run(detector, keys(EAN + "\r", 10.0, 0.004), 11.0) == [Scanned(EAN)]


def test_the_same_code_typed_at_human_speed_is_typing() -> None:
    detector = WedgeDetector()
    events = keys(EAN + "\n", 10.0, 0.180)
    assert run(detector, events, 20.0) == [Typed(EAN + ENTER)]


def test_a_burst_without_enter_is_typing_once_the_gap_is_over() -> None:
    detector = WedgeDetector()
    for char, at in keys(EAN, 10.0, 0.004):
        assert detector.feed(char, at) == []  # held back: it may still be a scan
    last = 10.0 + 12 * 0.004
    assert detector.poll(last + 0.029) == []  # within max_gap: it may still end in Enter
    assert detector.poll(last + 0.031) == [Typed(EAN)]


def test_a_short_fast_burst_is_typing() -> None:
    detector = WedgeDetector(min_length=6)
    assert run(detector, keys("12345\r", 10.0, 0.004), 11.0) == [Typed("12345" + ENTER)]


def test_one_slow_key_inside_a_burst_breaks_it() -> None:
    detector = WedgeDetector()
    events = [*keys("899123", 10.0, 0.004), *keys("4567890\r", 10.2, 0.004)]
    assert run(detector, events, 11.0) == [Typed("899123"), Scanned("4567890")]


def test_typing_then_a_scan_then_typing_keeps_every_key_in_order() -> None:
    detector = WedgeDetector()
    events = [
        *keys("2x", 10.0, 0.200),
        *keys(EAN + "\r", 10.6, 0.003),
        *keys("ok\r", 11.5, 0.150),
    ]
    assert run(detector, events, 13.0) == [Typed("2x"), Scanned(EAN), Typed("ok" + ENTER)]


def test_threshold_and_length_are_configurable() -> None:
    slow_scanner = WedgeDetector(max_gap=0.060, min_length=8)
    assert run(slow_scanner, keys("12345678\r", 1.0, 0.050), 2.0) == [Scanned("12345678")]
    assert run(WedgeDetector(), keys("12345678\r", 1.0, 0.050), 2.0) == [Typed("12345678" + ENTER)]


def test_a_control_key_is_typing_and_ends_the_burst() -> None:
    detector = WedgeDetector()
    events = [*keys("899123", 10.0, 0.004), ("\x08", 10.03), *keys("456789\r", 10.034, 0.004)]
    assert run(detector, events, 11.0) == [Typed("899123\x08"), Scanned("456789")]


def test_keys_are_fed_one_character_at_a_time() -> None:
    with pytest.raises(ValueError):
        WedgeDetector().feed("ab", 1.0)
