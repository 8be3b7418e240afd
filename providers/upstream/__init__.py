"""The provider-agnostic client stack every adapter calls through.

`http.Upstream` (retries, breaker, rate budget, deadline, write watch) over `transport.LeanClient`
(pooled HTTP/1.1), with `observe` for per-request observation. Nothing here knows a provider's wire.
"""
