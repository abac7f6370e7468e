from api.fixtures import *  # noqa: F403  (admin, operator, viewer, app, cluster …; see tests/api/fixtures.py)
