"""The list backends every list shares: search, ordering and django-filter, each bounded.

A backend narrows lists only (`ListOnly`): a request for one object by id finds it whatever the
query string says, as the OpenAPI document (which lists these parameters on lists only) says.
What a list request may ask for is bounded (MAX_*), for every list: its cost stays small
whatever the query string holds.
"""

from django.db.models import Value
from django.db.models.functions import Upper
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import filters, serializers

# Longer than any name or label name: such a term could never match.
MAX_SEARCH_LENGTH = 255
# Bounds on what one list request may ask for, so that its cost stays small whatever it sends:
# each term of a search is one more condition, each value of an array parameter one more id.
MAX_SEARCH_TERMS = 5
MAX_ORDERING_FIELDS = 10
MAX_VALUES = 100
# Between the names in a user's search text (migration 0009).
SEPARATOR = "\n"


def distinct(values) -> list:
    """The values in their first order, each once: a repeated value counts once in a limit."""
    return list(dict.fromkeys(values))


def at_most(limit: int, noun: str) -> str:
    return f"At most {limit} {noun}."


class ListOnly:
    """Applies a filter backend to the list action only."""

    def filter_queryset(self, request, queryset, view):
        if view.action != "list":
            return queryset
        return super().filter_queryset(request, queryset, view)


class FilterBackend(ListOnly, DjangoFilterBackend):
    """django-filter's backend, skipped when the query string names none of the filter set's
    parameters: building and validating the filter set's form costs a quarter of a list
    request, and with nothing to filter it would change nothing. A parameter given, even
    empty, goes through the form and its validation."""

    def filter_queryset(self, request, queryset, view):
        filterset_class = self.get_filterset_class(view, queryset)
        if filterset_class is not None and not (
            request.query_params.keys() & filterset_class.base_filters.keys()
        ):
            return queryset
        return super().filter_queryset(request, queryset, view)


class BoundedSearchFilter(filters.SearchFilter):
    """DRF's search with its input bounded: at most MAX_SEARCH_LENGTH characters and
    MAX_SEARCH_TERMS different terms (a repeated term counts once). What is refused, and a NUL
    character, which the database would choke on, is a 400 on `search`."""

    def get_search_terms(self, request):
        field = serializers.CharField(
            trim_whitespace=False, allow_blank=True, max_length=MAX_SEARCH_LENGTH
        )
        try:
            value = field.run_validation(request.query_params.get(self.search_param, ""))
        except serializers.ValidationError as error:
            raise serializers.ValidationError({self.search_param: error.detail}) from None
        terms = distinct(term for term in filters.search_smart_split(value) if term)
        if len(terms) > MAX_SEARCH_TERMS:
            raise serializers.ValidationError(
                {self.search_param: [at_most(MAX_SEARCH_TERMS, "search terms")]}
            )
        return terms

    def describe_matches(self, view) -> str:
        return f"the results whose {' or '.join(view.search_fields)} contains every word"

    def get_schema_operation_parameters(self, view):
        (parameter,) = super().get_schema_operation_parameters(view)
        parameter["description"] = (
            f"Words separated by spaces: {self.describe_matches(view)}, case-insensitively. "
            f"At most {MAX_SEARCH_TERMS} different words (a repeated word counts once) and "
            f"{MAX_SEARCH_LENGTH} characters; more, or a NUL character, is a 400. An empty "
            "value does not filter."
        )
        parameter["allowEmptyValue"] = True
        parameter["schema"]["maxLength"] = MAX_SEARCH_LENGTH
        parameter["schema"]["pattern"] = "^[^\\u0000]*$"
        return [parameter]


class EveryTermSearchFilter(BoundedSearchFilter):
    """The bounded search over API users, where each term may match the name or a different
    label: `ci prod` finds an API user labelled both ci and prod, where DRF asks for one label
    matching both terms.

    A term is one condition on the listed row, whatever the number of terms and labels: the
    user's `search_text` (its name and its labels' names, upper-cased by the database, one per
    line; kept by the database's triggers) contains the term, upper-cased by the database too.
    That is the match of the term, case-insensitively, in the name or in a label's name, as the
    database compares case; a term holding a newline, which no name holds, matches nothing."""

    def filter_queryset(self, request, queryset, view):
        for term in self.get_search_terms(request):
            if SEPARATOR in term:
                return queryset.none()
            queryset = queryset.filter(search_text__contains=Upper(Value(term)))
        return queryset

    def describe_matches(self, view) -> str:
        return "the API users whose name, or the name of one of whose labels, contains every word"


class SearchFilter(ListOnly, EveryTermSearchFilter):
    pass


class StableOrderingFilter(filters.OrderingFilter):
    """DRF's ordering, bounded and stable: at most MAX_ORDERING_FIELDS different terms (more is a
    400), a field named again is ignored, and the id is the last key, so that rows tying on the
    requested fields (equal names or times) keep one order from page to page. Unknown fields are
    ignored. The description of the parameter comes from the view's ordering fields."""

    def get_ordering(self, request, queryset, view):
        terms = request.query_params.get(self.ordering_param, "").split(",")
        if len(distinct(term.strip() for term in terms if term.strip())) > MAX_ORDERING_FIELDS:
            raise serializers.ValidationError(
                {self.ordering_param: [at_most(MAX_ORDERING_FIELDS, "ordering fields")]}
            )
        ordering = {}
        for term in super().get_ordering(request, queryset, view):
            ordering.setdefault(term.lstrip("-"), term)
        ordering.setdefault("id", "id")
        return list(ordering.values())

    def get_schema_operation_parameters(self, view):
        fields = ", ".join(f"`{field}`" for field in view.ordering_fields)
        (parameter,) = super().get_schema_operation_parameters(view)
        parameter["description"] = (
            f"{self.ordering_description} One of {fields}; prefix `-` for descending order, "
            f"separate several with commas. Default: `{view.ordering[0]}`; the id breaks ties. "
            f"Unknown fields, and a field named again, are ignored; more than "
            f"{MAX_ORDERING_FIELDS} different terms is a 400. An empty value means the default."
        )
        parameter["allowEmptyValue"] = True
        return [parameter]


class OrderingFilter(ListOnly, StableOrderingFilter):
    pass
