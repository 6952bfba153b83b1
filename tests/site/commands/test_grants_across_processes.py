"""A grant change made by another process shows in the very next answer of a running server.

The default set-up (in-process cache, SQLite) shares nothing but the database
file between ``serve`` and ``import_config``, a ``manage.py shell`` or the
other worker: a newly restricted layer stayed visible to anonymous users,
and a revoked or deactivated user kept access, for about a minute.
"""

import json
import signal

import pytest
import requests

from tests.support.ports import free_port
from tests.support.servers import ServerProcess, run_command

SECRET = "act-private"
# Through the shell: a user holding the grant, and a logged-in session of theirs.
MAKE_SESSION = """
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.auth.models import User
from django.contrib.sessions.backends.db import SessionStore
from maps.models import Grant

{make_user}
session = SessionStore()
session[SESSION_KEY] = str(user.pk)
session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
session[HASH_SESSION_KEY] = user.get_session_auth_hash()
session.create()
print(session.session_key)
"""
MAKE_HOLDER = MAKE_SESSION.format(
    make_user='user = User.objects.create_user("holder")\n'
    'Grant.objects.get(name="act-private").users.add(user)'
)
PRINT_LAYER_PK = (
    'from maps.models import Layer\nprint(Layer.objects.get(layer_id="demo-public").pk)'
)
MAKE_CURATOR = MAKE_SESSION.format(make_user='user = User.objects.create_superuser("curator")')


def layer(layer_id, grant=None):
    entry = {
        "layer_id": layer_id,
        "name": layer_id,
        "provider": {"provider_type": "fits", "index": 0},
    }
    if grant:
        entry["grant"] = grant
    return entry


def write_config(workspace, iqu_map, *, public_grant=None):
    """``demo-public`` restricted by ``public_grant`` (if any), ``demo-secret`` by SECRET."""
    layers = [layer("demo-public", public_grant), layer("demo-secret", SECRET)]
    for entry in layers:
        entry["provider"]["filename"] = iqu_map.name
    config = {
        "grants": [{"name": SECRET}],
        "map_groups": [
            {
                "map_group_id": "demo-group",
                "name": "Demo",
                "maps": [
                    {
                        "map_id": "demo-map",
                        "name": "Demo map",
                        "bands": [{"band_id": "demo-band", "name": "f090", "layers": layers}],
                    }
                ],
            }
        ],
    }
    path = workspace.maps / "config.json"
    path.write_text(json.dumps(config))
    return path


@pytest.fixture
def env(workspace):
    return workspace.env(
        TILEMAKER_DATABASE_URL=f"sqlite:///{workspace.home / 'tilemaker.sqlite3'}",
        TILEMAKER_PRECACHE="no",
    )


def session_of(script, workspace, env) -> dict:
    # The last line: the shell may print which models it imported first.
    printed = manage(["shell", "-c", script], workspace, env)
    return {"sessionid": printed.split()[-1]}


def manage(args, workspace, env):
    done = run_command(args, cwd=workspace.cwd, env=env, launcher="manage.py")
    assert done.returncode == 0, done.stderr
    return done.stdout


def import_config(workspace, env, iqu_map, **options):
    manage(["import_config", str(write_config(workspace, iqu_map, **options))], workspace, env)


def shell(workspace, env, statement):
    """Run ``statement`` in ``manage.py shell`` with ``grant`` and its ``holder`` at hand."""
    code = (
        "from django.contrib.auth.models import User\n"
        "from maps.models import Grant\n"
        f'grant = Grant.objects.get(name="{SECRET}")\n'
        'holder = User.objects.get(username="holder")\n'
        f"{statement}\n"
    )
    manage(["shell", "-c", code], workspace, env)


def get_alone(url, cookies=None) -> requests.Response:
    """A GET on a connection of its own: a kept-alive one always reaches the same worker."""
    with requests.Session() as fresh:
        fresh.trust_env = False
        return fresh.get(url, cookies=cookies, timeout=60)


def statuses(server, path, times, cookies=None):
    return {get_alone(server.url + path, cookies).status_code for _ in range(times)}


@pytest.mark.parametrize("workers", [1, 2])
def test_restricting_and_publishing_show_in_the_next_answer(workspace, env, iqu_map, workers):
    import_config(workspace, env, iqu_map)
    args = ["serve", "--port", str(free_port()), "--workers", str(workers)]
    with ServerProcess(args, cwd=workspace.cwd, env=env, launcher="manage.py") as server:
        server.wait_ready()
        # Enough requests for each worker to have remembered everything.
        for path in ("layers/demo-public", "layers/demo-public/0/0/1/tile.png"):
            assert statuses(server, path, 10) == {200}
        assert statuses(server, "bands/demo-band/layers", 10) == {200}
        import_config(workspace, env, iqu_map, public_grant=SECRET)
        for path in ("layers/demo-public", "layers/demo-public/0/0/1/tile.png"):
            assert statuses(server, path, 10) == {404}
        assert get_alone(server.url + "bands/demo-band/layers").json() == []
        import_config(workspace, env, iqu_map)
        assert statuses(server, "layers/demo-public", 10) == {200}
        menu = get_alone(server.url + "bands/demo-band/layers").json()
        assert [entry["layer_id"] for entry in menu] == ["demo-public"]
        assert server.stop(signal.SIGTERM) == 0


@pytest.mark.parametrize("workers", [1, 2])
def test_revoked_and_deactivated_users_lose_access_at_once(workspace, env, iqu_map, workers):
    import_config(workspace, env, iqu_map)
    session = session_of(MAKE_HOLDER, workspace, env)
    args = ["serve", "--port", str(free_port()), "--workers", str(workers)]
    with ServerProcess(args, cwd=workspace.cwd, env=env, launcher="manage.py") as server:
        server.wait_ready()
        assert statuses(server, "layers/demo-secret", 10, session) == {200}
        assert statuses(server, "layers/demo-secret", 2) == {404}
        me = get_alone(server.url + "auth/me", session).json()
        assert (me["username"], me["grants"]) == ("holder", [SECRET])

        shell(workspace, env, "grant.users.clear()")
        assert statuses(server, "layers/demo-secret", 10, session) == {404}
        shell(workspace, env, "grant.users.add(holder)")
        assert statuses(server, "layers/demo-secret", 10, session) == {200}
        shell(workspace, env, "holder.is_active = False; holder.save()")
        assert statuses(server, "layers/demo-secret", 10, session) == {404}
        me = get_alone(server.url + "auth/me", session).json()
        assert (me["authenticated"], me["grants"]) == (False, [])
        assert server.stop(signal.SIGTERM) == 0


def test_an_admin_edit_through_one_worker_shows_on_the_other(workspace, env, iqu_map):
    import_config(workspace, env, iqu_map)
    curator = session_of(MAKE_CURATOR, workspace, env)
    args = ["serve", "--port", str(free_port()), "--workers", "2"]
    with ServerProcess(args, cwd=workspace.cwd, env=env, launcher="manage.py") as server:
        server.wait_ready()
        assert statuses(server, "layers/demo-public", 10) == {200}
        admin = server.http.get(server.url + "admin/maps/layer/", cookies=curator, timeout=60)
        assert admin.status_code == 200
        layer_pk = manage(["shell", "-c", PRINT_LAYER_PK], workspace, env).split()[-1]
        deleted = server.http.post(
            server.url + "admin/maps/layer/",
            data={
                "csrfmiddlewaretoken": server.http.cookies["csrftoken"],
                "action": "delete_selected",
                "_selected_action": layer_pk,
                "post": "yes",
            },
            cookies=curator,
            headers={"Referer": server.url + "admin/maps/layer/"},
            allow_redirects=False,
            timeout=60,
        )
        assert deleted.status_code == 302, deleted.text[:2000]
        # Each connection reaches either worker: both had remembered the layer.
        assert statuses(server, "layers/demo-public", 10) == {404}
        assert server.stop(signal.SIGTERM) == 0
