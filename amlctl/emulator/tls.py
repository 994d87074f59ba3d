"""The self-signed certificate behind `amlctl emulator serve --tls`.

Why TLS on loopback at all: azure-core's bearer-token policy refuses to send a token over plain
http ("Bearer token authentication is not permitted for non-TLS protected (non-https) URLs"),
so Microsoft's SDKs can only be rehearsed against an https emulator.

The certificate is made on first use and kept beside the database as `<db>.pem` (for
`emulator.sqlite3`, `emulator.sqlite3.pem`), mode 0600. That one file holds, in order: a
comment saying what it is, the certificate (EC P-256, valid one year, for 127.0.0.1, ::1 and
localhost, self-signed, so it is its own CA) and its private key. Clients trust the emulator by
using the file as their CA bundle (`REQUESTS_CA_BUNDLE`, `SSL_CERT_FILE`, `AMLCTL_CA_BUNDLE`):
TLS libraries take only the certificates from a bundle and skip the key. A file that is
unreadable, not ours, for other names, or within a day of expiring is replaced.
"""

from __future__ import annotations

import ipaddress
import os
import ssl
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

NAMES = ("localhost",)
ADDRESSES = ("127.0.0.1", "::1")
LIFETIME = timedelta(days=365)
RENEW_BEFORE = timedelta(days=1)
_SUBJECT = "amlctl emulator (loopback only)"
_HEADER = (
    "# amlctl emulator: a self-signed TLS certificate for 127.0.0.1, ::1 and localhost,\n"
    "# followed by its private key. Clients use this file as their CA bundle\n"
    "# (REQUESTS_CA_BUNDLE, SSL_CERT_FILE or AMLCTL_CA_BUNDLE); they read only the\n"
    "# certificate. Keep it private (mode 0600); delete it to get a new one.\n"
)


def certificate_path(db: Path) -> Path:
    """Where the certificate of the emulator over `db` lives: `<db>.pem`."""
    return db.with_name(db.name + ".pem")


def ensure_certificate(path: Path, now: datetime | None = None) -> Path:
    """The certificate file at `path`, made (or remade) if it is missing or unusable."""
    moment = now or datetime.now(UTC)
    if not _usable(path, moment):
        _write_private(path, _new_pem(moment))
    elif path.stat().st_mode & 0o077:
        path.chmod(0o600)  # a key others can read is not private; make it so again
    return path


def server_context(path: Path) -> ssl.SSLContext:
    """A TLS 1.2+ server context presenting the certificate in `path`."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(path)  # the key is in the same file
    return context


def _usable(path: Path, moment: datetime) -> bool:
    try:
        data = path.read_bytes()
        cert = x509.load_pem_x509_certificate(data)
        key = serialization.load_pem_private_key(data, password=None)
    except (OSError, ValueError):
        return False
    if cert.public_key() != key.public_key():
        return False
    if cert.not_valid_after_utc - RENEW_BEFORE < moment or cert.not_valid_before_utc > moment:
        return False
    try:
        names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return False
    wanted = {*NAMES, *ADDRESSES}
    found = {*names.get_values_for_type(x509.DNSName),
             *(str(ip) for ip in names.get_values_for_type(x509.IPAddress))}
    return wanted <= found


def _new_pem(moment: datetime) -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, _SUBJECT)])
    alternatives = [*(x509.DNSName(n) for n in NAMES),
                    *(x509.IPAddress(ipaddress.ip_address(a)) for a in ADDRESSES)]
    public = key.public_key()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(name).public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(moment - timedelta(hours=1))  # a client clock a little behind
        .not_valid_after(moment + LIFETIME)
        .add_extension(x509.SubjectAlternativeName(alternatives), critical=False)
        # its own trust anchor: a CA that may sign only itself, and a server certificate
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(
            digital_signature=True, key_cert_sign=True, content_commitment=False,
            key_encipherment=False, data_encipherment=False, key_agreement=False,
            crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(public),
                       critical=False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(serialization.Encoding.PEM,
                                serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return _HEADER.encode() + cert.public_bytes(serialization.Encoding.PEM) + key_pem


def _write_private(path: Path, data: bytes) -> None:
    """Write `data` to `path` through a 0600 temporary file, replaced in one step, so the key
    is never readable by others, not even half-written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.unlink(missing_ok=True)  # O_EXCL below: the 0600 mode applies only to new files
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
