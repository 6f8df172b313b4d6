"""The API root at `/`: where a newcomer (or a browser) lands, with links to every resource and
to the docs instead of a 404."""

from drf_spectacular.utils import extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.views import APIView

LINKS = {
    "api-users": "apiuser-list",
    "user-labels": "userlabel-list",
    "roles": "role-list",
    "teams": "team-list",
    "targets": "target-list",
    "docs": "swagger-ui",
    "redoc": "redoc",
    "schema": "schema",
}


@extend_schema(exclude=True)
class ApiRootView(APIView):
    """The resources of the Probely API Users service and its documentation. Every resource
    needs an API key (`Authorization: JWT <key>`) or, in a browser, a log-in; the docs are
    public."""

    name = "API Root"
    authentication_classes = []
    permission_classes = [AllowAny]

    def get(self, request):
        return Response({name: reverse(route, request=request) for name, route in LINKS.items()})
