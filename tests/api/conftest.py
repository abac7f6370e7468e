from api.fixtures import *  # noqa: F403  (fixtures shared with other test packages; see api/fixtures.py)
