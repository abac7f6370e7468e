import api.fixtures
from api.fixtures import *  # noqa: F403  (users, app, client; see tests/api/fixtures.py)
from watcher.realtime_fixtures import *  # noqa: F403  (kubesim, watchers, served API, WebSocket client)

# The realtime fixtures' module imports kubernetes' `client` under the API test client fixture's name.
client = api.fixtures.client

from telemetry.collector_fixtures import collectors, namespace  # noqa: E402, F401
