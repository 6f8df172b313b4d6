"""Renderers: JSON through orjson, and the browsable API.

The browsable API is made for people editing API users in a browser. DRF's HTML form cannot
edit a list (it shows "Lists are not currently supported in HTML input"), cannot untick a
boolean (an unticked checkbox is simply not sent, which leaves `active` as it is), and shows a
refused request's errors only as the JSON of the answer.
"""

from collections.abc import Mapping

import orjson
from django.template import loader
from django.urls import NoReverseMatch
from rest_framework import renderers, serializers
from rest_framework.utils.field_mapping import ClassLookupDict


class JSONRenderer(renderers.JSONRenderer):
    """DRF's JSON renderer, byte for byte, written by orjson: a page of 100 API users renders
    in a tenth of the time. What orjson does not write as DRF's encoder does (datetimes, lazy
    strings, Decimal) goes to that encoder; an indented answer (`Accept: application/json;
    indent=4`) is DRF's own. Like DRF, U+2028 and U+2029 are escaped (JavaScript reads JSON
    with them unescaped as a syntax error). Unlike DRF's strict mode, which refuses them, a NaN
    or an infinity would be written as null: the API answers with no floats."""

    OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME
    ESCAPES = ((b"\xe2\x80\xa8", b"\\u2028"), (b"\xe2\x80\xa9", b"\\u2029"))

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if data is None or self.get_indent(accepted_media_type, renderer_context or {}):
            return super().render(data, accepted_media_type, renderer_context)
        try:
            rendered = orjson.dumps(data, default=self.encoder_class().default, option=self.OPTIONS)
        except orjson.JSONEncodeError:
            # What orjson refuses and the standard library writes (an integer beyond 64 bits).
            return super().render(data, accepted_media_type, renderer_context)
        for character, escaped in self.ESCAPES:
            if character in rendered:
                rendered = rendered.replace(character, escaped)
        return rendered


# Empty rows the form offers after an object's own, for items to add.
SPARE_ROWS = 3

# Page titles in the docs' words, by router basename: (a list's, an object's).
TITLES = {
    "apiuser": ("API Users", "API User"),
    "apiuser-role": ("API User Roles", "API User Role"),
    "apiuser-role-bulk": ("API User Roles", "API User Roles"),
    "userlabel": ("User Labels", "User Label"),
    "role": ("Roles", "Role"),
    "team": ("Teams", "Team"),
    "target": ("Targets", "Target"),
}
# Extra actions, by the name DRF gives them (their function's name, in words).
ACTION_TITLES = {
    ("apiuser", "Bulk update"): "Bulk Update API Users",
    ("apiuser", "Rotate key"): "Rotate API User Key",
    ("apiuser", "Key"): "API User Key",
    ("apiuser", "History"): "API User History",
    ("apiuser-role-bulk", "Bulk"): "Bulk Operations on API User Roles",
    ("apiuser-role-bulk", "Bulk create"): "Bulk Create API User Roles",
    ("apiuser-role-bulk", "Bulk delete"): "Bulk Delete API User Roles",
    ("apiuser-role-bulk", "Bulk update"): "Bulk Update API User Roles",
}


def view_name(view) -> str:
    """REST_FRAMEWORK's VIEW_NAME_FUNCTION: the browsable page's title (and OPTIONS' `name`)
    in the docs' words, "API Users" rather than DRF's "Api User List"."""
    basename = getattr(view, "basename", None)
    if basename in TITLES:
        action = getattr(view, "name", None)
        if action is not None:
            return ACTION_TITLES.get((basename, action), action)
        plural, singular = TITLES[basename]
        return singular if getattr(view, "detail", False) else plural
    # Imported here: rest_framework.views imports this module (DEFAULT_RENDERER_CLASSES).
    from rest_framework.views import get_view_name

    return get_view_name(view)


class FormRenderer(renderers.HTMLFormRenderer):
    """DRF's form renderer, plus rows of inputs for lists of flat objects (labels: one row per
    label, `labels[<i>]name` and `labels[<i>]color`, then spare rows) and a checkbox that
    sends false when unticked."""

    default_style = ClassLookupDict(
        {
            **renderers.HTMLFormRenderer.default_style.mapping,
            serializers.BooleanField: {"template": "apiusers/forms/checkbox.html"},
        }
    )

    def render_field(self, field, parent_style):
        if isinstance(field._field, serializers.ListSerializer):
            return self.render_rows(field)
        return super().render_field(field, parent_style)

    def render_rows(self, field):
        """The list as a table of inputs: one row per item, one column per field of an item.
        A list of nested objects (roles) cannot be written so; the raw data form edits it."""
        child = field._field.child
        columns = {name: column for name, column in child.fields.items() if not column.read_only}
        if any(isinstance(column, serializers.BaseSerializer) for column in columns.values()):
            return loader.get_template("apiusers/forms/nested_list.html").render({"field": field})
        items = field.value if isinstance(field.value, list) else []
        items = [item if isinstance(item, Mapping) else {} for item in items]
        while items and all(items[-1].get(name) in (None, "") for name in columns):
            items.pop()  # spare rows sent back by a refused form; fresh ones follow
        errors = field.errors or []
        if isinstance(errors, Mapping):
            row_errors, list_errors = errors, errors.get("non_field_errors", [])
        else:
            row_errors, list_errors = {}, errors
        rows = []
        for index, item in enumerate([*items, *[{}] * SPARE_ROWS]):
            item_errors = row_errors.get(index, {})
            cells = [
                {
                    "name": f"{field.name}[{index}]{name}",
                    "value": "" if item.get(name) is None else item.get(name),
                    "errors": item_errors.get(name, []),
                }
                for name in columns
            ]
            rows.append({"cells": cells, "errors": item_errors.get("non_field_errors", [])})
        return loader.get_template("apiusers/forms/rows.html").render(
            {
                "field": field,
                "columns": [column.label for column in columns.values()],
                "rows": rows,
                "errors": list_errors,
            }
        )


class BrowsableAPIRenderer(renderers.BrowsableAPIRenderer):
    """DRF's browsable API with the form renderer above, an HTML form that edits with PATCH
    where the view allows it (apiusers/api.html), a refused request's errors listed in words
    above the answer, and links to the docs."""

    template = "apiusers/api.html"
    form_renderer_class = FormRenderer

    def get_rendered_html_form(self, data, view, method, request):
        if method == "PUT" and "PATCH" in view.allowed_methods:
            # DRF fills the form from the request's own serializer when the request used the
            # form's method. Only a refused PATCH (the form's own) should do so: the form then
            # shows what was sent, next to its errors. Otherwise it starts from the object as
            # it now is, so it is built for the other method, which takes the same fields.
            refused = self.renderer_context["response"].status_code == 400
            method = "PUT" if request.method == "PATCH" and not refused else "PATCH"
        return super().get_rendered_html_form(data, view, method, request)

    def get_context(self, data, accepted_media_type, renderer_context):
        context = super().get_context(data, accepted_media_type, renderer_context)
        context["form_method"] = "PATCH" if "PATCH" in context["allowed_methods"] else "PUT"
        context["item_links"] = self.item_links(data, renderer_context["view"])
        if renderer_context["response"].status_code >= 400:
            context["error_messages"] = list(error_messages(data))
        return context

    @staticmethod
    def item_links(data, view) -> list[tuple[str, str]]:
        """A list page's objects as links to their own pages: the representation holds ids,
        not URLs, and a person should not have to type them."""
        results = data.get("results") if isinstance(data, Mapping) else None
        if getattr(view, "action", None) != "list" or not isinstance(results, list):
            return []
        try:
            return [
                (item.get("name") or item["id"], view.reverse_action("detail", args=[item["id"]]))
                for item in results
            ]
        except (AttributeError, KeyError, NoReverseMatch):
            return []


def error_messages(errors, path=""):
    """Each message of an error body, after the input it is about, written as a form names it:
    `{"labels": {"2": {"color": ["..."]}}}` gives `labels[2]color: ...`."""
    if isinstance(errors, Mapping):
        for key, value in errors.items():
            if key in {"detail", "non_field_errors"}:
                yield from error_messages(value, path)
            elif str(key).isdigit():
                yield from error_messages(value, f"{path}[{key}]")
            else:
                separator = "." if path and not path.endswith("]") else ""
                yield from error_messages(value, f"{path}{separator}{key}")
    elif isinstance(errors, list):
        for value in errors:
            yield from error_messages(value, path)
    else:
        yield f"{path}: {errors}" if path else str(errors)
