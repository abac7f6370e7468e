"""Print the API's OpenAPI document, as the console's generated types (services/console/src/api/schema.d.ts)
are made from it. A fresh interpreter on purpose: a test that registers a command kind of its own would
otherwise leak it into the document. openapi() needs no database or Redis (nothing connects until a
request arrives), so the URLs are placeholders.

    .venv/bin/python scripts/openapi.py > /tmp/openapi.json
    (cd services/console && npm run gen:api -- /tmp/openapi.json)
"""

import json

from podium_api.app import create_app
from podium_api.settings import ApiSettings

settings = ApiSettings(
    database_url="postgresql+psycopg://u:p@127.0.0.1:1/x", redis_url="redis://127.0.0.1:1/0"
)
print(json.dumps(create_app(settings).openapi()))
