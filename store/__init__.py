"""Everything a gateway may keep in Redis, each beside its in-memory twin behind one protocol.

The only package that imports `redis`. `redis_link` (the one client, `StoreDown` fallback),
`idempotency` / `idempotency_redis`, `cache` / `cache_redis` (+ `records_json`, their codec),
`budget` (shared rate budget; `providers.upstream.resilience` holds the protocol and the
in-process twin, since the client stack needs them without a store), `tokens` (shared OAuth
tokens; protocol in `providers.upstream.sharing`), `single_flight` (per-process coalescing).
"""
