"""The connect-time guard: resolve once, vet every address, connect to exactly that address."""

import datetime
import ssl
import time

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from plugins.outbound import FetchError, fetch, transport
from plugins.outbound.deadline import Deadline
from plugins.outbound.private_destinations import parse_private_destinations
from plugins.outbound.transport import VettedBackend, VettedTransport

LOOPBACK_RANGE = parse_private_destinations(("127.0.0.1:8100-8199",))


def ok(handler):
    handler.reply(200, b'{"ok": true}')


def test_it_connects_to_the_vetted_address_and_sends_the_host_name(serve, fake_dns):
    server = serve({"/": ok})
    fake_dns["plugin.test"] = ["127.0.0.1"]
    result = fetch(f"http://plugin.test:{server.port}/")
    assert result.status == 200
    assert server.seen[0].headers["host"] == f"plugin.test:{server.port}"
    assert fake_dns.lookups == ["plugin.test"]  # resolved once, by the client


def test_it_refuses_a_host_name_resolving_to_a_private_address(fake_dns):
    fake_dns["internal.plugin.test"] = ["10.0.0.1"]
    with pytest.raises(FetchError) as caught:
        fetch("http://internal.plugin.test/")
    assert caught.value.code == "outbound.address_blocked"
    assert "10.0.0.1" not in caught.value.message


def test_it_refuses_a_host_name_if_any_resolved_address_is_denied(serve, fake_dns):
    server = serve({"/": ok})
    fake_dns["mixed.plugin.test"] = ["127.0.0.1", "10.0.0.1"]  # first one is allow-listed
    with pytest.raises(FetchError) as caught:
        fetch(f"http://mixed.plugin.test:{server.port}/")
    assert caught.value.code == "outbound.address_blocked"
    assert server.connections == 0


def test_it_reports_a_name_that_does_not_resolve(fake_dns):
    fake_dns["gone.plugin.test"] = []
    with pytest.raises(FetchError) as caught:
        fetch("http://gone.plugin.test/")
    assert caught.value.code == "outbound.dns_failed"


@pytest.mark.parametrize("host", ["2130706433", "0x7f.1", "0177.0.0.1", "127.1", "0", "localhost"])
def test_it_blocks_what_the_os_resolver_turns_into_local_addresses(host):
    # The URL layer refuses these spellings too; this is the net underneath it.
    backend = VettedBackend(deadline=Deadline(5), private_destinations=())
    with pytest.raises(FetchError) as caught:
        backend.connect_tcp(host, 8150, timeout=2)
    assert caught.value.code == "outbound.address_blocked"


def make_certificates(tmp_path, *, names):
    """A throwaway CA and a server certificate for `names`; returns (ca_pem, cert, key) paths."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "outbound test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    paths = tmp_path / "ca.pem", tmp_path / "server.pem", tmp_path / "server.key"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return paths


def tls_server(serve, tmp_path, *, names):
    ca, cert, key = make_certificates(tmp_path, names=names)
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(cert, key)
    sni_seen = []
    server_context.sni_callback = lambda sock, name, context: sni_seen.append(name)
    server = serve({"/": ok}, tls_context=server_context)
    client_context = ssl.create_default_context(cafile=str(ca))
    return server, client_context, sni_seen


def get_through_transport(url, client_context):
    transport = VettedTransport(
        deadline=Deadline(5), private_destinations=LOOPBACK_RANGE, ssl_context=client_context
    )
    try:
        response = transport.handle_request(httpx.Request("GET", url))
        response.read()
        return response
    finally:
        transport.close()


def test_it_uses_the_host_name_for_tls_while_connecting_to_the_vetted_address(
    serve, tmp_path, fake_dns
):
    server, client_context, sni_seen = tls_server(serve, tmp_path, names=["plugin.test"])
    fake_dns["plugin.test"] = ["127.0.0.1"]
    response = get_through_transport(f"https://plugin.test:{server.port}/", client_context)
    assert response.status_code == 200
    assert sni_seen == ["plugin.test"]
    assert server.seen[0].headers["host"] == f"plugin.test:{server.port}"


def test_it_verifies_the_certificate_against_the_host_name(serve, tmp_path, fake_dns):
    server, client_context, _ = tls_server(serve, tmp_path, names=["other.test"])
    fake_dns["plugin.test"] = ["127.0.0.1"]
    with pytest.raises(FetchError) as caught:
        get_through_transport(f"https://plugin.test:{server.port}/", client_context)
    assert caught.value.code == "outbound.connect_failed"
    assert caught.value.transient is False
    assert server.seen == []


def test_it_verifies_certificates_by_default(serve, tmp_path):
    server, _, _ = tls_server(serve, tmp_path, names=["localhost"])
    with pytest.raises(FetchError) as caught:
        fetch(f"https://localhost:{server.port}/", timeout=5)
    assert caught.value.code == "outbound.connect_failed"
    assert server.seen == []


def test_the_default_tls_context_is_built_once_per_process_and_shared_by_threads():
    from concurrent.futures import ThreadPoolExecutor

    from plugins.outbound.transport import default_ssl_context

    with ThreadPoolExecutor(4) as pool:
        contexts = set(pool.map(lambda _: id(default_ssl_context()), range(8)))
    assert contexts == {id(default_ssl_context())}
    context = default_ssl_context()
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname
    assert context.cert_store_stats()["x509_ca"] > 0  # certifi's roots are loaded


def test_the_shared_tls_context_cannot_be_switched_to_another_protocol():
    from plugins.outbound.transport import default_ssl_context

    default_ssl_context().set_alpn_protocols(["http/1.1"])  # what httpcore does: a no-op
    with pytest.raises(ValueError, match="speaks HTTP"):
        default_ssl_context().set_alpn_protocols(["h2", "http/1.1"])


def test_a_lost_dns_query_is_asked_again_after_a_second_not_after_the_resolvers_5s(
    serve, monkeypatch
):
    """A busy DNS server drops queries; glibc asks again only after 5 s. The client asks again
    itself, and the answer (vetted as always) comes from whichever lookup finishes first."""
    server = serve({"/": ok})
    lookups = []

    def resolve(host, port):
        lookups.append(host)
        if len(lookups) == 1:
            time.sleep(8)  # this query was lost
        return ["127.0.0.1"]

    monkeypatch.setattr(transport, "resolve", resolve)
    started = time.monotonic()
    result = fetch(f"http://flaky-dns.plugin.test:{server.port}/", timeout=5)

    assert result.status == 200
    assert time.monotonic() - started < 3
    assert lookups == ["flaky-dns.plugin.test"] * 2


def test_a_dead_dns_server_costs_the_deadline_and_at_most_three_lookups(monkeypatch):
    lookups = []

    def resolve(host, port):
        lookups.append(host)
        time.sleep(10)
        return ["127.0.0.1"]

    monkeypatch.setattr(transport, "resolve", resolve)
    started = time.monotonic()
    with pytest.raises(FetchError) as caught:
        fetch("http://dead-dns.plugin.test/", timeout=2.5)

    assert caught.value.code == "outbound.timeout"
    assert time.monotonic() - started < 4
    assert len(lookups) == transport.RESOLVE_MAX_LOOKUPS


def test_a_private_address_from_a_repeated_lookup_is_refused_too(monkeypatch):
    lookups = []

    def resolve(host, port):
        lookups.append(host)
        if len(lookups) == 1:
            time.sleep(8)
            return ["93.184.216.34"]
        return ["10.0.0.1"]

    monkeypatch.setattr(transport, "resolve", resolve)
    with pytest.raises(FetchError) as caught:
        fetch("http://rebinding.plugin.test/", timeout=5)

    assert caught.value.code == "outbound.address_blocked"
