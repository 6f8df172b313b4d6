import json

from django.core.management.base import BaseCommand, CommandError
from django.db.models import Q

from apiusers.models import Account, Role, Target, Team, Tier
from apiusers.services.api_users import api_user_create


class Command(BaseCommand):
    help = (
        "Create an API user with one role and print its key (the only time it is shown). "
        "The account is created if it does not exist."
    )

    def add_arguments(self, parser):
        parser.add_argument("name", help="Name of the API user (at most 60 characters).")
        parser.add_argument("--account", required=True, help="Account name.")
        parser.add_argument("--role", default="Admin", help="Role name or id (default: Admin).")
        parser.add_argument("--tier", choices=list(Tier.values), default=Tier.ACCOUNT)
        parser.add_argument("--team", help="Team id, for --tier team.")
        parser.add_argument("--target", help="Target id, for --tier target.")
        parser.add_argument(
            "--json", action="store_true", help='Print only {"id": ..., "key": ...} on stdout.'
        )

    def handle(self, *args, name, account, role, tier, team, target, **options):
        if not name.strip() or len(name) > 60:
            raise CommandError("NAME must be 1 to 60 characters.")
        role_obj = Role.objects.filter(Q(id=role) | Q(name__iexact=role)).first()
        if role_obj is None:
            names = ", ".join(Role.objects.values_list("name", flat=True))
            raise CommandError(f"No role {role!r}. Roles: {names}.")
        if (tier == Tier.TEAM) != bool(team) or (tier == Tier.TARGET) != bool(target):
            raise CommandError("--team goes with --tier team, --target with --tier target.")
        account_obj, _ = Account.objects.get_or_create(name=account)
        scope = {}
        if team:
            scope["team"] = self._in_account(Team, team, account_obj)
        if target:
            scope["target"] = self._in_account(Target, target, account_obj)

        user, key = api_user_create(
            account=account_obj,
            actor=None,
            name=name,
            user_roles=[{"role": role_obj, "tier": tier, "team": None, "target": None, **scope}],
        )
        if options["json"]:
            self.stdout.write(json.dumps({"id": user.id, "key": key}))
            return
        self.stdout.write(
            f"Created API user {user.name!r} ({user.id}) in account {account_obj.name!r}"
        )
        self.stdout.write(f"Role: {role_obj.name} at the {tier} tier")
        self.stdout.write(f"Key (shown only now): {key}")
        self.stdout.write(f"Use it as:  Authorization: JWT {key}")

    @staticmethod
    def _in_account(model, object_id, account):
        try:
            return model.objects.get(id=object_id, account=account)
        except model.DoesNotExist:
            raise CommandError(
                f"No {model.__name__.lower()} {object_id!r} in this account."
            ) from None
