"""Issue 11: hostile requests through nginx to daphne on PostgreSQL all get a JSON 4xx.

PostgreSQL is where a session cookie holding a NUL byte answered 500 on
every endpoint, and nginx answers oversized requests itself.
"""

import pytest

from tests.support.error_cases import check, every_method_cases, reported_cases
from tests.support.stack import LAYER_IDS

pytestmark = pytest.mark.services

LAYER = LAYER_IDS[0]


@pytest.mark.parametrize("logged_in", [False, True], ids=["anonymous", "session"])
def test_every_hostile_request_gets_a_json_4xx(stack, session_key, logged_in):
    http = stack.session()
    if logged_in:
        http.cookies.set("sessionid", session_key)
        assert http.get(stack.base_url + "/auth/me").json()["username"] == "fuzz-user"
    cases = reported_cases(
        LAYER, no_data_tile=f"/layers/{LAYER}/2/3/0/tile.png", broken_layer=None
    ) + every_method_cases(LAYER)
    problems = [problem for case in cases if (problem := check(http, stack.base_url, case))]
    assert problems == [], "\n".join(problems)
