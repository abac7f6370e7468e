from api.fixtures import *  # noqa: F403  (users, app settings; see tests/api/fixtures.py)

from watcher.realtime_fixtures import *  # noqa: F403
