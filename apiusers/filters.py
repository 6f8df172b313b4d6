"""Filters, search, ordering and field exclusion for the list of API users.

Filters combine with AND. A filter that takes ids takes ids of the caller's account only, and
refuses any other id with the same 400, whether it belongs to another account or to nobody.
Every backend here narrows lists only: a request for one API user by id finds it whatever the
query string says, as the OpenAPI document (which lists these parameters on the list only) says.
What a list request may ask for is bounded (MAX_*), for every list: its cost stays small
whatever the query string holds.
"""

import django_filters
from django import forms
from django.db.models import BooleanField, Count, Exists, F, Func, OuterRef, Q, Subquery
from django_filters.rest_framework import DjangoFilterBackend, FilterSet
from rest_framework import filters, serializers

from .fields import StrictBooleanField
from .ids import ID_PATTERN, is_valid_id
from .models import Label, Role, Tier, User, UserRole
from .serializers.api_users import ApiUserSerializer

# Longer than any name or label name: such a term could never match.
MAX_SEARCH_LENGTH = 255
# Bounds on what one list request may ask for, so that its cost stays small whatever it sends:
# each term of a search is one more condition, each value of an array parameter one more id.
MAX_SEARCH_TERMS = 10
MAX_ORDERING_FIELDS = 10
MAX_VALUES = 100

LIST_DESCRIPTION = f"""\
The API users of the caller's account, a page at a time: `length` per page (10 by default, at \
most 100; a value that is not a positive integer means the default), `page` from 1.

A parameter sent empty (`label=`) is a parameter not sent, and an empty value among others \
(`label=a&label=`) is ignored.

**Filters** combine with AND. Array parameters repeat their key: `?label=a&label=b`.

* `label`: with `label_logical_operator=or` (the default), API users with any of these labels; \
with `and`, those with all of them.
* `role`: API users holding any of these roles, in any scope. `team` / `target`: API users with \
a role scoped to any of these teams / targets; `exclude_team` / `exclude_target`: API users with \
no role scoped to any of them. Each is a condition of its own: `role=A&team=T` asks for role A \
in some scope and some role on team T, not necessarily role A on team T.
* `account`: true for API users with a role at the account tier, false for those without. \
`no_access`: true for API users without any role, false for those with at least one.
* `mfa_enabled`: API users never have multi-factor authentication, so true answers an empty \
list and false filters nothing.
* `active`, `account`, `no_access`, `mfa_enabled` take `true` or `false`, in any case.

Ids in filters must be of the caller's account: any other id, of another account, of \
nothing or not even of an id's shape, is refused with the same 400.

**Search** (`search`): terms separated by spaces, matched case-insensitively within the name or \
within the name of any label; an API user matches when it matches every term, and appears once \
however many of its labels match.

**Ordering** (`ordering`): `name`, `changed` or `id`, prefixed with `-` for descending order, \
several separated by commas (`-changed,name`). Unknown fields are ignored. The default is \
`name`; the id always breaks ties, so that a page holds the same users from one request to \
the next.

**Exclude** (`exclude`): fields to leave out of every result, repeated or comma-separated \
(`exclude=labels,user_roles`). `id` cannot be excluded; any unknown name is a 400 that lists the \
names allowed.

**Limits**, so that a list costs little whatever it asks for: at most {MAX_SEARCH_TERMS} different \
search terms and {MAX_SEARCH_LENGTH} characters, {MAX_VALUES} different values per array parameter \
(ids, `exclude`) and {MAX_ORDERING_FIELDS} different ordering terms. A repeated value counts once \
(and a field named again in `ordering` is ignored); beyond a limit the answer is a 400 naming the \
parameter: `{{"search": ["At most {MAX_SEARCH_TERMS} search terms."]}}`.
"""

# `id` stays: a result without it could not be retrieved or changed.
EXCLUDABLE_FIELDS = [name for name in ApiUserSerializer.Meta.fields if name != "id"]


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
    pass


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

    A term is one condition on the listed row, whatever the number of terms: its name contains
    the term, or one of its label links points among the account's labels whose name contains
    it. That label set is computed once per term (see IsAmong), never joined to the list, so no
    user is listed twice and the plan does not grow a join per term."""

    def filter_queryset(self, request, queryset, view):
        links = User.labels.through.objects
        for term in self.get_search_terms(request):
            labels = Label.objects.filter(account=request.user.account, name__icontains=term)
            labelled = links.filter(
                IsAmong(F("label_id"), Subquery(labels.order_by().values("pk"))),
                user=OuterRef("pk"),
            )
            queryset = queryset.filter(Q(name__icontains=term) | Exists(labelled))
        return queryset

    def describe_matches(self, view) -> str:
        return "the API users whose name, or the name of one of whose labels, contains every word"


class IsAmong(Func):
    """`column IN (subquery)` for an uncorrelated subquery inside a correlated one. PostgreSQL
    would plan that IN as a join repeated for every outer row; `column = ANY(ARRAY(subquery))`
    makes the subquery an init plan, run once, whose ids the outer plan then hashes or probes
    in an index, whichever is cheaper."""

    output_field = BooleanField()

    def as_sql(self, compiler, connection, template="%s IN %s", **extra):
        column, values = self.get_source_expressions()
        column_sql, column_params = compiler.compile(column)
        values_sql, values_params = compiler.compile(values)
        return template % (column_sql, values_sql), (*column_params, *values_params)

    def as_postgresql(self, compiler, connection, **extra):
        return self.as_sql(compiler, connection, template="%s = ANY(ARRAY%s)")


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


class StrictBooleanFormField(forms.Field):
    """`true` or `false` in any case (Python clients send `True`); anything else is a 400,
    never silently no filter at all. An empty value means the filter is not used."""

    widget = forms.Select(choices=[("", "---------"), ("true", "true"), ("false", "false")])
    default_error_messages = {"invalid": StrictBooleanField.default_error_messages["invalid"]}

    def to_python(self, value):
        if value in self.empty_values:
            return None
        if value.lower() not in {"true", "false"}:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return value.lower() == "true"


class BooleanFilter(django_filters.BooleanFilter):
    field_class = StrictBooleanFormField


class IdsFormField(django_filters.fields.ModelMultipleChoiceField):
    """Ids: an empty value is dropped (a parameter sent empty is not sent), at most MAX_VALUES
    different ones (a repeated id counts once), and an id of the wrong shape is refused, before
    any query, with the message of an unknown one."""

    def clean(self, value):
        ids = distinct(pk for pk in value or [] if pk != "")
        if len(ids) > MAX_VALUES:
            raise forms.ValidationError(at_most(MAX_VALUES, "values"), code="max_values")
        for pk in ids:
            self.validate_no_null_characters(pk)
            if not is_valid_id(pk):
                raise forms.ValidationError(
                    self.error_messages["invalid_choice"],
                    code="invalid_choice",
                    params={"value": pk},
                )
        return super().clean(ids)


class IdsFilter(django_filters.ModelMultipleChoiceFilter):
    """Ids, repeatable (`?team=a&team=b`), among `queryset`; keeps the API users for which
    `condition(objects)` holds (or, with `method`, what the method keeps)."""

    field_class = IdsFormField

    def __init__(self, *, condition=None, **kwargs):
        super().__init__(**kwargs)
        self.condition = condition

    def filter(self, queryset, objects):
        return queryset.filter(self.condition(objects)) if objects else queryset

    def document(self, parameter: dict) -> None:
        parameter["schema"]["items"]["pattern"] = f"^{ID_PATTERN}$"
        parameter["schema"]["maxItems"] = MAX_VALUES
        parameter["description"] += (
            f" At most {MAX_VALUES} different ids (a repeated id counts once); an id that is "
            "not of the caller's account, whatever its shape, is a 400."
        )


class Parameter:
    """A parameter that filters nothing itself: validated and documented with the filters, and
    read by another filter or by the view."""

    def filter(self, queryset, value):
        return queryset


class ChoiceParameter(Parameter, django_filters.ChoiceFilter):
    pass


class ExcludeFormField(forms.MultipleChoiceField):
    default_error_messages = {
        "invalid_choice": (
            f'"%(value)s" cannot be excluded. Fields that can be: {", ".join(EXCLUDABLE_FIELDS)}.'
        )
    }

    def to_python(self, value):
        names = split_names(super().to_python(value))
        if len(names) > MAX_VALUES:
            raise forms.ValidationError(at_most(MAX_VALUES, "values"), code="max_values")
        return names


class ExcludeParameter(Parameter, django_filters.MultipleChoiceFilter):
    field_class = ExcludeFormField

    def document(self, parameter: dict) -> None:
        parameter["schema"]["maxItems"] = MAX_VALUES


def split_names(values: list[str]) -> list[str]:
    """Names from repeated and comma-separated values alike, each once: `a,b&exclude=c,a` is a,
    b and c."""
    return distinct(name.strip() for value in values for name in value.split(",") if name.strip())


def excluded_fields(request) -> list[str]:
    """The names in `exclude`, which ApiUserFilterSet has validated before the list is read."""
    return split_names(request.query_params.getlist("exclude"))


def has_role(**scope) -> Exists:
    return Exists(UserRole.objects.filter(user=OuterRef("pk"), **scope))


def labels_of(request):
    return Label.objects.filter(account=request.user.account)


def teams_of(request):
    return request.user.account.teams.all()


def targets_of(request):
    return request.user.account.targets.all()


class ApiUserFilterSet(FilterSet):
    active = BooleanFilter(help_text="Only active (true) or only inactive (false) API users.")
    label = IdsFilter(
        field_name="labels",
        queryset=labels_of,
        method="filter_label",
        help_text=(
            "Ids of labels: only API users with any of these labels (with "
            "`label_logical_operator=and`, with all of them)."
        ),
    )
    label_logical_operator = ChoiceParameter(
        choices=[("and", "and"), ("or", "or")],
        help_text="Logical operator to apply between user labels (Defaults to or)",
    )
    role = IdsFilter(
        queryset=Role.objects.all(),
        field_name="user_roles__role",
        condition=lambda roles: has_role(role__in=roles),
        help_text="Ids of roles: only API users holding one of these roles, in any scope.",
    )
    team = IdsFilter(
        queryset=teams_of,
        field_name="user_roles__team",
        condition=lambda teams: has_role(team__in=teams),
        help_text="Ids of teams: only API users with a role scoped to one of these teams.",
    )
    target = IdsFilter(
        queryset=targets_of,
        field_name="user_roles__target",
        condition=lambda targets: has_role(target__in=targets),
        help_text="Ids of targets: only API users with a role scoped to one of these targets.",
    )
    exclude_team = IdsFilter(
        queryset=teams_of,
        field_name="user_roles__team",
        condition=lambda teams: ~has_role(team__in=teams),
        help_text="Ids of teams: leave out API users with a role scoped to any of these teams.",
    )
    exclude_target = IdsFilter(
        queryset=targets_of,
        field_name="user_roles__target",
        condition=lambda targets: ~has_role(target__in=targets),
        help_text=(
            "Ids of targets: leave out API users with a role scoped to any of these targets."
        ),
    )
    account = BooleanFilter(
        method="filter_account",
        help_text=(
            "true: only API users with at least one role at the account tier; "
            "false: only API users with none."
        ),
    )
    no_access = BooleanFilter(
        method="filter_no_access",
        help_text=(
            "true: only API users without any role, in any scope; "
            "false: only API users with at least one."
        ),
    )
    mfa_enabled = BooleanFilter(
        method="filter_mfa_enabled",
        help_text=(
            "API users authenticate with their key alone and never have multi-factor "
            "authentication: true answers no API user, false does not filter."
        ),
    )
    exclude = ExcludeParameter(
        choices=[(name, name) for name in EXCLUDABLE_FIELDS],
        help_text=(
            "Fields to exclude from the response, repeated (`exclude=labels&exclude=key`) or "
            "comma-separated (`exclude=labels,key`). A name given twice counts once; more than "
            f"{MAX_VALUES} different names is a 400. `id` cannot be excluded; any other name is a "
            "400 that lists the names allowed."
        ),
    )

    class Meta:
        model = User
        fields = []

    def filter_label(self, queryset, name, labels):
        if not labels:
            return queryset
        if self.form.cleaned_data.get("label_logical_operator") == "and":
            links = User.labels.through.objects.filter(label__in=labels)
            with_all = links.values("user").annotate(n=Count("label")).filter(n=len(labels))
            return queryset.filter(pk__in=with_all.values("user"))
        return queryset.filter(
            Exists(User.labels.through.objects.filter(user=OuterRef("pk"), label__in=labels))
        )

    def filter_account(self, queryset, name, value: bool):
        condition = has_role(tier=Tier.ACCOUNT)
        return queryset.filter(condition if value else ~condition)

    def filter_no_access(self, queryset, name, value: bool):
        condition = has_role()
        return queryset.filter(~condition if value else condition)

    def filter_mfa_enabled(self, queryset, name, value: bool):
        return queryset.none() if value else queryset
