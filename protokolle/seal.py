"""The electronic seal of the archival PDF: a PAdES baseline signature (pyHanko).

Confirmed minutes are archived as a PDF that the installation seals with its own
certificate, so that anyone with a PDF reader can see that the record is unchanged
and where it comes from; the SHA-256 in our database proves that only to us.

The certificate comes from the settings (the environment, see README.md):

- ``PDF_SEAL_PKCS12`` and ``PDF_SEAL_PASSWORD``: a PKCS#12 file (.p12/.pfx), or
- ``PDF_SEAL_KEY``, ``PDF_SEAL_CERT`` (PEM or DER) and ``PDF_SEAL_KEY_PASSWORD``;
- ``PDF_SEAL_TIMESTAMP_URL``: an RFC 3161 timestamp server (off by default), which
  makes the signature PAdES-B-T instead of B-B.

With DEBUG on and no certificate configured, the installation uses a self-signed demo
seal ("Werkstatt-Protokolle Demo-Siegel"), created on first use or by ``manage.py
demo_seal`` (which ``make run`` calls), and says so; with
DEBUG off a missing certificate is an error (``SealNotConfigured``) that names the
setting: an archive is never stored unsealed without anyone noticing.

The signature is an incremental update after the whole file: it covers the entire
file and leaves the PDF/A content as it is (an invisible signature field).
"""

import asyncio
import datetime
import io
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext as _

FIELD_NAME = "Siegel"
DEMO_NAME = "Werkstatt-Protokolle Demo-Siegel"
DEMO_PASSWORD = b"demo"

logger = logging.getLogger(__name__)


class SealError(Exception):
    """The PDF could not be sealed; the message can be shown as is."""


class SealNotConfigured(SealError, ImproperlyConfigured):
    """No seal certificate is configured where one is needed."""


def demo_path():
    """Where the demo seal lives: ``settings.PDF_SEAL_DEMO_PATH``."""
    return Path(settings.PDF_SEAL_DEMO_PATH)


def _settings():
    return {
        name: getattr(settings, f"PDF_SEAL_{name.upper()}", "") or ""
        for name in ("pkcs12", "password", "key", "cert", "key_password", "timestamp_url")
    }


def _password(value):
    return value.encode("utf-8") if value else None


@cache
def _load(pkcs12, password, key, cert, key_password):
    from pyhanko.sign import signers

    try:
        if pkcs12:
            signer = signers.SimpleSigner.load_pkcs12(pkcs12, passphrase=_password(password))
        else:
            signer = signers.SimpleSigner.load(key, cert, key_passphrase=_password(key_password))
    except (OSError, ValueError) as exc:
        raise SealError(
            _("The seal certificate cannot be read: %(error)s") % {"error": exc}
        ) from exc
    if signer is None:  # pyHanko logs the reason and returns None
        raise SealError(
            _("The seal certificate cannot be read (wrong file or password): %(path)s")
            % {"path": pkcs12 or key}
        )
    return signer


def signer():
    """The installation's pyHanko signer; ``SealNotConfigured`` when there is none."""
    options = _settings()
    if options["pkcs12"] or options["key"] or options["cert"]:
        if not options["pkcs12"] and not (options["key"] and options["cert"]):
            raise SealNotConfigured(
                _(
                    "Set both PDF_SEAL_KEY and PDF_SEAL_CERT "
                    "(DJANGO_PDF_SEAL_KEY, DJANGO_PDF_SEAL_CERT)."
                )
            )
        return _load(
            options["pkcs12"],
            options["password"],
            options["key"],
            options["cert"],
            options["key_password"],
        )
    if settings.DEBUG:
        path = demo_path()
        if not path.exists():
            make_demo_seal(path)
            logger.warning(
                "No seal certificate configured: created the self-signed demo seal "
                "“%s” in %s (DEBUG is on; in production set DJANGO_PDF_SEAL_PKCS12).",
                DEMO_NAME,
                path,
            )
        return _load(str(path), DEMO_PASSWORD.decode(), "", "", "")
    raise SealNotConfigured(
        _(
            "Confirmed minutes are archived sealed, and no seal certificate is configured: "
            "set DJANGO_PDF_SEAL_PKCS12 and DJANGO_PDF_SEAL_PASSWORD (or DJANGO_PDF_SEAL_KEY "
            "and DJANGO_PDF_SEAL_CERT)."
        )
    )


def require():
    """Raise ``SealNotConfigured`` unless a seal can be applied (checked before confirming)."""
    signer()


def subject_name(certificate):
    """The certificate's common name (or its whole subject), as readers show it."""
    attributes = certificate.subject.native
    return attributes.get("common_name") or certificate.subject.human_friendly


def seal_name():
    """Whose seal the archive gets: the configured certificate's common name."""
    return subject_name(signer().signing_cert)


def _run(make_coroutine):
    """Run pyHanko's async API: here, or in a thread of its own where this thread
    already runs an event loop (an ASGI server, Playwright in the browser tests), in
    which pyHanko's synchronous wrappers (asyncio.run) would fail."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(make_coroutine())
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(lambda: asyncio.run(make_coroutine())).result()


@dataclass
class Sealed:
    data: bytes
    sealed_by: str
    sealed_at: datetime.datetime


def seal(data, *, reason="Bestätigtes Protokoll"):
    """``data`` (a PDF) with the installation's PAdES signature over the whole file."""
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers, timestamps
    from pyhanko.sign.general import SigningError

    sealer = signer()
    options = _settings()
    timestamper = None
    if options["timestamp_url"]:
        timestamper = timestamps.HTTPTimeStamper(options["timestamp_url"], timeout=20)
    metadata = signers.PdfSignatureMetadata(
        field_name=FIELD_NAME,
        md_algorithm="sha256",
        subfilter=fields.SigSeedSubFilter.PADES,
        reason=reason,
        name=subject_name(sealer.signing_cert),
    )
    signed_at = datetime.datetime.now(tz=datetime.UTC)
    try:
        writer = IncrementalPdfFileWriter(io.BytesIO(data), strict=False)
        output = _run(
            lambda: signers.async_sign_pdf(
                writer,
                metadata,
                signer=sealer,
                timestamper=timestamper,
                new_field_spec=fields.SigFieldSpec(sig_field_name=FIELD_NAME),
            )
        )
    except (SigningError, OSError, ValueError) as exc:
        logger.exception("sealing the archival PDF failed")
        raise SealError(_("The PDF could not be sealed: %(error)s") % {"error": exc}) from exc
    return Sealed(output.getvalue(), subject_name(sealer.signing_cert), signed_at)


@dataclass
class Check:
    """What ``verify`` found: ``problem`` is None for an intact seal by our certificate."""

    problem: str | None
    sealed_by: str = ""
    sealed_at: datetime.datetime | None = None


def verify(data, *, expected=None):
    """Check the seal of one stored PDF.

    The signature must be there, intact (the bytes it covers unchanged, the
    cryptography valid), cover the entire file (nothing appended after sealing), and be
    made with the configured certificate (``expected``, a certificate; default the
    installation's). Trust in a certification authority is not checked here: the demo
    seal is self-signed, and a real one is checked by the reader's trust list.
    """
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import async_validate_pdf_signature
    from pyhanko.sign.validation.status import SignatureCoverageLevel
    from pyhanko_certvalidator import ValidationContext

    try:
        reader = PdfFileReader(io.BytesIO(data), strict=False)
        signatures = reader.embedded_signatures
    except Exception as exc:  # noqa: BLE001 - a damaged file is a finding, not a crash
        return Check(f"unreadable PDF: {exc}")
    if not signatures:
        return Check("not sealed")
    if len(signatures) > 1:
        return Check(f"{len(signatures)} signatures, expected one seal")
    embedded = signatures[0]
    certificate = embedded.signer_cert
    try:
        status = _run(
            lambda: async_validate_pdf_signature(
                embedded,
                ValidationContext(trust_roots=[certificate], allow_fetching=False),
            )
        )
    except Exception as exc:  # noqa: BLE001 - a broken signature structure is a finding
        return Check(f"seal cannot be validated: {exc}")
    sealed_by = subject_name(certificate)
    sealed_at = embedded.self_reported_timestamp
    if not status.intact:
        return Check("seal broken: the signed bytes were changed", sealed_by, sealed_at)
    if not status.valid:
        return Check("seal invalid: the signature does not match", sealed_by, sealed_at)
    if status.coverage != SignatureCoverageLevel.ENTIRE_FILE:
        return Check(
            "seal does not cover the entire file: something was appended after sealing",
            sealed_by,
            sealed_at,
        )
    if expected is None:
        try:
            expected = signer().signing_cert
        except SealError as exc:
            return Check(f"no seal certificate to compare with: {exc}", sealed_by, sealed_at)
    if certificate.dump() != expected.dump():
        return Check(
            f"sealed by another certificate ({sealed_by}), expected {subject_name(expected)}",
            sealed_by,
            sealed_at,
        )
    return Check(None, sealed_by, sealed_at)


def make_demo_seal(path=None, *, name=DEMO_NAME, days=3650):
    """Create a self-signed seal certificate as a PKCS#12 file; return its path."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.hazmat.primitives.serialization import pkcs12
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    path = Path(path or demo_path())
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, name),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Werkstatt-Protokolle"),
            x509.NameAttribute(NameOID.COUNTRY_NAME, "DE"),
        ]
    )
    now = datetime.datetime.now(tz=datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False
        )
        .sign(key, hashes.SHA256())
    )
    data = pkcs12.serialize_key_and_certificates(
        name.encode("utf-8"),
        key,
        certificate,
        None,
        serialization.BestAvailableEncryption(DEMO_PASSWORD),
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    path.chmod(0o600)
    _load.cache_clear()
    return path


def check_configured(app_configs=None, **kwargs):
    """System check (``check --deploy``): with DEBUG off a seal certificate must be set
    and readable, or confirming minutes fails."""
    from django.core.checks import Error

    if settings.DEBUG:
        return []
    try:
        signer()
    except SealError as error:
        return [Error(str(error), id="protokolle.E001")]
    return []
