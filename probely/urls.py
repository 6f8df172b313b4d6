from functools import wraps

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import (
    SpectacularAPIView,
    SpectacularRedocView,
    SpectacularSwaggerView,
)
from rest_framework.exceptions import Throttled
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.permissions import AllowAny

from apiusers import throttling
from apiusers.middleware import json_error
from apiusers.renderers import JSONRenderer
from apiusers.root import ApiRootView


class OptionsInJson(DefaultContentNegotiation):
    """OPTIONS describes a docs view in JSON, like every API view, instead of through the
    renderer of its page (Swagger UI's has no template for it: a 500)."""

    def select_renderer(self, request, renderers, format_suffix=None):
        if request.method == "OPTIONS":
            return JSONRenderer(), JSONRenderer.media_type
        return super().select_renderer(request, renderers, format_suffix)


# The docs are public, like the published ones they replace: no credentials are needed, and any
# that are sent are not looked at (a bad key does not make the docs a 401).
PUBLIC = {
    "authentication_classes": [],
    "permission_classes": [AllowAny],
    "content_negotiation_class": OptionsInJson,
}

# The docs pages load nothing from outside the service: the browser refuses it (Redoc's bundle,
# for one, fetches its logo from a CDN). Swagger UI and Redoc need inline scripts and styles,
# data: images, and a blob: worker (Redoc's search).
DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; worker-src 'self' blob:"
)


def self_contained(view):
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        response = view(request, *args, **kwargs)
        response["Content-Security-Policy"] = DOCS_CSP
        return response

    return wrapped


def throttled(wait: int):
    """DRF's 429, for the log-in views, which are Django's."""
    response = json_error(str(Throttled(wait=wait).detail), 429)
    response["Retry-After"] = str(wait)
    return response


def throttled_log_in(view):
    """A log-in page that refuses every attempt from an address that has used up
    THROTTLE_FAILED_AUTH, the right password included: it is not even checked, because
    passwords can be guessed. Failed log-ins are counted where Django reports them
    (apiusers.throttling.count_failed_log_in)."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if request.method == "POST":
            wait = throttling.FAILED_AUTH.exhausted(throttling.client_address(request))
            if wait:
                return throttled(wait)
        return view(request, *args, **kwargs)

    return wrapped


urlpatterns = [
    path("", ApiRootView.as_view(), name="api-root"),
    path("", include("apiusers.urls")),
    path("schema/", SpectacularAPIView.as_view(**PUBLIC), name="schema"),
    path(
        "docs/",
        self_contained(SpectacularSwaggerView.as_view(url_name="schema", **PUBLIC)),
        name="swagger-ui",
    ),
    path(
        "redoc/",
        self_contained(
            SpectacularRedocView.as_view(
                url_name="schema", template_name="apiusers/redoc.html", **PUBLIC
            )
        ),
        name="redoc",
    ),
    # DRF's log-in view and page, with this service's name on it.
    path(
        "api-auth/login/",
        throttled_log_in(auth_views.LoginView.as_view(template_name="apiusers/login.html")),
    ),
    path("api-auth/", include("rest_framework.urls")),
    path("admin/login/", throttled_log_in(admin.site.login)),
    path("admin/", admin.site.urls),
]
