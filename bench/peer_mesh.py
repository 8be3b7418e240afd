"""GraphQL Mesh for bench.peer: installed from npm into a cache folder, built over an OpenAPI
description of the Talynce-shaped upstream, and served as Mesh serves in production.

The versions are pinned in bench/mesh/package.json; `npm install` runs only when that file
changed since the cache was filled. The OpenAPI document describes what Talynce documents (see
/work/shared/reference/seed-candidates-api.md): `GET /candidates` (limit, offset) answers rows
without `applications`; `GET /candidates/{id}` one candidate with `applications[]`. Mesh's
`Candidate.applications` is an additional resolver that calls the get-by-id operation for each
candidate, so scenario A costs Mesh what it costs the gateway upstream: one list and one GET per
candidate. `mesh build` writes the artifacts and `mesh start` serves them (NODE_ENV=production:
no playground, graphql-js's production build) with `serve.fork` workers under Node's cluster.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

from bench.processes import Child, Children

__all__ = ["CACHE", "MESH_QUERIES", "build_mesh", "install_mesh", "openapi_document", "start_mesh"]

BENCH = Path(__file__).resolve().parent
PACKAGE = BENCH / "mesh" / "package.json"
CACHE = BENCH / ".cache" / "mesh"
_INSTALL_TIMEOUT = 900
_BUILD_TIMEOUT = 300

_CANDIDATE_FIELDS = """id full_name email phone_number whatsapp_number location preferred_location
  primary_skills secondary_skills total_experience_years current_company current_designation
  current_ctc expected_ctc notice_period_days resume_url source talent_pool_status
  created_at updated_at"""
"""Twenty fields, as the gateway's list query asks for (bench.scenarios.CANDIDATE_FIELDS)."""
_APPLICATION_FIELDS = "applications { id status job_id created_at status_date updated_at }"


def _mesh_query(applications: bool) -> str:
    nested = _APPLICATION_FIELDS if applications else ""
    return (
        "query List { listCandidates(limit: 20, offset: 0) { "
        f"meta {{ total limit offset }} data {{ {_CANDIDATE_FIELDS} {nested} }} }} }}"
    )


MESH_QUERIES = {"L": _mesh_query(False), "A": _mesh_query(True)}


def _nullable(kind: str, **extra: Any) -> dict[str, Any]:
    return {"type": kind, "nullable": True, **extra}


_STRING_LIST = {"type": "array", "items": {"type": "string"}}
_TIME = {"type": "string", "format": "date-time"}
_JSON_OBJECT = {"type": "object", "nullable": True, "additionalProperties": True}

_CANDIDATE: dict[str, Any] = {
    "type": "object",
    "required": ["id", "full_name", "email", "created_at", "updated_at"],
    "properties": {
        "id": {"type": "string"},
        "full_name": {"type": "string"},
        "email": {"type": "string"},
        "phone_number": _nullable("string"),
        "whatsapp_number": _nullable("string"),
        "location": _nullable("string"),
        "preferred_location": _nullable("string"),
        "primary_skills": _STRING_LIST,
        "secondary_skills": _STRING_LIST,
        "skill_array": _STRING_LIST,
        "total_experience_years": _nullable("number"),
        "current_company": _nullable("string"),
        "current_designation": _nullable("string"),
        "current_ctc": _nullable("number"),
        "expected_ctc": _nullable("number"),
        "notice_period_days": _nullable("integer"),
        "in_notice_period": _nullable("boolean"),
        "last_working_day": _nullable("string"),
        "resume_url": _nullable("string"),
        "source": _nullable("string"),
        "screening_score": _nullable("number"),
        "talent_pool_status": {"type": "string", "enum": ["not_linked", "masked", "revealed"]},
        "metadata": _JSON_OBJECT,
        "created_at": _TIME,
        "updated_at": _TIME,
    },
}

_APPLICATION: dict[str, Any] = {
    "type": "object",
    "required": ["id", "candidate_id", "job_id", "status", "created_at", "updated_at"],
    "properties": {
        "id": {"type": "string"},
        "candidate_id": {"type": "string"},
        "job_id": {"type": "string"},
        "organization_id": {"type": "string"},
        "status": {"type": "string"},
        "screening_score": _nullable("number"),
        "match_score": _nullable("number"),
        "notes": _nullable("string"),
        **{
            name: {**_TIME, "nullable": True}
            for name in (
                "shortlisted_at",
                "screening_started_at",
                "screening_completed_at",
                "status_date",
                "outreach_sent_at",
                "interest_clicked_at",
                "video_interview_invite_sent_at",
            )
        },
        "metadata": _JSON_OBJECT,
        "created_at": _TIME,
        "updated_at": _TIME,
    },
}


def _ref(schema: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{schema}"}


def _ok(schema: str) -> dict[str, Any]:
    content = {"application/json": {"schema": _ref(schema)}}
    return {"200": {"description": "OK", "content": content}}


def _query_int(name: str, low: int, high: int | None) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "integer", "minimum": low}
    if high is not None:
        schema["maximum"] = high
    return {"name": name, "in": "query", "required": False, "schema": schema}


def openapi_document(base_url: str) -> dict[str, Any]:
    """Talynce's two candidate reads, as documented, served at `base_url` (…/api/v1)."""
    detail = {
        **_CANDIDATE,
        "properties": {
            **_CANDIDATE["properties"],
            "applications": {"type": "array", "items": _ref("Application")},
        },
    }
    return {
        "openapi": "3.0.3",
        "info": {"title": "Talynce candidates (bench)", "version": "1"},
        "servers": [{"url": base_url}],
        "paths": {
            "/candidates": {
                "get": {
                    "operationId": "listCandidates",
                    "parameters": [_query_int("limit", 1, 100), _query_int("offset", 0, None)],
                    "responses": _ok("CandidateList"),
                }
            },
            "/candidates/{id}": {
                "get": {
                    "operationId": "getCandidate",
                    "parameters": [
                        {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}
                    ],
                    "responses": _ok("CandidateEnvelope"),
                }
            },
        },
        "components": {
            "schemas": {
                "Candidate": _CANDIDATE,
                "CandidateDetail": detail,
                "Application": _APPLICATION,
                "ListMeta": {
                    "type": "object",
                    "properties": {
                        "total": {"type": "integer"},
                        "limit": {"type": "integer"},
                        "offset": {"type": "integer"},
                    },
                },
                "CandidateList": {
                    "type": "object",
                    "required": ["data"],
                    "properties": {
                        "data": {"type": "array", "items": _ref("Candidate")},
                        "meta": _ref("ListMeta"),
                    },
                },
                "CandidateEnvelope": {
                    "type": "object",
                    "required": ["data"],
                    "properties": {"data": _ref("CandidateDetail")},
                },
            }
        },
    }


def meshrc(base_url: str, api_key: str, port: int, forks: int) -> dict[str, Any]:
    """The .meshrc (as JSON, which is YAML): one OpenAPI source and `Candidate.applications`."""
    return {
        "sources": [
            {
                "name": "Talynce",
                "handler": {
                    "openapi": {
                        "source": "./talynce.openapi.json",
                        "endpoint": base_url,
                        "operationHeaders": {"Authorization": f"Bearer {api_key}"},
                        "ignoreErrorResponses": True,
                    }
                },
            }
        ],
        "additionalTypeDefs": "extend type Candidate { applications: [Application] }",
        "additionalResolvers": [
            {
                "targetTypeName": "Candidate",
                "targetFieldName": "applications",
                "requiredSelectionSet": "{ id }",
                "sourceName": "Talynce",
                "sourceTypeName": "Query",
                "sourceFieldName": "getCandidate",
                "sourceArgs": {"id": "{root.id}"},
                "result": "data.applications",
            }
        ],
        "serve": {"hostname": "127.0.0.1", "port": port, "fork": forks, "playground": False},
    }


def _npm() -> str:
    npm = shutil.which("npm")
    if npm is None:
        raise SystemExit("bench.peer needs npm to install GraphQL Mesh (or: --servers gateway)")
    return npm


def install_mesh(cache: Path = CACHE) -> Path:
    """`npm install` of bench/mesh/package.json into `cache`, unless that is already done."""
    cache.mkdir(parents=True, exist_ok=True)
    wanted = PACKAGE.read_text()
    installed = cache / "package.json"
    if installed.exists() and installed.read_text() == wanted and (cache / "node_modules").is_dir():
        return cache
    installed.write_text(wanted)
    command = [_npm(), "install", "--no-audit", "--no-fund", "--loglevel=error"]
    done = subprocess.run(
        command, cwd=cache, capture_output=True, text=True, timeout=_INSTALL_TIMEOUT, check=False
    )
    if done.returncode != 0:
        installed.unlink()
        raise RuntimeError(f"npm install of GraphQL Mesh failed:\n{done.stderr[-3000:]}")
    return cache


def _mesh_env() -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if name != "DEBUG"}
    return {**env, "NODE_ENV": "production"}  # any DEBUG value turns Mesh's debug logs on


def build_mesh(cache: Path, base_url: str, api_key: str, port: int, forks: int) -> Path:
    """Writes the OpenAPI document and .meshrc into a work folder of the cache; `mesh build`."""
    work = cache / "work"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    (work / "talynce.openapi.json").write_text(json.dumps(openapi_document(base_url), indent=1))
    (work / ".meshrc.json").write_text(json.dumps(meshrc(base_url, api_key, port, forks), indent=1))
    done = subprocess.run(
        [str(cache / "node_modules" / ".bin" / "mesh"), "build", "--dir", str(work)],
        cwd=work,
        env=_mesh_env(),
        capture_output=True,
        text=True,
        timeout=_BUILD_TIMEOUT,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    if done.returncode != 0:
        raise RuntimeError(f"mesh build failed:\n{(done.stdout + done.stderr)[-3000:]}")
    return work


def start_mesh(children: Children, work: Path, port: int) -> Child:
    """`mesh start` on the built artifacts; the primary forks the workers `serve.fork` asks."""
    mesh = work.parent / "node_modules" / ".bin" / "mesh"
    argv = [str(mesh), "start", "--dir", str(work)]
    return children.program("mesh", argv, {"port": port}, stop_with_parent=True, env=_mesh_env())
