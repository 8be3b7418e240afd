"""GraphiQL served from this package: no CDN, so it works with no outside network.

The page loads React, GraphiQL and the explorer plugin from `gateway/static/graphiql/` (see the
README there for where each file came from) and starts them from `boot.js`: there is no inline
script or event handler, so the page runs under `GRAPHIQL_CSP`. Its only inline styles are the
ones GraphiQL's own components add at run time (dialogs insert <style> elements), which is why
`style-src` keeps 'unsafe-inline'.

Subscriptions run from the page too: `boot.js` POSTs them with fetch() as GraphQL over SSE, on
the same origin, so `connect-src 'self'` covers every request the page makes.
"""

from __future__ import annotations

from html import escape
from pathlib import Path

from starlette.staticfiles import StaticFiles

__all__ = ["GRAPHIQL_CSP", "STATIC_DIR", "graphiql_html", "static_app"]

STATIC_DIR = Path(__file__).resolve().parent / "static" / "graphiql"

GRAPHIQL_CSP = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    ]
)
"""The Content-Security-Policy the page needs: every script, style and request same-origin.

data: is for the icons and fonts embedded in graphiql.min.css (and the empty favicon).
"""

_STYLES = ("graphiql.min.css", "plugin-explorer.css", "boot.css")
# Order matters: React first, then GraphiQL (which sets window.GraphiQL), then the plugin
# (which reads window.GraphiQL.React), then boot.js.
_SCRIPTS = (
    "react.production.min.js",
    "react-dom.production.min.js",
    "graphiql.min.js",
    "plugin-explorer.umd.js",
    "boot.js",
)


def graphiql_html(endpoint: str = "/graphql", static_prefix: str = "/static/graphiql") -> str:
    """The GraphiQL page, posting operations to `endpoint`, with assets under `static_prefix`."""
    prefix = escape(static_prefix.rstrip("/"), quote=True)
    styles = "\n".join(f'    <link rel="stylesheet" href="{prefix}/{name}" />' for name in _STYLES)
    scripts = "\n".join(f'    <script src="{prefix}/{n}"></script>' for n in _SCRIPTS)
    return f"""<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <title>ATS gateway · GraphiQL</title>
    <link rel="icon" href="data:," />
{styles}
  </head>
  <body>
    <div id="graphiql" data-endpoint="{escape(endpoint, quote=True)}">Loading GraphiQL…</div>
    <noscript>GraphiQL needs JavaScript; POST operations to {escape(endpoint)} instead.</noscript>
{scripts}
  </body>
</html>
"""


def static_app() -> StaticFiles:
    """Serves the GraphiQL assets; mount it at the `static_prefix` given to `graphiql_html`."""
    return StaticFiles(directory=STATIC_DIR)
