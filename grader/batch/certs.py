"""``python -m grader batch certs DIR``: the TLS files of a grading cluster (a CA, the scheduler, the workers, the instructor).

A Dask client can run any code on the workers (``client.run``): whoever can
connect to the scheduler can change grades. With these files the scheduler
and the workers accept only a peer holding a certificate of this CA, so only
the instructor (``client.pem``) and the workers (``worker.pem``) get in.

    python -m grader batch certs DIR [--days N]

writes, all signed by a new CA (keys readable by their owner only):

- ``ca.pem`` (every machine), ``ca-key.pem`` (keep it on the instructor's machine; it signs new certificates);
- ``scheduler.pem`` + ``scheduler-key.pem`` (the scheduler's machine);
- ``worker.pem`` + ``worker-key.pem`` (each grading machine, readable by the worker's user only);
- ``client.pem`` + ``client-key.pem`` (the instructor's machine only).

and prints the ``dask scheduler``, ``dask worker`` and ``python -m grader batch`` command lines that use them.
"""

import argparse
import datetime
import os
import sys
from pathlib import Path

ROLES = ("scheduler", "worker", "client")
CA_NAME = "cvlab-grading-ca"
DEFAULT_DAYS = 365


class CertificateError(RuntimeError):
    """The files cannot be written (already there, no ``cryptography``); the message says what to do."""


def role_files(folder, role):
    """``(certificate, key)`` paths of ``role`` ("ca", "scheduler", "worker", "client") in ``folder``."""
    folder = Path(folder)
    return folder / f"{role}.pem", folder / f"{role}-key.pem"


def _write(path, data, private):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600 if private else 0o644)
    with os.fdopen(fd, "wb") as file:
        file.write(data)


def _name(common_name):
    from cryptography import x509  # noqa: PLC0415 - an instructor-only dependency, loaded when certificates are made
    from cryptography.x509.oid import NameOID  # noqa: PLC0415

    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _certificate(common_name, issuer, public_key, signing_key, days, ca):
    from cryptography import x509  # noqa: PLC0415
    from cryptography.hazmat.primitives import hashes  # noqa: PLC0415
    from cryptography.x509.oid import ExtendedKeyUsageOID  # noqa: PLC0415

    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder().subject_name(_name(common_name)).issuer_name(issuer).public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=0 if ca else None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(signing_key.public_key()), critical=False)
    )
    if ca:
        builder = builder.add_extension(x509.KeyUsage(
            digital_signature=True, content_commitment=False, key_encipherment=False, data_encipherment=False,
            key_agreement=False, key_cert_sign=True, crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
    else:
        # a scheduler and a worker both accept and open connections; the client only opens them
        builder = builder.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
                                        critical=False)
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(common_name)]),
                                        critical=False)
    return builder.sign(signing_key, hashes.SHA256())


def write_certificates(folder, days=DEFAULT_DAYS):
    """Write a new CA and a certificate and key per role into ``folder``; returns the folder.

    Raises:
        CertificateError: ``folder`` already holds a CA (replacing it would lock out a running cluster),
            or ``cryptography`` is not installed.
    """
    try:
        from cryptography.hazmat.primitives import serialization  # noqa: PLC0415
        from cryptography.hazmat.primitives.asymmetric import ec  # noqa: PLC0415
    except ImportError:
        raise CertificateError("making certificates needs the `cryptography` package: "
                               "pip install cryptography (it comes with the instructor's dependencies)") from None
    folder = Path(folder)
    if role_files(folder, "ca")[0].exists():
        raise CertificateError(f"{folder} already holds a CA (ca.pem): use it, or pick an empty folder for new files.")
    folder.mkdir(parents=True, exist_ok=True)

    def key_bytes(key):
        return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())

    def cert_bytes(cert):
        return cert.public_bytes(serialization.Encoding.PEM)

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name(CA_NAME)
    ca_cert = _certificate(CA_NAME, ca_name, ca_key.public_key(), ca_key, days, ca=True)
    ca_pem, ca_key_pem = role_files(folder, "ca")
    _write(ca_key_pem, key_bytes(ca_key), private=True)
    _write(ca_pem, cert_bytes(ca_cert), private=False)
    for role in ROLES:
        key = ec.generate_private_key(ec.SECP256R1())
        cert = _certificate(f"cvlab-{role}", ca_name, key.public_key(), ca_key, days, ca=False)
        cert_path, key_path = role_files(folder, role)
        _write(key_path, key_bytes(key), private=True)
        _write(cert_path, cert_bytes(cert), private=False)
    return folder


def command_lines(folder, scheduler_host="SCHEDULER", port=8786):
    """The commands that start a cluster with the files of ``folder`` and grade on it."""
    folder = Path(folder).resolve()

    def tls(role):
        cert, key = role_files(folder, role)
        return f"--tls-ca-file {folder / 'ca.pem'} --tls-cert {cert} --tls-key {key}"

    address = f"tls://{scheduler_host}:{port}"
    return [
        "# the scheduler's machine:",
        f"dask scheduler --protocol tls --port {port} --no-dashboard {tls('scheduler')}",
        "# each grading machine (one worker process per core; cvlab with solutions/ installed):",
        f"dask worker {address} --nworkers -1 --nthreads 1 --memory-limit 0 --no-dashboard {tls('worker')}",
        "# the instructor's machine (the one writer of the grades):",
        f"python -m grader batch SUBMISSIONS_DIR --out DIR --scheduler {address} --tls {folder}",
        f"python -m course grade --scheduler {address} --tls {folder}",
    ]


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m grader batch certs", description=__doc__.splitlines()[0])
    parser.add_argument("folder", help="folder for the new files (must not hold a CA yet)")
    parser.add_argument("--days", type=int, default=DEFAULT_DAYS, help="validity of the certificates (default: %(default)s)")
    args = parser.parse_args(argv)
    if args.days < 1:
        print("python -m grader batch certs: --days must be at least 1.", file=sys.stderr)
        return 2
    try:
        folder = write_certificates(args.folder, args.days)
    except (CertificateError, OSError) as exc:
        print(f"python -m grader batch certs: {exc}", file=sys.stderr)
        return 1
    print(f"wrote a CA and certificates for the scheduler, the workers and the grading client to {folder}; "
          "copy ca.pem and each role's two files to its machines only:")
    print("\n".join(command_lines(folder)))
    return 0
