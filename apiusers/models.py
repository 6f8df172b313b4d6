"""The domain: accounts (tenants), their users and API users, labels, roles and scopes.

Every object but a Role belongs to exactly one Account, and nothing crosses accounts: the
selectors start every query from the requester's account.
"""

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.core.validators import RegexValidator
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

from .ids import ID_HELP_TEXT, ID_LENGTH, new_id

CHANGED_HELP_TEXT = (
    "Date and time of the last change, in ISO 8601 UTC format.\n"
    'For example, "2023-08-09T13:27:43.8208302".'
)
CHANGED_BY_HELP_TEXT = "User who last made changes."
LABEL_COLOR_CHARACTERS = r"[a-zA-Z0-9#_-]*"
# Colours are short ("#00FF00"); the limit is the name's, so that a label stays small in the
# answers that list it once per user carrying it.
LABEL_COLOR_MAX_LENGTH = 255


class BaseModel(models.Model):
    id = models.CharField(
        primary_key=True,
        max_length=ID_LENGTH,
        default=new_id,
        editable=False,
        help_text=ID_HELP_TEXT,
    )

    class Meta:
        abstract = True


class Account(BaseModel):
    """The tenant: every user, label, team, target and role assignment belongs to one."""

    name = models.CharField(max_length=255, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Title(models.TextChoices):
    CEO = "ceo", "Chief Executive Officer"
    CTO = "cto", "Chief Technology Officer"
    CSO = "cso", "Chief Security Officer"
    SECENG = "seceng", "Security engineer"
    DEV = "dev", "Developer"
    DEVOP = "devop", "Developer Operations"
    MANAGER = "manager", "Manager"
    OTHER = "other", "Other"


class UserManager(BaseUserManager):
    """Creates humans (email + password) and API users (no email, unusable password).

    A user created outside the API has no other user to credit, so it is its own `changed_by`.
    """

    use_in_migrations = True

    def _create(self, *, account, password=None, **fields):
        user = self.model(account=account, **fields)
        user.changed_by_id = user.id
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.save(using=self._db)
        return user

    def create_user(self, email, password=None, *, account, name="", **fields):
        return self._create(
            account=account,
            email=self.normalize_email(email),
            password=password,
            name=name,
            **fields,
        )

    def create_api_user(self, *, account, name, **fields):
        return self._create(account=account, name=name, is_apiuser=True, **fields)

    def create_superuser(self, email, password=None, name="", **fields):
        """For `createsuperuser`: a staff human in the operators' own account."""
        account, _ = Account.objects.get_or_create(name="Operators")
        fields.update(is_staff=True, is_superuser=True)
        return self.create_user(email, password, account=account, name=name, **fields)


# The users a list of API users shows (apiusers.selectors.api_users): its indexes hold these only.
LISTED = models.Q(is_apiuser=True, deleted__isnull=True)


class User(BaseModel, AbstractBaseUser, PermissionsMixin):
    """A person (email + password, browsable API and admin) or an API user (key only)."""

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="users")
    email = models.EmailField(max_length=254, blank=True, help_text="Email of the user.")
    name = models.CharField(max_length=60, help_text="Name of the user.")
    title = models.CharField(
        max_length=16, choices=Title.choices, blank=True, help_text="Job title:"
    )
    active = models.BooleanField(
        default=True,
        help_text=(
            "If true, the user can authenticate to Probely to interact with apps and the API.\n"
            "If false, the user's access to Probely's apps and API is blocked.\n"
            "Defaults to true."
        ),
    )
    is_apiuser = models.BooleanField(
        default=False,
        # The closing quote is in the published documentation too; kept word for word.
        help_text=(
            "If true, it is an app that interacts with Probely through the API.\n"
            "If false, it is a human who interacts with Probely through our web interface.\n"
            'Defaults to false."'
        ),
    )
    is_staff = models.BooleanField(default=False, help_text="May log in to the admin site.")
    labels = models.ManyToManyField("apiusers.Label", blank=True, related_name="users")
    changed = models.DateTimeField(default=timezone.now, help_text=CHANGED_HELP_TEXT)
    changed_by = models.ForeignKey(
        "self", on_delete=models.PROTECT, related_name="+", help_text=CHANGED_BY_HELP_TEXT
    )
    # Deleting keeps the row, so that `changed_by` and the history of others still name it.
    deleted = models.DateTimeField(null=True, blank=True, editable=False)
    # What a search of API users reads: the name and the labels' names, upper-cased, one per
    # line. Written by the database's triggers (migration 0009), never by this code.
    search_text = models.TextField(default="", editable=False)

    objects = UserManager()

    # Cached on the instance by selectors.account_permissions, once per request.
    _account_permissions: frozenset[str]

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["name"]

    class Meta:
        ordering = ["name", "id"]
        # The list of an account's API users, in either order it offers: a page is read from
        # an index (forwards or backwards) instead of sorting every API user of the account.
        indexes = [
            models.Index(fields=["account", key, "id"], condition=LISTED, name=f"api_user_by_{key}")
            for key in ("name", "changed")
        ]
        constraints = [
            models.UniqueConstraint(
                Lower("email"), condition=~models.Q(email=""), name="user_email_unique"
            ),
            models.CheckConstraint(
                condition=models.Q(is_apiuser=False) | models.Q(email=""),
                name="apiuser_has_no_email",
            ),
        ]

    def __str__(self) -> str:
        return self.email or self.name

    # Read-only on purpose: the flag is `active`. Django's own `is_active = True` is a plain
    # class attribute in the stubs, which a property may not override.
    @property
    def is_active(self) -> bool:  # type: ignore[override]
        return self.active


class Label(BaseModel):
    """A user label; matched by name within its account when a user's labels are written."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="labels")
    name = models.CharField(
        max_length=255,
        help_text="Name of the label.\nThe maximum length is 255 characters.",
    )
    color = models.CharField(
        max_length=LABEL_COLOR_MAX_LENGTH,
        blank=True,
        validators=[RegexValidator(rf"\A{LABEL_COLOR_CHARACTERS}\Z")],
        help_text=(
            'Color of the label, in RGB hexadecimal format prefixed with "#".\n'
            'For example, "#00FF00" for green.'
        ),
    )
    changed = models.DateTimeField(default=timezone.now, help_text=CHANGED_HELP_TEXT)
    changed_by = models.ForeignKey(
        User, on_delete=models.PROTECT, related_name="+", help_text=CHANGED_BY_HELP_TEXT
    )

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["account", "name"], name="label_name_unique_in_account")
        ]

    def __str__(self) -> str:
        return self.name


class PermissionCode(models.TextChoices):
    """What a role allows in this service. Roles hold a list of these codes."""

    VIEW_USERS = "users.view", "See users and API users"
    MANAGE_USERS = "users.manage", "Create, change and delete users and API users"
    # Nobody grants a permission they do not hold, so only an Owner makes another Owner.
    OWN_ACCOUNT = "account.own", "Own the account"


class Role(BaseModel):
    """A named set of permissions. The six built-in roles are created by a data migration."""

    name = models.CharField(max_length=255, unique=True, help_text="Role's name.")
    permissions = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Team(BaseModel):
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="teams")
    name = models.CharField(max_length=255)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class Target(BaseModel):
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="targets")
    name = models.CharField(max_length=255)
    url = models.URLField(max_length=2048, help_text="Target URL.")

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class Tier(models.TextChoices):
    ACCOUNT = "account", "account"
    TEAM = "team", "team"
    TARGET = "target", "target"


class UserRole(BaseModel):
    """A role granted to a user in a scope: the whole account, one team or one target."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="user_roles")
    role = models.ForeignKey(Role, on_delete=models.PROTECT, related_name="user_roles")
    tier = models.CharField(max_length=8, choices=Tier.choices)
    team = models.ForeignKey(
        Team, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    target = models.ForeignKey(
        Target, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(tier=Tier.ACCOUNT, team__isnull=True, target__isnull=True)
                    | models.Q(tier=Tier.TEAM, team__isnull=False, target__isnull=True)
                    | models.Q(tier=Tier.TARGET, team__isnull=True, target__isnull=False)
                ),
                name="userrole_scope_matches_tier",
            ),
            # One constraint per tier: NULLs are distinct in a plain unique constraint.
            models.UniqueConstraint(
                fields=["user", "role"],
                condition=models.Q(tier=Tier.ACCOUNT),
                name="userrole_unique_account_scope",
            ),
            models.UniqueConstraint(
                fields=["user", "role", "team"],
                condition=models.Q(tier=Tier.TEAM),
                name="userrole_unique_team_scope",
            ),
            models.UniqueConstraint(
                fields=["user", "role", "target"],
                condition=models.Q(tier=Tier.TARGET),
                name="userrole_unique_target_scope",
            ),
        ]

    def __str__(self) -> str:
        scope = self.team or self.target or "account"
        return f"{self.role} on {scope}"


class ApiKey(BaseModel):
    """An API user's key. Only its public prefix and an HMAC digest of the whole key are kept.

    An API user has one current key (`expires` empty) and, for a grace period after a rotation,
    the previous one (`expires` set).
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_keys")
    prefix = models.CharField(max_length=8, unique=True)
    digest = models.CharField(max_length=64)
    created = models.DateTimeField(default=timezone.now)
    expires = models.DateTimeField(null=True, blank=True)
    last_used = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created", "id"]

    def __str__(self) -> str:
        return self.prefix


class Change(BaseModel):
    """One recorded change to an API user: who made it, when, and each field from what to what.

    `changes` maps a field to `{"from": old, "to": new}`; labels are recorded as sorted name
    lists and roles as readable "Role at scope" strings, so the history stays legible after
    the labels, roles or scopes themselves change.
    """

    class Action(models.TextChoices):
        CREATED = "created", "created"
        UPDATED = "updated", "updated"
        DELETED = "deleted", "deleted"
        KEY_ROTATED = "key_rotated", "key rotated"

    # No index of its own: `change_user_newest_first` starts with it.
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="history", db_index=False)
    actor = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(
        default=timezone.now, help_text="Date and time of the change, in ISO 8601 UTC format."
    )
    action = models.CharField(max_length=16, choices=Action.choices, help_text="What happened.")
    changes = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["user", "-at"], name="change_user_newest_first")]

    def __str__(self) -> str:
        return f"{self.action} {self.user_id} at {self.at:%Y-%m-%d %H:%M:%S}"
