"""The filters of the list of API users, and its `exclude` parameter.

Filters combine with AND. A filter that takes ids takes ids of the caller's account only, and
refuses any other id with the same 400, whether it belongs to another account or to nobody.
`exclude` is validated here with the filters, and read back by the view (`excluded_fields`) for
the serializer, which drops those fields.
"""

import django_filters
from django import forms
from django.db.models import BooleanField, Count, Exists, Func, OuterRef
from django_filters.rest_framework import FilterSet

from ..fields import StrictBooleanField
from ..ids import ID_PATTERN, is_valid_id
from ..models import Label, Role, Tier, User, UserRole
from ..serializers.api_users import ApiUserOutputSerializer
from .backends import MAX_VALUES, at_most, distinct

# `id` stays: a result without it could not be retrieved or changed.
EXCLUDABLE_FIELDS = [name for name in ApiUserOutputSerializer.Meta.fields if name != "id"]


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
    # django-filter takes any form field here; its stubs want a NullBooleanField.
    field_class = StrictBooleanFormField  # type: ignore[assignment]


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


class Unjoined(Func):
    """A condition PostgreSQL checks on each row the other conditions leave, instead of turning
    it into a join: it joins an EXISTS at the top of the conditions, and `(EXISTS ...) IS TRUE`
    is the same condition out of its reach, checked against the hashed subquery when many rows
    are to be checked, by an index when few are. Elsewhere the condition is left as it is."""

    output_field = BooleanField()

    def as_sql(self, compiler, connection, **extra):
        (condition,) = self.get_source_expressions()
        return compiler.compile(condition)

    def as_postgresql(self, compiler, connection, **extra):
        sql, params = self.as_sql(compiler, connection)
        return f"({sql}) IS TRUE", params


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
        method="filter_role",
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
        fields: list[str] = []

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

    def filter_role(self, queryset, name, roles):
        """Most API users of an account hold one role or another. With a label, a team or a
        target, which few hold, the role is checked on the rows those leave: as a join, the
        plan may first collect every holder of the role (with a search, whose condition it
        prices high per row). Alone, the role stays a join, which a page can stop early."""
        if not roles:
            return queryset
        condition = has_role(role__in=roles)
        if any(self.form.cleaned_data.get(narrow) for narrow in ("label", "team", "target")):
            condition = Unjoined(condition)
        return queryset.filter(condition)

    def filter_account(self, queryset, name, value: bool):
        condition = has_role(tier=Tier.ACCOUNT)
        return queryset.filter(condition if value else ~condition)

    def filter_no_access(self, queryset, name, value: bool):
        condition = has_role()
        return queryset.filter(~condition if value else condition)

    def filter_mfa_enabled(self, queryset, name, value: bool):
        return queryset.none() if value else queryset
