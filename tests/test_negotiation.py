"""apiusers.negotiation.ContentNegotiation chooses what DRF's DefaultContentNegotiation chooses:
its short cut changes when the choice is made, never what is chosen."""

import itertools

import pytest
from django.http import Http404
from rest_framework.exceptions import NotAcceptable
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.test import APIRequestFactory

from apiusers.negotiation import ContentNegotiation
from apiusers.renderers import BrowsableAPIRenderer, JSONRenderer

ACCEPTS = [
    None,
    "*/*",
    "application/json",
    "text/html",
    "application/json; indent=4",
    "application/json, text/html",
    "text/html;q=0.9, */*;q=0.8",
    "application/*",
    "application/xml",
    "",
]
QUERIES = ["", "format=api", "format=json", "format=xml", "length=1"]
SUFFIXES = [None, "json", "api"]
RENDERERS = [(JSONRenderer, BrowsableAPIRenderer), (BrowsableAPIRenderer, JSONRenderer)]


def choose(negotiation, accept, query, suffix, renderers):
    headers = {} if accept is None else {"HTTP_ACCEPT": accept}
    request = Request(APIRequestFactory().get(f"/api-users/?{query}" if query else "/", **headers))
    try:
        renderer, media_type = negotiation.select_renderer(
            request, [cls() for cls in renderers], suffix
        )
    except (NotAcceptable, Http404) as refused:  # no renderer accepted; a format unknown
        return type(refused)
    return type(renderer), media_type


@pytest.mark.parametrize(
    ("accept", "query", "suffix", "renderers"),
    list(itertools.product(ACCEPTS, QUERIES, SUFFIXES, RENDERERS)),
)
def test_the_choice_is_drf_s(accept, query, suffix, renderers):
    ours = choose(ContentNegotiation(), accept, query, suffix, renderers)
    assert ours == choose(DefaultContentNegotiation(), accept, query, suffix, renderers)


def test_a_plain_request_takes_the_short_cut(monkeypatch):
    def refused(*args):
        raise AssertionError("DRF's negotiation ran")

    monkeypatch.setattr(DefaultContentNegotiation, "select_renderer", refused)
    for accept in (None, "*/*", "application/json"):
        assert choose(ContentNegotiation(), accept, "", None, RENDERERS[0]) == (
            JSONRenderer,
            "application/json",
        )


def test_the_api_negotiates_with_it():
    assert api_settings.DEFAULT_CONTENT_NEGOTIATION_CLASS is ContentNegotiation
