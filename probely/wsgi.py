"""The WSGI application that gunicorn serves (gunicorn.conf.py): Django's, taking turns."""

import os

from django.conf import settings
from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "probely.settings")

django_application = get_wsgi_application()

from apiusers.turns import Turns  # noqa: E402 -- it needs the apps loaded, just above

# WEB_ACTIVE_REQUESTS requests at a time; the others wait for their turn as long as a request
# waits for a database connection.
application = Turns(
    django_application, settings.WEB_ACTIVE_REQUESTS, settings.DATABASE_CONNECT_TIMEOUT
)

# The URLconf, and with it every view, serializer and the schema's code, is imported now rather
# than by the first request (gunicorn loads this module before forking its workers).
get_resolver().url_patterns  # noqa: B018 -- a property read for its import
