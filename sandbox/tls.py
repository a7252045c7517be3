"""WeChat Pay over HTTPS, with the merchant's API certificate where WeChat requires it.

At start the sandbox makes a test CA and, signed by it, its own server certificate and the
merchant's API certificate (what a brand downloads from the merchant platform as
apiclient_cert.pem and apiclient_key.pem). The HTTPS listener asks every client for a
certificate; a path under /secapi/ (refunds) is served only to a client that presented one
signed by the CA, as WeChat serves it only to a client holding the merchant's certificate.
"""
import ipaddress
import ssl
from datetime import datetime, timedelta, timezone
from pathlib import Path

CA_FILE = "ca.pem"  # what a client trusts to reach the sandbox over HTTPS
MERCHANT_CERT_FILE, MERCHANT_KEY_FILE = "apiclient_cert.pem", "apiclient_key.pem"
_SERVER_CERT_FILE, _SERVER_KEY_FILE = "server_cert.pem", "server_key.pem"
SECURE_PREFIX = "/secapi/"
# nginx's answer in front of WeChat Pay when a client certificate was required and not sent.
NO_CERTIFICATE_PAGE = (
    "<html>\r\n<head><title>400 No required SSL certificate was sent</title></head>\r\n"
    "<body>\r\n<center><h1>400 Bad Request</h1></center>\r\n"
    "<center>No required SSL certificate was sent</center>\r\n<hr><center>nginx</center>\r\n"
    "</body>\r\n</html>\r\n")


def _key():
    from cryptography.hazmat.primitives.asymmetric import ec

    return ec.generate_private_key(ec.SECP256R1())


def _certificate(subject_name, key, issuer_name, issuer_key, *, ca=False, server=False):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.now(timezone.utc)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject_name)])
    issuer = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer_name)])
    builder = (x509.CertificateBuilder().subject_name(name).issuer_name(issuer)
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - timedelta(minutes=5))
               .not_valid_after(now + timedelta(days=3650 if ca else 365))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if server:
        builder = builder.add_extension(x509.SubjectAlternativeName([
            x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False)
    if not ca:
        builder = builder.add_extension(x509.ExtendedKeyUsage(
            [ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH]),
            critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def _write(directory, file_name, certificate=None, key=None):
    from cryptography.hazmat.primitives import serialization

    path = Path(directory) / file_name
    if certificate is not None:
        path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    else:
        path.touch(mode=0o600)
        path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return path


def make_certificates(directory, mch_id):
    """A fresh test CA in `directory`, with the sandbox's server certificate and the
    merchant's API certificate (its common name the merchant id, as WeChat's) signed by it."""
    Path(directory).mkdir(parents=True, exist_ok=True)
    ca_key = _key()
    ca_name = "WeChat Sandbox Test CA"
    _write(directory, CA_FILE, _certificate(ca_name, ca_key, ca_name, ca_key, ca=True))
    for subject, cert_file, key_file, server in (
            ("127.0.0.1", _SERVER_CERT_FILE, _SERVER_KEY_FILE, True),
            (mch_id, MERCHANT_CERT_FILE, MERCHANT_KEY_FILE, False)):
        key = _key()
        _write(directory, key_file, key=key)
        _write(directory, cert_file, _certificate(subject, key, ca_name, ca_key, server=server))


def server_context(directory):
    """The HTTPS listener's context: asks for a client certificate and, if one is presented,
    accepts it only when the CA signed it."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(Path(directory) / _SERVER_CERT_FILE,
                            Path(directory) / _SERVER_KEY_FILE)
    context.load_verify_locations(Path(directory) / CA_FILE)
    context.verify_mode = ssl.CERT_OPTIONAL
    return context
