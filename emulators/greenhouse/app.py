"""The Greenhouse emulator itself: one Starlette app serving both APIs for several organisations,
with the token endpoint, each API's authentication and error handling, the request log tests
read, and the demo organisation."""

from __future__ import annotations

import asyncio
import base64
import binascii
import bisect
import logging
import secrets
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from emulators import Demo, DemoAccount
from emulators.base import RequestLog, parse_json
from emulators.faults import AfterServing, Reshaped, repeat_first_row, without_ids
from emulators.greenhouse.calls import Call, CallHandler, iso
from emulators.greenhouse.errors import HarvestError, PartnerError
from emulators.greenhouse.harvest import (
    harvest_applications,
    harvest_candidates,
    harvest_create,
    harvest_departments,
    harvest_job_interview_stages,
    harvest_jobs,
    harvest_offices,
    harvest_update,
)
from emulators.greenhouse.partner import (
    partner_candidates,
    partner_create,
    partner_current_user,
    partner_jobs,
    partner_prospect_pools,
)
from emulators.greenhouse.pipeline import ROUTES as PIPELINE_ROUTES
from emulators.greenhouse.pipeline import harvest_application_create
from emulators.greenhouse.store import GreenhouseOrg
from emulators.greenhouse.webhooks import deliveries, snapshot
from emulators.webhooks import Snapshot, WebhookOutbox

__all__ = ["GreenhouseEmulator", "RecordedRequest", "demo", "demo_emulator"]

_log = logging.getLogger(__package__)  # the name it logged under as one module


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """One request as the emulator saw it; `user` is the acting user (On-Behalf-Of or `sub`).

    Credentials and tokens are never recorded.
    """

    api: str  # partner | harvest | token
    org: str | None
    user: str | None
    method: str
    path: str
    query: dict[str, str]
    body: object | None
    status: int
    started: float
    finished: float


@dataclass(slots=True)
class _Issued:
    org: GreenhouseOrg
    user_id: str
    expires: float  # time.time()


class GreenhouseEmulator(RequestLog[RecordedRequest]):
    """Serves several Greenhouse organisations from one ASGI app, keyed by their credentials."""

    def __init__(self, orgs: Iterable[GreenhouseOrg]) -> None:
        self.orgs = list(orgs)
        self.tokens: dict[str, _Issued] = {}
        self.webhooks: WebhookOutbox | None = None  # off; targets are keyed by org name
        super().__init__()
        partner, harvest = self._partner, self._harvest
        self.app = Starlette(
            routes=[
                Route("/token", self._token, methods=["POST"]),
                partner("/v1/partner/candidates", GET=partner_candidates, POST=partner_create),
                partner("/v1/partner/current_user", GET=partner_current_user),
                partner("/v1/partner/jobs", GET=partner_jobs),
                partner("/v1/partner/prospect_pools", GET=partner_prospect_pools),
                partner("/v1/partner/{rest:path}"),
                harvest("/v3/candidates", GET=harvest_candidates, POST=harvest_create),
                harvest("/v3/candidates/{candidate_id}", PATCH=harvest_update),
                harvest(
                    "/v3/applications", GET=harvest_applications, POST=harvest_application_create
                ),
                *(harvest(path, **handlers) for path, handlers in PIPELINE_ROUTES.items()),
                harvest("/v3/jobs", GET=harvest_jobs),
                harvest("/v3/departments", GET=harvest_departments),
                harvest("/v3/offices", GET=harvest_offices),
                harvest("/v3/job_interview_stages", GET=harvest_job_interview_stages),
                harvest("/v3/{rest:path}"),
            ]
        )

    def expire_tokens(self) -> None:
        """Every token issued so far is refused from now on, as after its hour is up."""
        for issued in self.tokens.values():
            issued.expires = 0.0

    def calls(
        self, api: str, method: str | None = None, path: str | None = None
    ) -> list[RecordedRequest]:
        return [
            r
            for r in self.requests
            if r.api == api
            and (method is None or r.method == method)
            and (path is None or r.path == path)
        ]

    def _record(
        self,
        request: Request,
        api: str,
        org: GreenhouseOrg | None,
        user: str | None,
        body: object | None,
        status: int,
        started: float,
    ) -> None:
        record = RecordedRequest(
            api=api,
            org=org.name if org else None,
            user=user,
            method=request.method,
            path=request.url.path,
            query=dict(request.query_params),
            body=body,
            status=status,
            started=started,
            finished=time.monotonic(),
        )
        bisect.insort(self.requests, record, key=lambda r: r.started)

    async def _token(self, request: Request) -> Response:
        started = time.monotonic()
        form = dict(parse_qsl((await request.body()).decode("utf-8", "replace")))
        logged = {k: v for k, v in form.items() if k in ("grant_type", "sub")}
        org = self._client(request.headers.get("authorization", ""))
        if org is None:
            response = JSONResponse({"error": "invalid_client"}, status_code=401)
        elif not request.headers.get("content-type", "").startswith(
            "application/x-www-form-urlencoded"
        ):
            response = JSONResponse(
                {"error": "invalid_request", "error_description": "form body expected"},
                status_code=400,
            )
        elif form.get("grant_type") != "client_credentials":
            response = JSONResponse({"error": "unsupported_grant_type"}, status_code=400)
        elif form.get("sub") and not any(str(u.id) == form["sub"] for u in org.users):
            response = JSONResponse(
                {"error": "invalid_request", "error_description": "unknown sub"}, status_code=400
            )
        else:
            value = "eyJ" + secrets.token_urlsafe(32)
            expires = time.time() + org.token_ttl
            if org.refuse_tokens > 0:
                org.refuse_tokens -= 1
                expires = 0.0
            self.tokens[value] = _Issued(org, form.get("sub", ""), expires)
            answer: dict[str, object] = {"access_token": value, "token_type": "Bearer"}
            if org.token_expiry_field == "expires_in":
                answer["expires_in"] = int(org.token_ttl)
            else:
                answer["expires_at"] = iso(datetime.now(UTC) + timedelta(seconds=org.token_ttl))
            response = JSONResponse(answer)
        self._record(request, "token", org, form.get("sub"), logged, response.status_code, started)
        return response

    def _before_write(self, org: GreenhouseOrg, method: str) -> Snapshot | None:
        if (
            self.webhooks is None
            or method in ("GET", "HEAD")
            or not self.webhooks.targets.get(org.name)
        ):
            return None
        return snapshot(org)

    def _notify(self, org: GreenhouseOrg, before: Snapshot) -> None:
        if self.webhooks is not None:
            self.webhooks.enqueue(deliveries(org, before, self.webhooks.targets[org.name]))

    def _client(self, authorization: str) -> GreenhouseOrg | None:
        pair = _basic(authorization)
        if pair is None:
            return None
        return next((o for o in self.orgs if (o.client_id, o.client_secret) == pair), None)

    def _partner(self, path: str, **handlers: CallHandler) -> Route:
        async def endpoint(request: Request) -> Response:
            started = time.monotonic()
            body, is_json = parse_json(await request.body())
            org, user = self._partner_user(request)
            try:
                response = await self._answer(
                    request, org, user, handlers, body, is_json, partner=True
                )
            except PartnerError as error:
                response = error.response()
            except Exception:
                _log.exception(
                    "Greenhouse emulator failed on %s %s", request.method, request.url.path
                )
                response = PartnerError(500, "Internal server error").response()
            self._record(
                request,
                "partner",
                org,
                user,
                body if is_json else None,
                response.status_code,
                started,
            )
            return response

        return Route(path, endpoint, methods=["GET", "POST", "PUT", "PATCH", "DELETE"])

    def _partner_user(self, request: Request) -> tuple[GreenhouseOrg | None, str | None]:
        authorization = request.headers.get("authorization", "")
        on_behalf_of = request.headers.get("on-behalf-of")
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() == "bearer":
            org = next(
                (
                    o
                    for o in self.orgs
                    if o.partner_oauth_token and o.partner_oauth_token == token.strip()
                ),
                None,
            )
            if org is None or (on_behalf_of and org.user_by_email(on_behalf_of) is None):
                return None, on_behalf_of
            return org, on_behalf_of or org.users[0].email
        pair = _basic(authorization)
        org = next((o for o in self.orgs if pair == (o.partner_api_key, "")), None)
        if org is None or not on_behalf_of or org.user_by_email(on_behalf_of) is None:
            return None, on_behalf_of
        return org, on_behalf_of

    def _harvest(self, path: str, **handlers: CallHandler) -> Route:
        async def endpoint(request: Request) -> Response:
            started = time.monotonic()
            body, is_json = parse_json(await request.body())
            org: GreenhouseOrg | None = None
            user: str | None = None
            headers: dict[str, str] = {}
            try:
                org, user = self._bearer(request)
                retry_after, headers = org.admit(time.time())
                if retry_after is not None:
                    raise HarvestError(
                        429, "Too Many Requests", headers={"Retry-After": str(retry_after)}
                    )
                response = await self._answer(
                    request, org, user, handlers, body, is_json, partner=False
                )
            except HarvestError as error:
                response = error.response()
            except Exception:
                _log.exception(
                    "Greenhouse emulator failed on %s %s", request.method, request.url.path
                )
                response = HarvestError(500, "Internal Server Error").response()
            response.headers.update(headers)
            self._record(
                request,
                "harvest",
                org,
                user,
                body if is_json else None,
                response.status_code,
                started,
            )
            return response

        return Route(path, endpoint, methods=["GET", "POST", "PUT", "PATCH", "DELETE"])

    def _bearer(self, request: Request) -> tuple[GreenhouseOrg, str]:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        issued = self.tokens.get(token.strip()) if scheme.lower() == "bearer" else None
        if issued is None:
            raise HarvestError(401, "Unauthorized", ["Token could not be decoded"])
        if time.time() >= issued.expires:
            raise HarvestError(401, "Unauthorized", ["Token has expired"])
        return issued.org, issued.user_id

    async def _answer(
        self,
        request: Request,
        org: GreenhouseOrg | None,
        user: str | None,
        handlers: Mapping[str, CallHandler],
        body: object | None,
        is_json: bool,
        *,
        partner: bool,
    ) -> Response:
        error: Callable[..., Exception] = PartnerError if partner else HarvestError
        if org is None:
            raise PartnerError(401, "Invalid credentials or On-Behalf-Of user")
        if org.latency > 0:
            await asyncio.sleep(org.latency)
        faulted = await org.faults.apply()
        kind = faulted.kind if isinstance(faulted, Reshaped) else None
        if kind == "endless_next" and not partner:
            url = request.url.replace(query=f"cursor={secrets.token_urlsafe(12)}")
            return JSONResponse([], headers={"Link": f'<{url}>; rel="next"'})
        if faulted is not None and kind != "huge_rows" and not isinstance(faulted, AfterServing):
            return faulted
        if org.outage:
            raise error(503, "Service Unavailable")
        handler = handlers.get(request.method)
        if handler is None:
            raise (
                error(404, "Resource not found")
                if not handlers
                else error(405, "Method not allowed")
            )
        before = self._before_write(org, request.method)
        status, payload, headers = handler(Call(org, user or "", request, body, is_json))
        if before is not None and status < 300:
            self._notify(org, before)
        if isinstance(faulted, AfterServing):
            return faulted  # served (a write stored), and then its answer is lost
        if isinstance(faulted, Reshaped) and kind == "huge_rows":
            payload = repeat_first_row(payload, faulted.rows)
        payload = without_ids(payload, org.faults.idless)
        if status == 204:
            return Response(status_code=204, headers=dict(headers))
        return JSONResponse(payload, status_code=status, headers=dict(headers))


def _basic(authorization: str) -> tuple[str, str] | None:
    scheme, _, encoded = authorization.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, sep, password = (
            base64.b64decode(encoded.strip(), validate=True).decode().partition(":")
        )
    except (binascii.Error, UnicodeDecodeError):
        return None
    return (user, password) if sep else None


# --- demo ---------------------------------------------------------------------------------------


def demo_emulator() -> GreenhouseEmulator:
    """One seeded organisation, reachable through both APIs."""
    return GreenhouseEmulator(
        [
            GreenhouseOrg.seeded(
                "Hogwarts Hiring",
                partner_api_key="gh_partner_demo_key",
                client_id="gh_demo_client",
                client_secret="gh_demo_secret",
                candidates=80,
                seed=11,
            )
        ]
    )


def demo() -> Demo:
    emulator = demo_emulator()
    org = emulator.orgs[0]
    user = org.users[0]
    return Demo(
        emulator.app,
        (
            DemoAccount(
                id="greenhouse-partner",
                name=f"{org.name} (Greenhouse Partner API demo)",
                path="/v1/partner",
                credentials={"api_key": org.partner_api_key},
                options={"api": "partner", "on_behalf_of": user.email},
                webhook_tenant=org.name,
            ),
            DemoAccount(
                id="greenhouse-harvest",
                name=f"{org.name} (Greenhouse Harvest v3 demo)",
                path="/v3",
                credentials={"client_id": org.client_id, "client_secret": org.client_secret},
                options={"api": "harvest", "user_id": str(user.id), "token_url": "/token"},
                webhook_tenant=org.name,
            ),
        ),
        emulator,
    )
