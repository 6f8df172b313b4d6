"""The docs: the schema at /schema/, Swagger UI at /docs/ and Redoc at /redoc/.

They are public, as the published docs they replace are: no credentials are needed, and any
that are sent are not looked at. The pages load nothing from outside the service: their HTML
names only this service's static files, and a Content-Security-Policy makes the browser refuse
anything else (tests/test_browser.py watches a real browser load them).
"""

import re
from pathlib import Path

import pytest
import yaml
from django.contrib.staticfiles import finders
from django.core.management import call_command
from django.test.utils import override_settings
from rest_framework.test import APIClient

from probely.urls import DOCS_CSP

from .factories import UserFactory, grant

pytestmark = pytest.mark.django_db

SCHEMA = Path(__file__).resolve().parent.parent / "schema" / "openapi.yaml"
PAGES = ["/docs/", "/redoc/"]
MANIFEST_STORAGE = "whitenoise.storage.CompressedManifestStaticFilesStorage"


def local_urls(html: str) -> list[str]:
    """Every URL the page's HTML loads or links to (src and href attributes)."""
    return re.findall(r'(?:src|href)="([^"]*)"', html)


@pytest.mark.parametrize(
    "authorization", [None, "JWT aaaaaaaa.bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", "Basic x"]
)
@pytest.mark.parametrize("path", ["/schema/", "/schema/?format=json", *PAGES])
def test_the_docs_are_public_whatever_credentials_are_sent(path, authorization):
    client = APIClient()
    if authorization:
        client.credentials(HTTP_AUTHORIZATION=authorization)

    assert client.get(path).status_code == 200


def test_the_schema_is_yaml_and_is_the_committed_document():
    response = APIClient().get("/schema/")

    assert response["Content-Type"] == "application/vnd.oai.openapi; charset=utf-8"
    assert response.content.decode() == SCHEMA.read_text()


def test_the_schema_as_json_is_the_same_document():
    response = APIClient().get("/schema/?format=json")

    assert response["Content-Type"] == "application/vnd.oai.openapi+json"
    assert response.json() == yaml.safe_load(SCHEMA.read_text())


@pytest.mark.parametrize("path", PAGES)
def test_the_pages_load_only_this_services_static_files(path):
    response = APIClient().get(path)

    html = response.content.decode()
    assert "://" not in html
    urls = local_urls(html)
    assert urls
    for url in urls:
        assert url.startswith("/static/"), url
        assert finders.find(url.removeprefix("/static/")), url
    assert response["Content-Security-Policy"] == DOCS_CSP


def test_redoc_reads_the_schema_from_this_service():
    html = APIClient().get("/redoc/").content.decode()

    assert '<redoc spec-url="/schema/"></redoc>' in html


def test_swagger_ui_reads_the_schema_here_and_sends_it_to_no_validator():
    html = APIClient().get("/docs/").content.decode()

    assert 'url: "/schema/",' in html
    assert '"validatorUrl": null' in html


def test_swagger_ui_authorizes_with_the_key_typed_after_jwt():
    """Swagger UI's Authorize dialog shows this scheme: the value typed is the whole header
    value, `JWT <key>`, which Swagger UI then sends as the Authorization header."""
    scheme = yaml.safe_load(SCHEMA.read_text())["components"]["securitySchemes"]["JWTAuth"]

    assert scheme == {
        "type": "apiKey",
        "in": "header",
        "name": "Authorization",
        "description": "The API key, prefixed with `JWT `: `Authorization: JWT <key>`.",
    }


# Production: DEBUG off, static files collected into STATIC_ROOT and served by WhiteNoise -----


@pytest.fixture(scope="module")
def collected(tmp_path_factory) -> Path:
    """`collectstatic` as a deployment runs it, into a folder of this test module's own."""
    root = tmp_path_factory.mktemp("static")
    storages = {"staticfiles": {"BACKEND": MANIFEST_STORAGE}}
    with override_settings(STATIC_ROOT=root, STORAGES=storages):
        call_command("collectstatic", "--no-input", verbosity=0)
    return root


@pytest.fixture
def production(settings, collected):
    settings.DEBUG = False
    settings.STATIC_ROOT = collected
    settings.STORAGES = {**settings.STORAGES, "staticfiles": {"BACKEND": MANIFEST_STORAGE}}


def test_after_collectstatic_every_page_renders_and_its_files_are_served(
    production, account, api_user
):
    owner = UserFactory(account=account)
    grant(owner, "Owner")
    person = APIClient()
    person.force_login(owner)
    pages = {
        "/docs/": APIClient(),
        "/redoc/": APIClient(),
        "/api-auth/login/": APIClient(),
        "/api-users/": person,
        f"/api-users/{api_user.id}/": person,
    }

    static = set()
    for path, client in pages.items():
        response = client.get(path, HTTP_ACCEPT="text/html")
        assert response.status_code == 200, path
        static |= {url for url in local_urls(response.content.decode()) if "/static/" in url}

    # Hashed names from the manifest, served by WhiteNoise (DEBUG off: Django serves none).
    assert len(static) > 10
    for url in sorted(static):
        response = APIClient().get(url)
        response.close()
        assert response.status_code == 200, url
        assert re.search(r"\.[0-9a-f]{12}\.\w+$", url), url
