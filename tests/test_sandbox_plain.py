"""The boundary codec core.sandbox.plain: exact round trips, strict refusal of the rest."""
from __future__ import annotations

import math
from collections import OrderedDict
from fractions import Fraction
from unittest import mock

import pytest

from core.sandbox.plain import MAX_DEPTH, NotPlain, Ref, decode, encode


@pytest.mark.parametrize("value", [
    None, True, False, 0, -1, 2**200, -(2**200), 0.5, -0.0, math.inf, "", "é\U0001f600",
    "\ud800", b"", b"\x00\xff", [], (), {}, set(), [1, [2, (3, {4: "x"})]],
    {(1, 2): [None], "k": {True, 3.5, b"b"}}, (1,), [[]] * 3,
])
def test_round_trip_keeps_exact_types(value):
    out = decode(encode(value))
    assert out == value and type(out) is type(value)
    if isinstance(value, (list, tuple)):
        assert [type(x) for x in out] == [type(x) for x in value]


def test_nan_round_trips():
    assert math.isnan(decode(encode(float("nan"))))


class Sly(int):
    def __eq__(self, other):
        return True


@pytest.mark.parametrize("value, name", [
    (Sly(1), "Sly"), (mock.ANY, "_ANY"), (Fraction(1, 2), "Fraction"),
    (OrderedDict(), "OrderedDict"), (frozenset(), "frozenset"), (iter([]), "list_iterator"),
    ([1, object()], "object"), ({"a": 1j}, "complex"),
])
def test_non_plain_values_are_refused_by_name(value, name):
    with pytest.raises(NotPlain) as info:
        encode(value)
    assert info.value.type_name == name and "not plain data" in str(info.value)


def test_cycles_and_depth_are_refused():
    loop: list = []
    loop.append(loop)
    with pytest.raises(NotPlain, match="nested deeper"):
        encode(loop)
    deep: list = []
    for _ in range(MAX_DEPTH + 5):
        deep = [deep]
    with pytest.raises(NotPlain):
        encode(deep)


@pytest.mark.parametrize("data", [
    b"", b"X", b"N\x00", b"i\x00\x00\x00\x05\x01", b"s\x00\x00\x00\x02\xff\xfe",
    b"l\xff\xff\xff\xff", b"S\x00\x00\x00\x01l\x00\x00\x00\x00",  # a list inside a set
    b"R\x00\x00\x00\x01f", b"f\x00\x00",
])
def test_decoder_is_strict(data):
    with pytest.raises(ValueError, match="malformed plain data"):
        decode(data)


def test_refs_only_where_allowed():
    data = encode([Ref("helper"), 1], refs=True)
    assert decode(data, refs=True) == ["helper", 1]
    assert type(decode(data, refs=True)[0]) is Ref
    with pytest.raises(ValueError):
        decode(data)
    with pytest.raises(NotPlain):
        encode(Ref("helper"))
