"""The Django admin, for the people who run the service (staff humans, usually superusers).

It keeps the API's rules where it writes what the API writes: a change to an API user goes
through `api_user_update` (history, `changed`, `changed_by`), deleting a label through
`label_delete`, and other writes credit the operator in `changed_by`. An object's account is
chosen when it is created and fixed after that. Secrets never show: no password hash, no key
digest. Role assignments, roles, keys and history are read-only here: roles are granted through
the API, which checks what the granter holds and records it in the history.
"""

from django import forms
from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import BaseUserCreationForm
from django.core.exceptions import PermissionDenied
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from .models import Account, ApiKey, Change, Label, Role, Target, Team, User, UserRole
from .services import authority
from .services.api_users import api_user_update
from .services.labels import label_delete


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class AccountFixedAdmin(admin.ModelAdmin):
    """The account is chosen on creation only: moved to another account, an object would leave
    its users, labels and role assignments behind, across the boundary. (Disabled rather than
    read-only, so that the form still checks constraints that involve the account.)"""

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        if obj is not None and "account" in form.base_fields:
            form.base_fields["account"].disabled = True
        return form


class CreditedAdmin(admin.ModelAdmin):
    """Creating an object, or changing it effectively, sets `changed` and `changed_by`."""

    def save_model(self, request, obj, form, change):
        if not change or form.has_changed():
            obj.changed, obj.changed_by = timezone.now(), request.user
        super().save_model(request, obj, form, change)


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    list_display = ["name", "id"]
    search_fields = ["name"]


class HumanCreationForm(BaseUserCreationForm):
    """Adds a person, who logs in with email and password. API users are created through the
    API or `manage.py create_api_user`, which show their key once."""

    class Meta:
        model = User
        fields = ["account", "email", "name"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["email"].required = True


class UserChangeForm(forms.ModelForm):
    def clean(self):
        """The account keeps an active Owner: the last one is not deactivated here either. The
        admin saves in the transaction this check runs in, which holds the account's lock."""
        cleaned = super().clean()
        if self.instance.active and cleaned.get("active") is False:
            try:
                authority.guard_last_owner(
                    self.instance.account_id, authority.active_owners([self.instance.pk])
                )
            except authority.LastOwner as error:
                raise forms.ValidationError(str(error.detail)) from None
        return cleaned


@admin.register(User)
class UserAdmin(AccountFixedAdmin, CreditedAdmin, DjangoUserAdmin):
    form = UserChangeForm
    add_form = HumanCreationForm
    add_fieldsets = [
        (
            None,
            {"classes": ["wide"], "fields": ["account", "email", "name", "password1", "password2"]},
        )
    ]
    list_display = ["name", "email", "account", "is_apiuser", "active", "is_staff", "changed"]
    list_filter = ["is_apiuser", "active", "is_staff", "account"]
    list_select_related = ["account"]
    search_fields = ["email", "name"]
    ordering = ["name", "id"]
    readonly_fields = ["id", "set_password", "changed", "changed_by", "last_login", "deleted"]
    filter_horizontal = ["groups", "user_permissions"]

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            return super().get_fieldsets(request, obj)
        history = ("History", {"fields": ["id", "changed", "changed_by", "deleted"]})
        if obj.is_apiuser:
            return [(None, {"fields": ["account", "name", "title", "active"]}), history]
        return [
            (None, {"fields": ["account", "email", "name", "title", "active", "set_password"]}),
            (
                "Admin site",
                {"fields": ["is_staff", "is_superuser", "groups", "user_permissions"]},
            ),
            (history[0], {"fields": [*history[1]["fields"], "last_login"]}),
        ]

    # Not named `password`: the admin would then show the model field, the hash itself.
    @admin.display(description="Password")
    def set_password(self, user):
        """A link to set a new password: the hash is never shown, not even masked."""
        url = reverse("admin:auth_user_password_change", args=[user.pk])
        return format_html('<a href="{}">Set a new password</a>', url)

    def user_change_password(self, request, id, form_url=""):
        """API users have no password: they authenticate with their key only."""
        user = self.get_object(request, unquote(id))
        if user is not None and user.is_apiuser:
            raise PermissionDenied
        return super().user_change_password(request, id, form_url)

    def save_model(self, request, obj, form, change):
        if change and obj.is_apiuser:
            data = {name: form.cleaned_data[name] for name in form.changed_data}
            api_user_update(
                account_id=obj.account_id, user_id=obj.pk, actor=request.user, data=data
            )
        else:
            super().save_model(request, obj, form, change)

    def has_delete_permission(self, request, obj=None) -> bool:
        # Users are deactivated, not deleted: others' `changed_by` and history point to them.
        return False


@admin.register(Label)
class LabelAdmin(AccountFixedAdmin, CreditedAdmin):
    fields = ["account", "name", "color", "changed", "changed_by"]
    readonly_fields = ["changed", "changed_by"]
    list_display = ["name", "color", "account", "changed", "changed_by"]
    list_filter = ["account"]
    list_select_related = ["account", "changed_by"]
    search_fields = ["name"]

    def delete_model(self, request, obj):
        label_delete(label=obj, actor=request.user)

    def delete_queryset(self, request, queryset):
        for label in queryset:
            label_delete(label=label, actor=request.user)


class ScopeAdmin(AccountFixedAdmin):
    """Teams and targets. Not deleted here: that would drop the role assignments scoped to
    them without recording it in the API users' history."""

    list_filter = ["account"]
    list_select_related = ["account"]
    search_fields = ["name"]

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Team)
class TeamAdmin(ScopeAdmin):
    fields = ["account", "name"]
    list_display = ["name", "account"]


@admin.register(Target)
class TargetAdmin(ScopeAdmin):
    fields = ["account", "name", "url"]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    list_display = ["name", "url", "account"]


@admin.register(Role)
class RoleAdmin(ReadOnlyAdmin):
    """Roles belong to no account: one added here would appear in every account."""

    fields = ["id", "name", "permissions"]
    list_display = ["name", "permissions"]


@admin.register(UserRole)
class UserRoleAdmin(ReadOnlyAdmin):
    fields = ["user", "role", "tier", "team", "target"]
    list_display = ["user", "role", "tier", "team", "target"]
    list_filter = ["role", "tier", "user__account"]
    list_select_related = ["user", "role", "team", "target"]
    search_fields = ["user__name", "user__email"]


@admin.register(ApiKey)
class ApiKeyAdmin(ReadOnlyAdmin):
    """The public part of keys only; the digest stays in the database."""

    fields = ["user", "prefix", "created", "expires", "last_used"]
    list_display = ["prefix", "user", "created", "expires", "last_used"]
    list_select_related = ["user"]
    search_fields = ["prefix", "user__name"]


@admin.register(Change)
class ChangeAdmin(ReadOnlyAdmin):
    fields = ["user", "actor", "at", "action", "changes"]
    list_display = ["at", "action", "user", "actor"]
    list_filter = ["action"]
    list_select_related = ["user", "actor"]
    search_fields = ["user__name", "user__id"]
