"""Validation is remembered per parsed document object, and still refuses what is invalid."""

from __future__ import annotations

from graphql import parse, specified_rules

from gateway.schema import build_schema
from gateway.validation_cache import ValidationResults

SCHEMA = build_schema()
RULES = tuple(specified_rules)


def test_a_document_is_validated_once_and_its_errors_kept() -> None:
    results = ValidationResults(maxsize=8)
    bad = parse("{ candidates(first: 1) { nope } }")
    first = results.validate(SCHEMA._schema, bad, RULES)
    assert [e.message for e in first] == [
        "Cannot query field 'nope' on type 'CandidateConnection'."
    ]
    assert results.validate(SCHEMA._schema, bad, RULES) is first
    assert len(results) == 1


def test_equal_text_parsed_twice_is_two_entries_and_the_oldest_goes_first() -> None:
    results = ValidationResults(maxsize=2)
    documents = [parse("{ __typename }") for _ in range(3)]
    for document in documents:
        assert results.validate(SCHEMA._schema, document, RULES) == []
    assert len(results) == 2
    kept = results.validate(SCHEMA._schema, documents[2], RULES)
    assert kept == [] and len(results) == 2


async def test_the_schema_refuses_invalid_queries_on_every_request() -> None:
    for _ in range(2):
        result = await SCHEMA.execute("{ candidates(first: 1) { nope } }")
        assert result.errors is not None
        assert result.errors[0].message.startswith("Cannot query field 'nope'")
