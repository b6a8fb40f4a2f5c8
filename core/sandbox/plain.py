"""Plain data across the sandbox boundary: a small tagged binary codec, strict both ways.

Only ``None, bool, int, float, str, bytes, list, tuple, dict, set`` (exact types,
never subclasses) are encoded; anything else raises ``NotPlain`` naming its type.
The decoder accepts exactly what the encoder writes (known tags, exact lengths, no
trailing bytes, bounded nesting) and builds only those types: no program object, no
pickle, no code ever runs while decoding. A ``Ref`` (a name in the program's globals)
may be encoded only where the caller allows it (judge -> program calls).

>>> decode(encode([1, ("a", b"b"), {2.5: None}, {True}]))
[1, ('a', b'b'), {2.5: None}, {True}]
"""
from __future__ import annotations

import struct

__all__ = ["MAX_DEPTH", "NotPlain", "Ref", "decode", "encode"]

MAX_DEPTH = 100
_LEN = struct.Struct(">I")
_FLOAT = struct.Struct(">d")


class NotPlain(TypeError):
    """Raised by ``encode`` for a value that is not plain data; ``.type_name`` says why."""

    def __init__(self, type_name: str):
        super().__init__(f"a {type_name} object is not plain data")
        self.type_name = type_name


class Ref(str):
    """The name of a global of the program (a function the test passes as argument)."""


_SEQ = {list: b"l", tuple: b"t", set: b"S"}


def encode(value, refs: bool = False) -> bytes:
    """Encode plain ``value`` to bytes; ``refs`` allows ``Ref`` names. Raises NotPlain."""
    out: list[bytes] = []
    _enc(value, out, refs, 0)
    return b"".join(out)


def _enc(v, out, refs, depth) -> None:
    t = type(v)
    if depth > MAX_DEPTH:
        raise NotPlain(f"structure nested deeper than {MAX_DEPTH} levels (or cyclic)")
    if v is None:
        out.append(b"N")
    elif t is bool:
        out.append(b"T" if v else b"F")
    elif t is int:
        raw = v.to_bytes((v.bit_length() + 8) // 8, "big", signed=True)
        out += (b"i", _LEN.pack(len(raw)), raw)
    elif t is float:
        out += (b"f", _FLOAT.pack(v))
    elif t is str or (refs and t is Ref):
        raw = str.encode(v, "utf-8", "surrogatepass")
        out += (b"s" if t is str else b"R", _LEN.pack(len(raw)), raw)
    elif t is bytes:
        out += (b"b", _LEN.pack(len(v)), v)
    elif t in _SEQ:
        out += (_SEQ[t], _LEN.pack(len(v)))
        for item in v:
            _enc(item, out, refs, depth + 1)
    elif t is dict:
        out += (b"d", _LEN.pack(len(v)))
        for key, item in v.items():
            _enc(key, out, refs, depth + 1)
            _enc(item, out, refs, depth + 1)
    else:
        raise NotPlain(getattr(t, "__qualname__", "?") if isinstance(
            getattr(t, "__qualname__", None), str) else "?")


def decode(data: bytes, refs: bool = False):
    """Decode bytes written by ``encode``; ValueError on anything else."""
    view = memoryview(data)
    try:
        value, end = _dec(view, 0, refs, 0)
    except (IndexError, struct.error, UnicodeDecodeError, TypeError, RecursionError) as exc:
        raise ValueError(f"malformed plain data: {type(exc).__name__}: {exc}") from None
    if end != len(view):
        raise ValueError("malformed plain data: trailing bytes")
    return value


def _take(view, pos, n):
    if n > len(view) - pos:
        raise ValueError("malformed plain data: truncated")
    return view[pos:pos + n], pos + n


def _dec(view, pos, refs, depth):
    if depth > MAX_DEPTH:
        raise ValueError("malformed plain data: nested too deep")
    tag, pos = bytes(view[pos:pos + 1]), pos + 1
    if tag == b"N":
        return None, pos
    if tag in (b"T", b"F"):
        return tag == b"T", pos
    if tag == b"f":
        raw, pos = _take(view, pos, 8)
        return _FLOAT.unpack(raw)[0], pos
    if tag in (b"i", b"s", b"b", b"R"):
        raw, pos = _take(view, pos, 4)
        raw, pos = _take(view, pos, _LEN.unpack(raw)[0])
        if tag == b"i":
            return int.from_bytes(raw, "big", signed=True), pos
        if tag == b"b":
            return bytes(raw), pos
        if tag == b"R" and not refs:
            raise ValueError("malformed plain data: reference not allowed here")
        text = str(raw, "utf-8", "surrogatepass")
        return (Ref(text) if tag == b"R" else text), pos
    if tag in (b"l", b"t", b"S", b"d"):
        raw, pos = _take(view, pos, 4)
        count = _LEN.unpack(raw)[0]
        if count > len(view) - pos:
            raise ValueError("malformed plain data: bad count")
        items = []
        for _ in range(count * 2 if tag == b"d" else count):
            item, pos = _dec(view, pos, refs, depth + 1)
            items.append(item)
        if tag == b"l":
            return items, pos
        if tag == b"t":
            return tuple(items), pos
        if tag == b"S":
            return set(items), pos
        return dict(zip(items[::2], items[1::2])), pos
    raise ValueError(f"malformed plain data: unknown tag {tag!r}")
