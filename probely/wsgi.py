import os

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "probely.settings")

application = get_wsgi_application()

# The URLconf, and with it every view, serializer and the schema's code, is imported now rather
# than by the first request (gunicorn loads this module before forking its workers).
get_resolver().url_patterns  # noqa: B018 -- a property read for its import
