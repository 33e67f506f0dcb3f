"""TLS for the listeners: the server context, a self-signed certificate on
first start, and the plaintext-authentication policy.

When the configuration names no certificate, one is generated with the
``cryptography`` package (an ECDSA P-256 key, valid for the server's host
name, ``localhost`` and the loopback addresses) and kept in
``<data dir>/tls/`` so that it survives restarts (clients that pinned it keep
working).  The key file is created with mode 0600.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import ssl
from pathlib import Path

__all__ = ["ensure_certificate", "plaintext_auth_allowed", "server_context"]


def ensure_certificate(directory: Path, hostname: str) -> tuple[Path, Path]:
    """Return ``(cert, key)`` files in *directory*, generating them if absent."""
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    if cert_path.exists() and key_path.exists():
        return cert_path, key_path
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    directory.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hostname)])
    now = datetime.datetime.now(datetime.timezone.utc)
    names: list[x509.GeneralName] = [x509.DNSName(hostname), x509.DNSName("localhost")]
    names += [x509.IPAddress(ipaddress.ip_address(a)) for a in ("127.0.0.1", "::1")]
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=3650))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    key_bytes = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    # Each file is written whole under a temporary name, then renamed, the
    # certificate last: a start killed half-way leaves no truncated PEM
    # file that would stop every later start; it leaves at most a key
    # without a certificate, and the next start generates a new pair.
    _write_new(key_path, key_bytes, 0o600)
    _write_new(cert_path, cert.public_bytes(serialization.Encoding.PEM), 0o644)
    return cert_path, key_path


def _write_new(path: Path, data: bytes, mode: int) -> None:
    """Write *path* atomically (temporary file, fsync, rename) with *mode*."""
    temp = path.with_name(path.name + ".tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(temp, path)


def server_context(cert: Path | str, key: Path | str) -> ssl.SSLContext:
    """A server-side context: TLS 1.2 or later, the given certificate."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        ctx.load_cert_chain(str(cert), str(key))
    except OSError as exc:  # ssl.SSLError is one too
        # What OpenSSL says names no file ("[Errno 2] No such file or
        # directory", "[SSL] PEM lib"): say which files, and why.
        for path in (cert, key):
            if not Path(path).is_file():
                raise OSError(f"TLS file {path}: not found") from None
        why = getattr(exc, "reason", None) or exc.strerror or str(exc)
        if "PEM lib" in why:
            why = "not a PEM certificate and its private key"
        elif why == "KEY_VALUES_MISMATCH":
            why = "the key is not the certificate's"
        raise OSError(f"TLS certificate {cert} with key {key}: {why}") from None
    return ctx


def _is_loopback(ip: str) -> bool:
    try:
        return ipaddress.ip_address(ip.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


def plaintext_auth_allowed(policy: str, *, peer_ip: str, tls_active: bool) -> bool:
    """May a password cross this connection? (RFC 8314 §3, RFC 4954 §4)

    *policy* is the config's ``allow_plaintext_auth``: ``"never"`` (only
    over TLS), ``"loopback"`` (also in the clear from a loopback address —
    the demo), ``"always"``.
    """
    if tls_active or policy == "always":
        return True
    return policy == "loopback" and _is_loopback(peer_ip)
