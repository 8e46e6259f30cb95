"""A self-signed certificate for the served API (kubectl sends its token only over TLS).

The certificate names 127.0.0.1 and localhost and is made fresh for every served
cluster; the kubeconfig labkit writes carries it as the cluster's certificate authority,
so kubectl and the official client verify the server as they would minikube's.
"""
from __future__ import annotations

import datetime
import ipaddress
import os
import tempfile

from ....private import write_private


def make_certificate(folder: str) -> tuple[str, str, bytes]:
    """(certificate path, key path, certificate PEM) written into `folder` (both mode 0600)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "labkit-simulator")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=365))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                        x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, content_commitment=False,
                                         key_encipherment=False, data_encipherment=False, key_agreement=False,
                                         crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .sign(key, hashes.SHA256()))
    pem = cert.public_bytes(serialization.Encoding.PEM)
    cert_path = write_private(os.path.join(folder, "server.crt"), pem)
    key_path = write_private(os.path.join(folder, "server.key"),
                             key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
    return cert_path, key_path, pem


def private_folder(prefix: str = "labkit-serve-") -> str:
    """A fresh folder of this process's own (mkdtemp: a random name, mode 0700)."""
    return tempfile.mkdtemp(prefix=prefix)
