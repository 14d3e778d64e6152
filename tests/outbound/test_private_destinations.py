import pytest
from django.core.exceptions import ImproperlyConfigured

from plugins.outbound import FetchError, fetch
from plugins.outbound.private_destinations import PrivateDestination, parse_private_destinations


def ok(handler):
    handler.reply(200, b'{"ok": true}')


def test_it_parses_host_port_and_port_range_entries():
    assert parse_private_destinations(
        ("127.0.0.1:8100-8199", "localhost:8100", "[::1]:9000-9001", " Plugins.Test:80 ")
    ) == (
        PrivateDestination("127.0.0.1", 8100, 8199),
        PrivateDestination("localhost", 8100, 8100),
        PrivateDestination("::1", 9000, 9001),
        PrivateDestination("plugins.test", 80, 80),
    )


@pytest.mark.parametrize(
    "entry",
    [
        "127.0.0.1",
        "127.0.0.1:",
        ":8100",
        "127.0.0.1:0",
        "127.0.0.1:70000",
        "127.0.0.1:8199-8100",
        "127.0.0.1:81-",
        "127.0.0.1:abc",
        "127.0.0.1:8100-8199-8200",
        "::1:8100",
        "[::1]8100",
        "[127.0.0.1]:8100",
        "*:8100",
        "*.example.com:443",
        "http://127.0.0.1:8100",
        "",
    ],
)
def test_it_rejects_malformed_entries(entry):
    with pytest.raises(ImproperlyConfigured):
        parse_private_destinations((entry,))


def test_it_reads_the_setting_at_call_time_and_fails_loudly_on_a_bad_entry(settings, serve):
    server = serve({"/": ok})
    settings.MARKETPLACE_OUTBOUND_PRIVATE_DESTINATIONS = ["127.0.0.1:8100-8199", "127.0.0.1"]
    with pytest.raises(ImproperlyConfigured):
        fetch(f"{server.url}/")


def test_it_rejects_a_string_instead_of_a_list(settings):
    settings.MARKETPLACE_OUTBOUND_PRIVATE_DESTINATIONS = "127.0.0.1:8100-8199"
    with pytest.raises(ImproperlyConfigured):
        fetch("http://127.0.0.1:8150/")


def test_it_blocks_a_loopback_server_when_the_allowlist_is_empty(settings, serve):
    server = serve({"/": ok})
    settings.MARKETPLACE_OUTBOUND_PRIVATE_DESTINATIONS = []
    for url in (server.url, server.localhost_url, f"http://[::ffff:127.0.0.1]:{server.port}"):
        with pytest.raises(FetchError) as caught:
            fetch(f"{url}/")
        assert caught.value.code == "outbound.address_blocked"
    assert server.connections == 0


def test_it_blocks_a_port_outside_the_allowed_range(settings, serve):
    server = serve({"/": ok})
    settings.MARKETPLACE_OUTBOUND_PRIVATE_DESTINATIONS = [f"127.0.0.1:{server.port + 1}-8300"]
    with pytest.raises(FetchError) as caught:
        fetch(f"{server.url}/")
    assert caught.value.code == "outbound.address_blocked"
    assert server.connections == 0


def test_it_matches_a_host_name_entry_on_the_host_as_written(settings, serve):
    server = serve({"/": ok})
    settings.MARKETPLACE_OUTBOUND_PRIVATE_DESTINATIONS = [f"localhost:{server.port}"]
    assert fetch(f"{server.localhost_url}/").status == 200
    with pytest.raises(FetchError) as caught:
        fetch(f"{server.url}/")
    assert caught.value.code == "outbound.address_blocked"


def test_it_matches_an_ip_entry_on_the_resolved_address(settings, serve, fake_dns):
    server = serve({"/": ok})
    fake_dns["plugin.test"] = ["127.0.0.1"]
    settings.MARKETPLACE_OUTBOUND_PRIVATE_DESTINATIONS = [f"127.0.0.1:{server.port}"]
    assert fetch(f"http://plugin.test:{server.port}/").status == 200


def test_it_does_not_let_an_ip_entry_cover_another_spelling_of_the_address(settings, serve):
    server = serve({"/": ok})
    settings.MARKETPLACE_OUTBOUND_PRIVATE_DESTINATIONS = [f"127.0.0.1:{server.port}"]
    with pytest.raises(FetchError) as caught:
        fetch(f"http://[::ffff:127.0.0.1]:{server.port}/")
    assert caught.value.code == "outbound.address_blocked"
