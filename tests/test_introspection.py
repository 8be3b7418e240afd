"""Introspection answers every query real tools send, over HTTP, without an error.

Strawberry 0.341's `__Type.isOneOf` failed (INTERNAL) on list and non-null types; the gateway's
schema puts graphql-core's meaning back (gateway.schema._is_one_of). The documents below are
what GraphiQL, Apollo's tools and graphql-codegen send; each answer must build a client schema
that is the gateway's own.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from graphql import (
    build_client_schema,
    get_introspection_query,
    lexicographic_sort_schema,
    print_schema,
)

from gateway.schema import build_schema
from tests.conftest import Stack

ISSUE = '{ __type(name:"Account") { fields { type { isOneOf } } } }'

# isOneOf asked of every wrapper, of fields, arguments and input fields alike.
WRAPPED = """
fragment Ref on __Type { kind name isOneOf ofType { kind name isOneOf ofType { kind name isOneOf
  ofType { kind name isOneOf } } } }
{
  account: __type(name: "Account") { isOneOf fields { type { ...Ref } } }
  query: __type(name: "Query") { fields { type { ...Ref } args { type { ...Ref } } } }
  input: __type(name: "CreateCandidateInput") { isOneOf inputFields { type { ...Ref } } }
  __schema { types { name kind isOneOf } }
}
"""

TYPE_REF = """
fragment TypeRef on __Type {
  kind name
  ofType { kind name ofType { kind name ofType { kind name ofType { kind name
    ofType { kind name ofType { kind name ofType { kind name } } } } } } }
}
"""

# Apollo Rover (`rover graph introspect`), and Apollo Kotlin's feature probe and its
# September 2025 query (the one with `isOneOf` and `specifiedByURL`).
ROVER = (
    """
query GraphIntrospectQuery {
  __schema {
    queryType { name } mutationType { name } subscriptionType { name }
    types { ...FullType }
    directives { name description locations args { ...InputValue } }
  }
}
fragment FullType on __Type {
  kind name description
  fields(includeDeprecated: true) {
    name description args(includeDeprecated: true) { ...InputValue } type { ...TypeRef }
    isDeprecated deprecationReason
  }
  inputFields(includeDeprecated: true) { ...InputValue }
  interfaces { ...TypeRef }
  enumValues(includeDeprecated: true) { name description isDeprecated deprecationReason }
  possibleTypes { ...TypeRef }
}
fragment InputValue on __InputValue {
  name description type { ...TypeRef } defaultValue isDeprecated deprecationReason
}
"""
    + TYPE_REF
)

APOLLO_KOTLIN_PROBE = """
query PreIntrospectionQuery {
  schema: __type(name: "__Schema") { ...TypeFields }
  type: __type(name: "__Type") { ...TypeFields }
  directive: __type(name: "__Directive") { ...TypeFields }
  field: __type(name: "__Field") { ...TypeFields }
  inputValue: __type(name: "__InputValue") { ...TypeFields }
}
fragment TypeFields on __Type { fields { name args { name } } }
"""

APOLLO_KOTLIN = (
    """
query IntrospectionQuery {
  __schema {
    queryType { name } mutationType { name } subscriptionType { name }
    types { ...FullType }
    directives {
      name description locations args(includeDeprecated: true) { ...InputValue } isRepeatable
    }
    description
  }
}
fragment FullType on __Type {
  kind name description
  fields(includeDeprecated: true) {
    name description args(includeDeprecated: true) { ...InputValue } type { ...TypeRef }
    isDeprecated deprecationReason
  }
  inputFields(includeDeprecated: true) { ...InputValue }
  interfaces { ...TypeRef }
  enumValues(includeDeprecated: true) { name description isDeprecated deprecationReason }
  possibleTypes { ...TypeRef }
  specifiedByURL
  isOneOf
}
fragment InputValue on __InputValue {
  name description type { ...TypeRef } defaultValue isDeprecated deprecationReason
}
"""
    + TYPE_REF
)

# graphql-js's getIntrospectionQuery (graphql-core's is its port), with the options each tool
# passes: the GraphiQL bundled here, current GraphiQL (every option, oneOf included), and
# graphql-codegen's URL loader (descriptions only, unless configured).
FULL_QUERIES = {
    "graphiql-bundled": get_introspection_query(
        descriptions=True, input_value_deprecation=True, schema_description=True
    ),
    "graphiql-current": get_introspection_query(
        descriptions=True,
        specified_by_url=True,
        directive_is_repeatable=True,
        schema_description=True,
        input_value_deprecation=True,
        one_of=True,
    ),
    "graphql-codegen": get_introspection_query(descriptions=True),
    "apollo-rover": ROVER,
    "apollo-kotlin": APOLLO_KOTLIN,
}


def answer(stack: Stack, query: str) -> dict[str, Any]:
    body = stack.graphql(query)
    assert "errors" not in body, body["errors"][:3]
    data: dict[str, Any] = body["data"]
    return data


def test_the_reported_query_answers_null_for_every_wrapped_type(shared_stack: Stack) -> None:
    fields = answer(shared_stack, ISSUE)["__type"]["fields"]
    assert [field["type"]["isOneOf"] for field in fields] == [None] * 4


def test_is_one_of_is_false_for_input_objects_and_null_for_everything_else(
    shared_stack: Stack,
) -> None:
    data = answer(shared_stack, WRAPPED)
    assert data["account"]["isOneOf"] is None and data["input"]["isOneOf"] is False
    kinds = {t["name"]: (t["kind"], t["isOneOf"]) for t in data["__schema"]["types"]}
    assert kinds["CreateCandidateInput"] == ("INPUT_OBJECT", False)
    assert {one_of for kind, one_of in kinds.values() if kind != "INPUT_OBJECT"} == {None}


def test_apollo_kotlins_feature_probe_sees_is_one_of(shared_stack: Stack) -> None:
    data = answer(shared_stack, APOLLO_KOTLIN_PROBE)
    assert "isOneOf" in {field["name"] for field in data["type"]["fields"]}


@pytest.mark.parametrize("tool", FULL_QUERIES)
def test_each_tools_introspection_builds_the_gateways_schema(
    shared_stack: Stack, tool: str
) -> None:
    client = build_client_schema(answer(shared_stack, FULL_QUERIES[tool]))  # type: ignore[arg-type]
    server = print_schema(lexicographic_sort_schema(build_schema(compiled=False)._schema))
    if "specifiedByURL" not in FULL_QUERIES[tool]:  # a tool that does not ask is not told
        server = re.sub(r" @specifiedBy\(url: \"[^\"]*\"\)", "", server)
    assert print_schema(lexicographic_sort_schema(client)) == server
    first = client.query_type.fields["candidates"].args["first"]  # type: ignore[union-attr]
    assert first.description and "1 to 100" in first.description
