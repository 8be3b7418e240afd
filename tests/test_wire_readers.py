"""The shared tolerant readers answer empty, never raise, on any shape a field may arrive in."""

from __future__ import annotations

from providers.wire import figure, mappings, strings, text, text_or_integer

ODD = [None, True, 7, 1.5, float("nan"), "", "  ", "x", [], ["a", "", 3, {}], {"k": 1}, 10**400]


def test_every_reader_takes_every_shape() -> None:
    for value in ODD:
        raw = {"f": value}
        assert text(raw, "f") in (None, value)
        assert text_or_integer(raw, "f") in (None, value, str(value))
        assert figure(raw, "f", 100) in (None, 7.0, 1.5)
        assert isinstance(strings(raw, "f"), tuple)
        assert isinstance(mappings(raw, "f"), list)


def test_readers_keep_what_each_adapter_relied_on() -> None:
    assert text({"f": ""}, "f") is None and text({"f": " "}, "f") == " "
    assert text_or_integer({"f": 12}, "f") == "12" and text_or_integer({"f": " "}, "f") is None
    assert text_or_integer({"f": True}, "f") is None
    assert figure({"f": 101}, "f", 100) is None and figure({"f": 1e999}, "f", 100) is None
    assert strings({"f": ["a", "", 3]}, "f") == ("a",)
    assert strings({"f": ["a", "", 3]}, "f", keep_empty=True) == ("a", "")
    assert mappings({"f": [{"a": 1}, 2]}, "f") == [{"a": 1}]
