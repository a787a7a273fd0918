"""``sceau evidence``: seal any files into a bundle, and unpack bundles safely."""

from __future__ import annotations

import datetime as dt
import socket
from pathlib import Path

import click
from cryptography import x509

from appliance.trust_inputs import journal_signer, read_certificates, write_vkey
from trust.checkpoint import VerifierKey
from trust.errors import KeyMaterialError, PolicyError
from trust.evidence import SealingIdentity, anchors_for_bundle, seal_files
from trust.journal import Journal
from trust.keys import FileSigner, Signer
from trust.pki import public_key_matches
from trust.tsa import TimeStampAuthority
from trust.tsp import HttpTimeStamper, InProcessTimeStamper, TimeStamper

_file = click.Path(exists=True, dir_okay=False, path_type=Path)


@click.group()
def evidence() -> None:
    """Seal files into evidence bundles, export and unpack bundles."""


@evidence.command("seal")
@click.argument("files", nargs=-1, required=True, type=_file)
@click.option(
    "--key",
    "key_path",
    required=True,
    help="Seal private key: a PEM file (mode 0600) or a pkcs11: URI (RFC 7512) with module-path and pin-source.",
)
@click.option(
    "--cert", "cert_path", required=True, type=_file, help="Seal certificate (PEM or DER)."
)
@click.option(
    "--chain",
    "chain_paths",
    multiple=True,
    type=_file,
    help="CA certificates of the seal chain (PEM). Repeatable.",
)
@click.option("--tsa", "tsa_url", help="URL of an RFC 3161 time-stamping authority.")
@click.option(
    "--tsa-anchor",
    "tsa_anchors",
    multiple=True,
    type=_file,
    help="CA certificate the TSA must chain to. Repeatable.",
)
@click.option(
    "--local-tsa-key", type=_file, help="Run an in-process TSA with this key instead of --tsa."
)
@click.option(
    "--local-tsa-cert",
    type=_file,
    help="The in-process TSA's certificate (critical timeStamping EKU).",
)
@click.option(
    "--journal",
    "journal_path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Journal database (created if missing).",
)
@click.option(
    "--journal-key",
    "journal_key",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Ed25519 journal key (default: JOURNAL.key, created if missing).",
)
@click.option("--origin", help="Checkpoint origin (default: sceau-evidence/<host>/<journal name>).")
@click.option(
    "-o",
    "--out",
    "out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Bundle to write (.asice).",
)
def seal_cmd(
    files: tuple[Path, ...],
    key_path: str,
    cert_path: Path,
    chain_paths: tuple[Path, ...],
    tsa_url: str | None,
    tsa_anchors: tuple[Path, ...],
    local_tsa_key: Path | None,
    local_tsa_cert: Path | None,
    journal_path: Path,
    journal_key: Path | None,
    origin: str | None,
    out: Path,
) -> None:
    """Journal FILES, checkpoint and time-stamp the journal, seal, and write a bundle."""
    signer = _seal_signer(key_path)
    try:
        certs = read_certificates((cert_path,))
        if not public_key_matches(certs[0], signer.public_key()):
            raise KeyMaterialError(
                f"{cert_path} is not the certificate of {key_path}",
                hint="Give the certificate issued for this key.",
            )
        chain = tuple(read_certificates(chain_paths))
        timestamper = _timestamper(
            tsa_url, tuple(read_certificates(tsa_anchors)), local_tsa_key, local_tsa_cert
        )
        key_file = journal_key or journal_path.with_suffix(journal_path.suffix + ".key")
        jsigner = journal_signer(key_file, create=journal_key is None)
        origin = origin or f"sceau-evidence/{socket.gethostname()}/{journal_path.stem}"
        vkey = VerifierKey.for_signer(origin, jsigner)
        write_vkey(key_file.with_suffix(".vkey"), vkey)
        anchors = anchors_for_bundle(
            certificates={"seal-chain": [certs[0], *chain], "tsa-ca": list(timestamper.anchors)},
            keys={"journal.vkey": (vkey.encode() + "\n").encode()},
        )
        with Journal.open(journal_path) as journal:
            sealed = seal_files(
                files,
                out=out,
                sealer=SealingIdentity(signer, certs[0], chain),
                journal=journal,
                journal_signer=jsigner,
                origin=origin,
                timestamper=timestamper,
                anchors=anchors,
                now=dt.datetime.now(dt.UTC),
            )
    finally:
        close = getattr(signer, "close", None)  # a PKCS#11 session
        if close is not None:
            close()
    click.echo(f"sealed {len(files)} file(s) into {sealed.path}")
    click.echo(f"  manifest   files/{sealed.manifest.id}")
    click.echo(
        f"  checkpoint {origin} size {sealed.checkpoint_size}, time-stamped {sealed.gen_time:%Y-%m-%dT%H:%M:%SZ}"
        if sealed.gen_time
        else ""
    )
    click.echo(f"  journal verifier key: {key_file.with_suffix('.vkey')}")
    click.echo(
        f"verify with: sceau verify {out} --anchor <seal CA> --anchor <TSA CA> --journal-key {key_file.with_suffix('.vkey')}"
    )


def _seal_signer(key: str) -> Signer:
    if key.startswith("pkcs11:"):
        from trust.pkcs11_signer import Pkcs11Signer

        return Pkcs11Signer.from_uri(key)
    path = Path(key)
    if not path.is_file():
        raise click.BadParameter(f"{key} is not a file (nor a pkcs11: URI)", param_hint="--key")
    return FileSigner.load(path)


def _timestamper(
    url: str | None,
    anchors: tuple[x509.Certificate, ...],
    local_key: Path | None,
    local_cert: Path | None,
) -> TimeStamper:
    if url and (local_key or local_cert):
        raise click.UsageError("give --tsa or --local-tsa-key/--local-tsa-cert, not both")
    if (url or local_key or local_cert) and not anchors:
        raise click.UsageError("--tsa-anchor is required: the TSA's tokens are verified before use")
    if url:
        return HttpTimeStamper(url=url, anchors=anchors)
    if local_key and local_cert:
        tsa_certs = read_certificates((local_cert,))
        authority = TimeStampAuthority(
            FileSigner.load(local_key), tsa_certs[0], tuple(tsa_certs[1:])
        )
        return InProcessTimeStamper(responder=authority.respond, anchors=anchors)
    if local_key or local_cert:
        raise click.UsageError("--local-tsa-key and --local-tsa-cert go together")
    raise PolicyError(
        "no time-stamping authority configured: evidence without trusted time is refused",
        hint="Give --tsa URL --tsa-anchor CA.pem, or an in-process TSA with --local-tsa-key and --local-tsa-cert.",
    )


@evidence.command("extract")
@click.argument("bundle", type=_file)
@click.option(
    "-o",
    "--out",
    "out",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder to unpack into.",
)
def extract_cmd(bundle: Path, out: Path) -> None:
    """Unpack a bundle for inspection with other tools; never writes outside OUT."""
    from trust.bundle import BundleReader

    with BundleReader(bundle) as reader:
        written = reader.extract_to(out)
    click.echo(f"unpacked {len(written)} files into {out}")


@evidence.command("export")
@click.argument("dossier_id")
@click.option(
    "-o",
    "--out",
    "out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Bundle to write (.asice).",
)
@click.option(
    "--data",
    "data_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("gateway-data"),
    show_default=True,
    help="The gateway's data folder.",
)
@click.pass_context
def export_cmd(ctx: click.Context, dossier_id: str, out: Path, data_dir: Path) -> None:
    """Write the evidence bundle of a gateway's dossier (a folder id or a case id)."""
    import asyncio

    from appliance.exit_codes import exit_code_for
    from gateway.errors import GatewayError
    from gateway.evidence_export import ExportedBundle, export_bundle
    from gateway.runtime import GatewayRuntime
    from gateway.settings import GatewaySettings
    from hubee.errors import HubError

    async def main() -> ExportedBundle:
        settings = GatewaySettings.load(data_dir)
        runtime = await GatewayRuntime.open(settings)
        try:
            await runtime.drain.drain_once()
            identity = runtime.identity
            return await export_bundle(
                dossier_id,
                out,
                store=runtime.store,
                blobs=runtime.blobs,
                journal=runtime.journal,
                sealer=identity.seal,
                anchors=identity.hub_ca,
                journal_key=identity.journal_vkey,
                witness_key=identity.witness_vkey,
                now=dt.datetime.now(dt.UTC),
            )
        finally:
            await runtime.close()

    try:
        done = asyncio.run(main())
    except (GatewayError, HubError) as exc:
        click.secho(f"error: {exc.diagnostics()}", fg="red", err=True)
        ctx.exit(exit_code_for(exc))
    click.echo(f"wrote {done.path}: folder {done.folder_id}, {done.entries} journal entries")
    click.echo(
        f"  checkpoint size {done.checkpoint_size}, "
        + ("witnessed by the hub" if done.witnessed else "not yet witnessed by the hub")
    )
    click.echo(
        f"verify with: sceau verify {done.path} --anchor {data_dir / 'certs' / 'hub-ca.pem'}"
    )
