import json
import os

from django.core.management.base import BaseCommand
from django.db import transaction

from apiusers.models import Account, ApiKey, Role, Target, Team, Tier, User, UserRole
from apiusers.services.api_users import api_key_issue, api_user_create, api_user_update
from apiusers.services.labels import labels_by_name

DEMO_ACCOUNT = "Demo"
DEMO_OWNER_EMAIL = "owner@demo.example"
DEMO_OWNER_PASSWORD = "demo-owner-password"  # noqa: S105 -- demo data, printed on purpose
DEMO_ADMIN_ID = "DemoAdm1n2Ky"
# What the printed PATCH sends: the demo Admin's label plus a new one, so its answer shows a
# change (a rerun puts the demo users back as they were, so it shows one again).
DEMO_PATCH = {
    "labels": [{"name": "ci", "color": "#00FF00"}, {"name": "reviewed", "color": "#FFA500"}]
}


class Command(BaseCommand):
    help = (
        "Create (or bring back) the demo account: an Owner who logs in with email and password, "
        "a team, a target, labels and API users with roles. Each run puts the demo API users' "
        "names, labels and active flag back, issues a fresh key for the demo Admin API user (the "
        "previous one stops working) and prints how to use it."
    )

    def add_arguments(self, parser):
        port = os.environ.get("PORT") or "8000"
        parser.add_argument("--base-url", default=f"http://127.0.0.1:{port}")

    @transaction.atomic
    def handle(self, *args, base_url, **options):
        account, _ = Account.objects.get_or_create(name=DEMO_ACCOUNT)
        roles = {role.name: role for role in Role.objects.all()}

        owner = User.objects.filter(email=DEMO_OWNER_EMAIL).first()
        if owner is None:
            owner = User.objects.create_user(
                DEMO_OWNER_EMAIL, DEMO_OWNER_PASSWORD, account=account, name="Demo Owner"
            )
        UserRole.objects.get_or_create(user=owner, role=roles["Owner"], tier=Tier.ACCOUNT)

        team, _ = Team.objects.get_or_create(account=account, name="Platform")
        target, _ = Target.objects.get_or_create(
            account=account, name="Demo shop", defaults={"url": "https://shop.demo.example/"}
        )
        labels = [
            {"name": "ci", "color": "#00FF00"},
            {"name": "production", "color": "#FF0000"},
            {"name": "outsourced", "color": "#0000FF"},
        ]
        labels_by_name(account_id=account.id, actor=owner, items=labels)

        # Fixed ids, so that a rerun finds them even after a client renamed them.
        demo_users = [
            (DEMO_ADMIN_ID, "demo-admin", "Admin", {}, ["ci"]),
            ("DemoScannerA", "scanner", "SecOps", {}, ["production"]),
            ("DemoAuditorB", "auditor-bot", "Auditor", {}, []),
            (
                "DemoDep1oyer",
                "team-deployer",
                "Developer",
                {"tier": Tier.TEAM, "team": team},
                ["ci"],
            ),
            (
                "DemoMonitorC",
                "shop-monitor",
                "Developer",
                {"tier": Tier.TARGET, "target": target},
                [],
            ),
        ]
        for user_id, name, role, scope, label_names in demo_users:
            user = User.objects.filter(id=user_id).first()
            demo_labels = [label for label in labels if label["name"] in label_names]
            if user is None:
                user, key = api_user_create(
                    account=account,
                    actor=owner,
                    name=name,
                    labels=demo_labels,
                    user_roles=[
                        {"role": roles[role], "tier": Tier.ACCOUNT, "team": None, "target": None}
                        | scope
                    ],
                    id=user_id,
                )
            else:
                data = {"name": name, "active": True, "labels": demo_labels}
                api_user_update(account_id=account.id, user_id=user.pk, actor=owner, data=data)
                if user_id == DEMO_ADMIN_ID:
                    ApiKey.objects.filter(user=user).delete()
                    key = api_key_issue(user=user)
            if user_id == DEMO_ADMIN_ID:
                admin_key = key

        self.stdout.write(
            self.style.SUCCESS(f"Demo account {account.name!r} ({account.id}) is ready.")
        )
        self.stdout.write(f"Browse: {base_url}/api-users/{DEMO_ADMIN_ID}/")
        self.stdout.write(f"  log in as {DEMO_OWNER_EMAIL} / {DEMO_OWNER_PASSWORD}")
        self.stdout.write("API key of the demo Admin API user, shown only now:")
        self.stdout.write(f"  {admin_key}")
        user_url = f"{base_url}/api-users/{DEMO_ADMIN_ID}/"
        auth = f'-H "Authorization: JWT {admin_key}"'
        body = f"'{json.dumps(DEMO_PATCH)}'"
        self.stdout.write("Call the API with it:")
        self.stdout.write(f"  curl {auth} {user_url}")
        self.stdout.write(
            f'  curl -X PATCH {auth} -H "Content-Type: application/json" -d {body} {user_url}'
        )
