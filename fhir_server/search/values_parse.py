"""Search *values* as written in a query: escaping, OR lists, prefixes, and per-type parsing.

Kept apart from `params.py` (which deals with parameter *names*: modifiers, chains, `_has`, result
parameters) so each module reads end to end. Every failure raises `InvalidRequest` naming the parameter,
because the person reading the OperationOutcome needs to know which part of their URL to fix.
"""

from __future__ import annotations

from dataclasses import dataclass

from fhir_server.errors import InvalidRequest
from fhir_server.search.values import date_range, decimal_range

PREFIXES = frozenset({"eq", "ne", "gt", "lt", "ge", "le", "sa", "eb", "ap"})
PREFIXED_TYPES = frozenset({"number", "date", "quantity"})


@dataclass(frozen=True, slots=True)
class Value:
    """One OR-alternative of a search parameter value, parsed for the parameter's type.

    `text` is the unescaped value (after the prefix). Token and quantity fill `system`/`code` (with
    `has_system` telling `|code` from `code`), number/quantity fill `number`/`low`/`high` (implicit
    precision), date fills `low`/`high` as inclusive microsecond instants, composite fills `components`.
    """

    text: str
    prefix: str = "eq"
    system: str | None = None
    code: str | None = None
    has_system: bool = False
    number: float | None = None
    low: float | int | None = None
    high: float | int | None = None
    components: tuple[Value, ...] = ()


def split_unescaped(text: str, separator: str, maxsplit: int = -1) -> list[str]:
    """Split at `separator` unless it is escaped with a backslash; escapes are kept for `unescape`."""
    parts: list[str] = []
    current: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            current.append(text[i : i + 2])
            i += 2
            continue
        if ch == separator and (maxsplit < 0 or len(parts) < maxsplit):
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
        i += 1
    parts.append("".join(current))
    return parts


def unescape(text: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(text):
        if text[i] == "\\" and i + 1 < len(text) and text[i + 1] in ",|$\\":
            out.append(text[i + 1])
            i += 2
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def _prefix(text: str) -> tuple[str, str]:
    if len(text) > 2 and text[:2] in PREFIXES and not text[2].isalpha():
        return text[:2], text[2:]
    return "eq", text


def _number(name: str, text: str) -> tuple[float, float, float]:
    parsed = decimal_range(text)
    if parsed is None:
        raise InvalidRequest(f"Search parameter '{name}': '{text}' is not a number", expression=[name])
    return parsed


def parse_date(name: str, raw: str) -> Value:
    prefix, text = _prefix(raw)
    bounds = date_range(text)
    if bounds is None:
        raise InvalidRequest(
            f"Search parameter '{name}': '{raw}' is not a FHIR date (use e.g. 2020, 2020-03, 2020-03-01, "
            "2020-03-01T10:00:00Z, optionally prefixed with eq ne gt lt ge le sa eb ap)",
            expression=[name],
        )
    return Value(text=text, prefix=prefix, low=bounds[0], high=bounds[1])


def parse_number(name: str, raw: str) -> Value:
    prefix, text = _prefix(raw)
    value, low, high = _number(name, text)
    return Value(text=text, prefix=prefix, number=value, low=low, high=high)


def parse_quantity(name: str, raw: str) -> Value:
    prefix, text = _prefix(raw)
    parts = split_unescaped(text, "|", 2)
    value, low, high = _number(name, unescape(parts[0]))
    system = unescape(parts[1]) if len(parts) > 1 and parts[1] else None
    code = unescape(parts[2]) if len(parts) > 2 and parts[2] else None
    if len(parts) == 2:
        raise InvalidRequest(
            f"Search parameter '{name}': quantity '{raw}' must be number, number|system|code or number||code",
            expression=[name],
        )
    return Value(
        text=text,
        prefix=prefix,
        number=value,
        low=low,
        high=high,
        system=system,
        code=code,
        has_system=len(parts) > 1,
    )


def parse_token(name: str, raw: str) -> Value:
    parts = split_unescaped(raw, "|", 1)
    if len(parts) == 1:
        return Value(text=unescape(raw), code=unescape(raw))
    system, code = (unescape(p) for p in parts)
    return Value(text=unescape(raw), system=system or None, code=code or None, has_system=True)


def parse_plain(name: str, raw: str) -> Value:
    return Value(text=unescape(raw))


_PARSERS = {
    "date": parse_date,
    "number": parse_number,
    "quantity": parse_quantity,
    "token": parse_token,
}


def parse_value(name: str, param_type: str, raw: str) -> Value:
    """Parse one OR-alternative for a parameter of `param_type` (string/uri/reference are kept as text)."""
    if raw == "":
        raise InvalidRequest(f"Search parameter '{name}' has an empty value", expression=[name])
    return _PARSERS.get(param_type, parse_plain)(name, raw)


def parse_missing(name: str, raw: str) -> Value:
    if raw not in ("true", "false"):
        raise InvalidRequest(
            f"Search parameter '{name}': ':missing' takes true or false, not '{raw}'", expression=[name]
        )
    return Value(text=raw)
