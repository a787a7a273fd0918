"""``sceau gateway webhooks run``: one client's webhook, fed by a HubEE API's notifications.

The gateway runs its webhooks itself; this command runs one alone, for testing or
beside any HubEE v1 API::

    sceau gateway webhooks run --api http://gateway.lan:8443 --client-id ID \\
        --client-secret-file client.txt --url http://app.lan/hubee-hook \\
        --secret-file hook-secret.txt --db /var/lib/sceau/webhook-app.db

See docs/FOLDERS.md, "Webhooks", for the body, the headers and how to check the signature.
"""

from __future__ import annotations

from pathlib import Path

import click

from appliance.cli_gateway_folders import configure_logging, read_secret, run_until_signal
from gateway.folders_api import ClientCredentials
from gateway.webhooks import WebhookConfig
from gateway.webhooks_dispatcher import WebhookDispatcher

_FILE = click.Path(dir_okay=False, path_type=Path)


@click.group("webhooks")
def webhooks() -> None:
    """Signed POSTs to a local URL when a new case or event notification arrives."""


@webhooks.command("run")
@click.option("--api", "api_url", required=True, help="Base URL of the HubEE API.")
@click.option("--client-id", required=True, help="The OAuth2 client whose notifications to watch.")
@click.option("--client-secret", envvar="SCEAU_CLIENT_SECRET", help="Or SCEAU_CLIENT_SECRET.")
@click.option("--client-secret-file", type=_FILE, help="A file holding the client secret.")
@click.option("--url", required=True, help="Where to POST (http(s) on the LAN).")
@click.option("--secret", "hook_secret", envvar="SCEAU_WEBHOOK_SECRET", help="HMAC key.")
@click.option("--secret-file", "hook_secret_file", type=_FILE, help="A file holding the HMAC key.")
@click.option("--db", "db_path", type=_FILE, required=True, help="The delivery queue (SQLite).")
@click.option("--poll-interval", type=float, default=2.0, show_default=True, help="Seconds.")
def run(
    api_url: str,
    client_id: str,
    client_secret: str | None,
    client_secret_file: Path | None,
    url: str,
    hook_secret: str | None,
    hook_secret_file: Path | None,
    db_path: Path,
    poll_interval: float,
) -> None:
    """Deliver the webhook until stopped."""
    secret = read_secret(client_secret, client_secret_file, what="the client secret")
    key = read_secret(hook_secret, hook_secret_file, what="the webhook secret")
    try:
        config = WebhookConfig(url=url, secret=key.encode(), name=client_id)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    configure_logging()
    dispatcher = WebhookDispatcher(
        config,
        db_path=db_path,
        api_base_url=api_url,
        credentials=ClientCredentials(client_id, secret),
        poll_interval=poll_interval,
    )
    run_until_signal(dispatcher.run())
