"""Command line: `python -m gateway serve|export-schema|check-config`."""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import os
import secrets
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import uvicorn
from uvicorn.supervisors import Multiprocess

from gateway.logs import configure_logging
from gateway.ping import ping_accounts, render_table, unsendable_credentials
from gateway.security import hash_key, new_key
from gateway.server import server_config
from gateway.settings import SHARED_CURSOR_SECRET, ConfigError, Settings, load_settings
from gateway.workers import worker_sockets

__all__ = ["main"]

CONFIG_ENV = "ATS_GATEWAY_CONFIG"
LOOPBACK = {"0.0.0.0": "127.0.0.1", "::": "[::1]", "": "127.0.0.1"}  # where emulators post to
SCHEMA_FILE = Path(__file__).resolve().parent.parent / "schema.graphql"


def export_schema(target: Path) -> None:
    from gateway.schema import schema

    target.write_text(schema.as_str() + "\n", encoding="utf-8")


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop where it is installed, as `uvicorn.run` and `serve --workers` pick it: a profile
    of one `serve` process on asyncio's own loop spent 12% of its samples writing to sockets."""
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


async def _serve(settings: Settings | None, host: str, port: int) -> None:
    from gateway.app import create_app
    from gateway.demo import demo_environment

    async def run(settings: Settings) -> None:
        app = create_app(settings)
        config = server_config(
            app, settings, host=host, port=port, log_level="info", log_config=None
        )
        print(f"GraphiQL: http://{host}:{port}/graphql", flush=True)
        await uvicorn.Server(config).serve()

    if settings is not None:
        await run(settings)
        return
    async with demo_environment() as demo:
        demo.send_webhooks_to(f"http://{LOOPBACK.get(host, host)}:{port}")
        names = ", ".join(account.id for account in demo.settings.accounts)
        print(f"Demo accounts (bundled emulators on loopback): {names}", flush=True)
        await run(demo.settings)


def _serve_workers(
    config: Path, settings: Settings, host: str, port: int, workers: int, log_format: str
) -> int:
    """N processes, each on its own socket of one port (gateway.workers); they share the
    cursor secret so any worker reads any cursor."""
    os.environ[CONFIG_ENV] = str(config.resolve())
    os.environ["ATS_GATEWAY_LOG_FORMAT"] = log_format
    os.environ.setdefault(SHARED_CURSOR_SECRET, secrets.token_urlsafe(32))
    # What uvicorn.run does for workers, with the gateway's connection limits in the config.
    server = server_config(
        "gateway.app:app_from_environment",
        settings,
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_config=None,
    )
    Multiprocess(server, sockets=worker_sockets(server)).run()
    return 0


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ats-gateway", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the gateway")
    serve.add_argument("--demo", action="store_true", help="bundled emulators, no config needed")
    serve.add_argument("--config", type=Path, help=f"TOML file (default: ${CONFIG_ENV})")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1, help="processes (needs --config)")
    serve.add_argument(
        "--log-format", choices=("auto", "json", "text"), default="auto", help="auto: text on a tty"
    )
    export = commands.add_parser("export-schema", help="write the GraphQL SDL")
    export.add_argument("--output", type=Path, default=SCHEMA_FILE)
    check = commands.add_parser("check-config", help="validate a configuration file")
    check.add_argument("config", type=Path)
    check.add_argument("--ping", action="store_true", help="call each account once")
    commands.add_parser("new-key", help="make a client key and the digest to configure")
    args = parser.parse_args(argv)

    try:
        if args.command == "export-schema":
            export_schema(args.output)
            print(f"wrote {args.output}")
            return 0
        if args.command == "new-key":
            key = new_key()
            print(f"key (give to the client):      {key}")
            print(f"key_sha256 (put in [[clients]]): {hash_key(key)}")
            return 0
        if args.command == "check-config":
            checked = load_settings(args.config)
            if problems := unsendable_credentials(args.config, checked):
                print("\n".join(f"configuration error: {p}" for p in problems), file=sys.stderr)
                return 2
            print(f"{args.config}: {len(checked.accounts)} accounts, OK")
            if not args.ping:
                return 0
            results = asyncio.run(ping_accounts(checked))
            print(render_table(results))
            return 0 if all(r.status == "OK" for r in results) else 1
        config_path = args.config or (
            Path(os.environ[CONFIG_ENV]) if os.environ.get(CONFIG_ENV) else None
        )
        settings = None if args.demo or config_path is None else load_settings(config_path)
        if settings is None or not settings.clients:
            if not _is_loopback(args.host):
                print(
                    "no client keys are configured, so the gateway serves loopback only; "
                    "add [[clients]] (python -m gateway new-key) to bind elsewhere",
                    file=sys.stderr,
                )
                return 2
            print(f"No client keys configured: open to local callers on {args.host} only.")
        if args.workers > 1:
            if config_path is None or settings is None:
                print("--workers needs --config: the demo runs in one process", file=sys.stderr)
                return 2
            return _serve_workers(
                config_path, settings, args.host, args.port, args.workers, args.log_format
            )
        configure_logging(args.log_format)
        with asyncio.Runner(loop_factory=_loop_factory()) as runner:
            runner.run(_serve(settings, args.host, args.port))
        return 0
    except ConfigError as error:
        print(f"configuration error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    sys.exit(main())
