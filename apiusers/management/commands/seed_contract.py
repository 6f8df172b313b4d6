import json

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from apiusers.models import Account, Label, Role, Target, Team, Tier, User, UserRole
from apiusers.services.api_users import api_user_create, api_user_update

CONTRACT_ACCOUNT = "Contract"

# Fixed ids, so that the fuzzer's configuration (.ci/schemathesis.toml) can name them. Every
# object that the fuzzer changes or deletes is its own, never the caller.
IDS = {
    "caller": "CtrCa11erKey",  # the Owner whose key the fuzzer uses; nothing names it
    "reader": "CtrReader111",  # read: GET /api-users/{id}/, its key and its history
    "editor": "CtrEditor111",  # PUT and PATCH /api-users/{id}/
    "rotated": "CtrRotate111",  # POST /api-users/{id}/rotate-key/
    "holder": "CtrRo1esUser",  # /api-users/{api_user_id}/roles/
    "bulk_a": "CtrBu1kA1111",  # bulk writes
    "bulk_b": "CtrBu1kB1111",
    "role_kept": "CtrRo1eKeep1",  # the holder's: GET, PUT and PATCH .../roles/{id}/
    "role_bulk_a": "CtrRo1eBu1kA",  # bulk_a's and bulk_b's, for the bulk role writes
    "role_bulk_b": "CtrRo1eBu1kB",
    "team": "CtrTeam11111",
    "target": "CtrTarget111",
    "label_kept": "CtrLabe1Keep",  # GET, PUT and PATCH /labels/users/{id}/
    # Named by no path: what the `label` filter of GET /api-users/ asks for. The stateful phase
    # may delete a label that a path names, following the links from its answers.
    "label_filtered": "CtrLabe1Fi1t",
}
# What DELETE consumes, several of each: every phase of the run finds some still there.
CONSUMED = {
    "doomed": [f"CtrDe1ete11{n}" for n in range(1, 10)],  # DELETE /api-users/{id}/
    "roles_dropped": [f"CtrRo1eDrop{n}" for n in range(1, 10)],  # the holder's roles
    "labels_dropped": [f"CtrLabe1Drp{n}" for n in range(1, 10)],  # DELETE /labels/users/{id}/
    "roles_bulk_dropped": [f"CtrBu1kDrop{n}" for n in range(1, 10)],  # bulk_b's, bulk deletes
}


class Command(BaseCommand):
    help = (
        "Prepare a fresh database for the contract fuzzer (.ci/contract): an account with a team, "
        "a target, labels, and API users with roles, at fixed ids. Prints the Owner API key the "
        "fuzzer calls with (the only time it is shown) and the ids, as JSON."
    )

    @transaction.atomic
    def handle(self, *args, **options):
        if Account.objects.filter(name=CONTRACT_ACCOUNT).exists():
            raise CommandError(f"Account {CONTRACT_ACCOUNT!r} exists: seed a fresh database.")
        account = Account.objects.create(name=CONTRACT_ACCOUNT)
        roles = {role.name: role for role in Role.objects.all()}
        team = Team.objects.create(id=IDS["team"], account=account, name="Platform")
        target = Target.objects.create(
            id=IDS["target"], account=account, name="Shop", url="https://shop.example.com/"
        )

        def account_role(name):
            return {"role": roles[name], "tier": Tier.ACCOUNT, "team": None, "target": None}

        caller, key = api_user_create(
            account=account,
            actor=None,
            name="contract-fuzzer",
            user_roles=[account_role("Owner")],
            id=IDS["caller"],
        )
        for label_id, name in [
            (IDS["label_kept"], "ci"),
            (IDS["label_filtered"], "filtered"),
            *((label_id, f"legacy-{label_id}") for label_id in CONSUMED["labels_dropped"]),
        ]:
            Label.objects.create(
                id=label_id, account=account, name=name, color="#00FF00", changed_by=caller
            )
        ci = [{"name": "ci", "color": "#00FF00"}]
        scoped = [
            account_role("Auditor"),
            {"role": roles["Developer"], "tier": Tier.TEAM, "team": team, "target": None},
            {"role": roles["Developer"], "tier": Tier.TARGET, "team": None, "target": target},
        ]
        for user_id in [
            *(IDS[name] for name in ("reader", "editor", "rotated", "holder", "bulk_a", "bulk_b")),
            *CONSUMED["doomed"],
        ]:
            api_user_create(
                account=account,
                actor=caller,
                name=f"user-{user_id}",
                labels=ci,
                user_roles=scoped,
                id=user_id,
            )
        reader = User.objects.get(id=IDS["reader"])
        api_user_update(
            account_id=reader.account_id,
            user_id=reader.pk,
            actor=caller,
            data={"name": "reader-bot", "labels": []},
        )

        for assignment, user in (
            ("role_kept", "holder"),
            ("role_bulk_a", "bulk_a"),
            ("role_bulk_b", "bulk_b"),
        ):
            UserRole.objects.create(id=IDS[assignment], user_id=IDS[user], **account_role("Admin"))
        # The roles that deletes take, each at the tier of a team of its own: the holder's for
        # DELETE, bulk_b's for the bulk deletes.
        for user, assignments in (
            ("holder", CONSUMED["roles_dropped"]),
            ("bulk_b", CONSUMED["roles_bulk_dropped"]),
        ):
            for assignment in assignments:
                UserRole.objects.create(
                    id=assignment,
                    user_id=IDS[user],
                    role=roles["SecOps"],
                    tier=Tier.TEAM,
                    team=Team.objects.create(account=account, name=f"team-{assignment}"),
                )
        self.stdout.write(json.dumps({"key": key, "ids": IDS, "consumed": CONSUMED}))
