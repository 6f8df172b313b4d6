import factory
from django.utils import timezone
from factory.django import DjangoModelFactory

from apiusers.ids import new_id
from apiusers.models import Account, ApiKey, Label, Role, Target, Team, Tier, User, UserRole
from apiusers.services.api_users import api_key_issue


class AccountFactory(DjangoModelFactory):
    class Meta:
        model = Account

    name = factory.Sequence(lambda n: f"Account {n}")


class UserFactory(DjangoModelFactory):
    """A human; created outside the API, so it is its own `changed_by`."""

    class Meta:
        model = User
        skip_postgeneration_save = True

    id = factory.LazyFunction(new_id)
    account = factory.SubFactory(AccountFactory)
    email = factory.Sequence(lambda n: f"person{n}@example.com")
    name = factory.Sequence(lambda n: f"Person {n}")
    changed_by_id = factory.SelfAttribute("id")
    password = factory.django.Password("correct horse battery staple")


class ApiUserFactory(UserFactory):
    email = ""
    name = factory.Sequence(lambda n: f"bot-{n}")
    is_apiuser = True
    password = factory.django.Password(None)


class LabelFactory(DjangoModelFactory):
    class Meta:
        model = Label

    account = factory.SubFactory(AccountFactory)
    name = factory.Sequence(lambda n: f"label-{n}")
    color = "#00FF00"
    changed_by = factory.SubFactory(ApiUserFactory, account=factory.SelfAttribute("..account"))


class TeamFactory(DjangoModelFactory):
    class Meta:
        model = Team

    account = factory.SubFactory(AccountFactory)
    name = factory.Sequence(lambda n: f"Team {n}")


class TargetFactory(DjangoModelFactory):
    class Meta:
        model = Target

    account = factory.SubFactory(AccountFactory)
    name = factory.Sequence(lambda n: f"Target {n}")
    url = factory.Sequence(lambda n: f"https://target{n}.example.com/")


def grant(user: User, role_name: str, tier: str = Tier.ACCOUNT, **scope) -> UserRole:
    """Give `user` the built-in role `role_name` in a scope (team=... or target=...)."""
    return UserRole.objects.create(
        user=user, role=Role.objects.get(name=role_name), tier=tier, **scope
    )


def api_user_with_key(
    account: Account, role_name: str | None = "Admin", **fields
) -> tuple[User, str]:
    """An API user of `account` holding `role_name` at the account tier, and its full key.

    The key counts as used just now, so a test's first request makes no `last_used` write and
    query counts are those of the steady state."""
    user = ApiUserFactory(account=account, **fields)
    if role_name:
        grant(user, role_name)
    key = api_key_issue(user=user)
    ApiKey.objects.filter(user=user).update(last_used=timezone.now())
    return user, key
