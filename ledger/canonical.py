"""The one canonical byte encoding of signed data: deterministic CBOR over a small data model.

Values are maps with text keys, lists, integers, byte strings, text, booleans and null. Floats are
refused (money is integer rupiah). Encoding uses cbor2's canonical mode (shortest integer forms,
definite lengths, map keys sorted by length then bytes). Decoding refuses anything that would not
re-encode to the very same bytes, so every signed value has exactly one byte form.
See docs/record-format.md for the rules and the fixed test vectors.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import cbor2

from ledger.binary import FormatError

MAX_DEPTH = 16
MAX_SIZE = 1 << 20

Value = Any
"""A canonical value: dict[str, Value] | list[Value] | int | bytes | str | bool | None."""


_LEAVES = (str, bytes, bool, type(None))


def _check(value: Value, depth: int) -> None:
    if depth > MAX_DEPTH:
        raise FormatError("value nested too deeply")
    # Fast path for the exact built-in types (almost every value): the ABC checks below cost
    # more than the encoding itself on the host's ingest path. Same rules, same errors.
    kind = type(value)
    if kind is int:
        if not -(1 << 63) <= value < 1 << 63:
            raise FormatError("integers must fit in 64 bits")
        return
    if kind in _LEAVES:
        return
    if kind is dict:
        for key, item in value.items():
            if not isinstance(key, str):
                raise FormatError(f"map keys must be text, got {type(key).__name__}")
            _check(item, depth + 1)
        return
    if kind is list:
        for item in value:
            _check(item, depth + 1)
        return
    if isinstance(value, int) and not isinstance(value, bool):
        if not -(1 << 63) <= value < 1 << 63:
            raise FormatError("integers must fit in 64 bits")
        return
    if value is None or isinstance(value, bool | bytes | str):
        return
    if isinstance(value, float):
        raise FormatError("floats are not allowed in signed data")
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise FormatError(f"map keys must be text, got {type(key).__name__}")
            _check(item, depth + 1)
        return
    if isinstance(value, Sequence):
        for item in value:
            _check(item, depth + 1)
        return
    raise FormatError(f"type {type(value).__name__} is not allowed in signed data")


def encode(value: Value) -> bytes:
    _check(value, 0)
    data: bytes = cbor2.dumps(value, canonical=True)
    return data


def decode(data: bytes) -> Value:
    """Decode canonical bytes; any other input raises :class:`FormatError`."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise FormatError("expected bytes")
    if len(data) > MAX_SIZE:
        raise FormatError("encoded value too large")
    try:
        value = cbor2.loads(bytes(data), max_depth=MAX_DEPTH, allow_duplicate_keys=False)
    except (cbor2.CBORDecodeError, ValueError, TypeError, OverflowError, RecursionError) as exc:
        raise FormatError(f"not valid CBOR: {exc}") from exc
    if isinstance(value, cbor2.CBORTag | cbor2.CBORSimpleValue):
        raise FormatError("CBOR tags and simple values are not allowed")
    _check_decoded(value, 0)
    # _check_decoded has checked every value and that every map's keys came in canonical order
    # (a decoded dict keeps the order of the bytes). cbor2 always writes the shortest heads, so
    # the plain encoding of such a value is its canonical one, at a third of the cost of
    # canonical mode, which sorts every map again (tests/unit/test_decode_reuse.py).
    if cbor2.dumps(value) != bytes(data):
        raise FormatError("not in canonical form")
    return value


_CANONICAL_KEYS: set[tuple[str, ...]] = set()
"""Key sequences already seen in canonical order. Signed maps come in a few fixed shapes (a
record, its body, a sale line), so a host checks each shape's order once, not every record's."""
_KEY_CACHE_SIZE = 4096


def _check_key_order(keys: tuple[object, ...]) -> None:
    last_size, last_key = -1, ""
    for key in keys:
        if type(key) is not str:
            raise FormatError("map keys must be text")
        # Canonical order: by encoded length, then bytewise (UTF-8 keeps code point order).
        size = len(key) if key.isascii() else len(key.encode())
        if size < last_size or (size == last_size and key <= last_key):
            raise FormatError("not in canonical form: map keys out of order")
        last_size, last_key = size, key


def _check_decoded(value: Value, depth: int) -> None:
    # Leaves are checked inline (no call per leaf): this walk runs on every record a host ingests.
    kind = type(value)
    children: Any
    if kind is dict:
        keys = tuple(value)
        if keys not in _CANONICAL_KEYS:
            _check_key_order(keys)
            if len(_CANONICAL_KEYS) < _KEY_CACHE_SIZE:
                _CANONICAL_KEYS.add(keys)
        children = value.values()
    elif kind is list:
        children = value
    else:
        if isinstance(value, cbor2.CBORTag | cbor2.CBORSimpleValue):
            raise FormatError("CBOR tags and simple values are not allowed")
        _check(value, depth)
        return
    if depth >= MAX_DEPTH:
        raise FormatError("value nested too deeply")
    for item in children:
        item_kind = type(item)
        if item_kind is int:
            if not -(1 << 63) <= item < 1 << 63:
                raise FormatError("integers must fit in 64 bits")
        elif item_kind not in _LEAVES:
            _check_decoded(item, depth + 1)
