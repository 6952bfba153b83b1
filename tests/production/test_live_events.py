"""Live events across the production stack: a curator's admin edit on one daphne
worker reaches sockets on the other worker, directly and through nginx.

The stack (tests/support/stack.py) runs two workers with the container's
command line, a real redis-server as their channel layer and nginx with
docker/nginx.conf. The admin change form is fetched and posted straight to
worker A; one socket is opened straight to worker B, one through nginx over
TLS (HTTP/1.1 upgrade, as browsers open websockets), which may land on either.
"""

import ssl

import pytest

from tests.support.admin_form import Curator
from tests.support.stack import LAYER_IDS, SERVER_NAME
from tests.support.ws_client import open_events_socket, read_text_frame

pytestmark = pytest.mark.services

LAYER_ID = LAYER_IDS[0]


def test_an_admin_edit_on_one_worker_reaches_sockets_on_the_other_and_through_nginx(stack):
    worker_a, worker_b = stack.workers
    curator = Curator(stack, worker_a, LAYER_ID)
    tls = ssl.create_default_context(cafile=stack.ca_file)
    direct = open_events_socket(worker_b.port)
    proxied = open_events_socket(stack.nginx.https_port, tls=tls, host=SERVER_NAME)
    try:
        curator.rename_layer("I (edited in the admin)")
        expected = {"event": "changed", "kind": "layer", "id": LAYER_ID}
        assert read_text_frame(direct) == expected
        assert read_text_frame(proxied) == expected
    finally:
        direct.close()
        proxied.close()
    layer = stack.session().get(f"{stack.base_url}/layers/{LAYER_ID}", timeout=30)
    assert layer.json()["name"] == "I (edited in the admin)"
