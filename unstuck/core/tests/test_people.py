"""People and teams in the browser and the API (issue 14, item 4): leaders invite by email
(a signed, expiring, single-use link to set a password), create and rename teams, set a
team's manager, change roles, deactivate someone (deals stay, access goes), invite the
owners an import did not know; anyone resets a forgotten password from the sign-in page."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from typing import Any
from unittest import mock

from django.core import mail
from django.test import override_settings
from django.urls import reverse

from unstuck.core import services
from unstuck.core.errors import Conflict, UnstuckError
from unstuck.core.models import Membership, Role, Team, User
from unstuck.core.testing import PASSWORD, PersonasTestCase
from unstuck.deals.models import Deal
from unstuck.imports.models import ImportRun, RunStatus

SITE = "https://unstuck.example.com"
STRONG = "a-long-new-passphrase-42"
SETTINGS = reverse("workspace-settings", kwargs={"slug": "acme"})


def _link(message: object) -> str:
    found = re.search(r"https?://\S+", str(message))
    assert found, message
    return found.group(0)


@override_settings(SITE_URL=SITE)
class InviteTests(PersonasTestCase):
    def invite(self, user: User, **data: Any) -> Any:
        self.client.force_login(user)
        with self.captureOnCommitCallbacks(execute=True):
            return self.client.post(
                reverse("member-invite", kwargs={"slug": "acme"}),
                {"email": "nina@acme.test", "name": "Nina Park", "role": "rep", **data},
            )

    def test_a_leader_invites_and_the_email_carries_an_absolute_link(self) -> None:
        response = self.invite(self.leader, team=self.team_a.pk)
        self.assertRedirects(response, SETTINGS, fetch_redirect_response=False)
        membership = Membership.objects.get(user__email="nina@acme.test")
        self.assertEqual((membership.role, membership.team), (Role.REP, self.team_a))
        self.assertFalse(membership.user.has_usable_password())
        self.assertEqual(len(mail.outbox), 1)
        self.assertEqual(mail.outbox[0].to, ["nina@acme.test"])
        self.assertTrue(_link(mail.outbox[0].body).startswith(f"{SITE}/invite/"))

    def test_the_link_sets_a_password_signs_in_and_works_once(self) -> None:
        self.invite(self.leader)
        self.client.logout()
        path = _link(mail.outbox[0].body).removeprefix(SITE)
        form = self.client.get(path, follow=True)
        self.assertContains(form, "Choose a password for nina@acme.test")
        done = self.client.post(
            form.redirect_chain[-1][0], {"new_password1": STRONG, "new_password2": STRONG}
        )
        self.assertEqual(done.status_code, 302)
        self.assertEqual(self.client.get(reverse("home")).status_code, 302)  # to the workspace
        self.assertTrue(User.objects.get(email="nina@acme.test").check_password(STRONG))
        self.client.logout()
        self.assertContains(self.client.get(path, follow=True), "This link no longer works")

    def test_a_weak_password_is_refused_by_the_validators(self) -> None:
        self.invite(self.leader)
        self.client.logout()
        form = self.client.get(_link(mail.outbox[0].body).removeprefix(SITE), follow=True)
        page = self.client.post(
            form.redirect_chain[-1][0], {"new_password1": "x", "new_password2": "x"}
        )
        self.assertContains(page, "too short")
        self.assertFalse(User.objects.get(email="nina@acme.test").has_usable_password())

    def test_the_link_expires(self) -> None:
        self.invite(self.leader)
        self.client.logout()
        later = datetime.now() + timedelta(days=4)
        with mock.patch.object(services.invite_tokens, "_now", return_value=later):
            page = self.client.get(_link(mail.outbox[0].body).removeprefix(SITE), follow=True)
        self.assertContains(page, "This link no longer works")

    def test_a_password_reset_token_is_not_an_invitation(self) -> None:
        from django.contrib.auth.tokens import default_token_generator
        from django.utils.encoding import force_bytes
        from django.utils.http import urlsafe_base64_encode

        uid = urlsafe_base64_encode(force_bytes(self.rep_a.pk))
        token = default_token_generator.make_token(self.rep_a)
        page = self.client.get(
            reverse("invite-accept", kwargs={"uidb64": uid, "token": token}), follow=True
        )
        self.assertContains(page, "This link no longer works")

    def test_managers_reps_and_partners_are_refused_403_and_outsiders_404(self) -> None:
        for user in (self.manager_a, self.rep_a, self.partner):
            with self.subTest(user=user):
                self.assertEqual(self.invite(user).status_code, 403)
        self.assertEqual(self.invite(self.outsider).status_code, 404)
        self.assertFalse(User.objects.filter(email="nina@acme.test").exists())
        self.assertEqual(mail.outbox, [])

    def test_a_member_cannot_be_invited_twice(self) -> None:
        leader = Membership.objects.get(user=self.leader)
        with self.assertRaises(Conflict):
            services.member_invite(by=leader, email="rep.a@acme.test", role="rep")

    def test_someone_already_on_unstuck_is_added_and_told_without_a_link(self) -> None:
        self.invite(self.leader, email="outsider@globex.test")
        self.assertIn(f"{SITE}/sign-in/", mail.outbox[0].body)
        self.assertNotIn("/invite/", mail.outbox[0].body)

    def test_the_leader_page_lists_people_with_controls_and_a_rep_sees_none(self) -> None:
        self.client.force_login(self.leader)
        page = self.client.get(SETTINGS)
        self.assertContains(page, "Send the invitation")
        self.assertContains(page, "Create the team")
        self.assertContains(page, ">Deactivate</button>")
        self.client.force_login(self.rep_a)
        page = self.client.get(SETTINGS)
        self.assertNotContains(page, "Send the invitation")
        self.assertNotContains(page, "Deactivate")


class TeamAndRoleTests(PersonasTestCase):
    lead: Membership

    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.lead = Membership.objects.get(user=cls.leader)

    def membership(self, user: User) -> Membership:
        return Membership.everyone.get(user=user, workspace=self.workspace)

    def test_create_rename_and_give_a_team_its_manager_through_the_page(self) -> None:
        self.client.force_login(self.leader)
        self.client.post(reverse("team-create", kwargs={"slug": "acme"}), {"name": "Enterprise"})
        team = Team.objects.get(name="Enterprise")
        manager = self.membership(self.manager_a)
        self.client.post(
            reverse("team-update", kwargs={"slug": "acme", "pk": team.pk}),
            {"name": "Enterprise East", "manager": manager.pk},
        )
        team.refresh_from_db()
        self.assertEqual((team.name, team.manager), ("Enterprise East", self.manager_a))

    def test_only_a_manager_can_manage_a_team(self) -> None:
        with self.assertRaisesMessage(UnstuckError, "make them a manager first"):
            services.team_set_manager(
                by=self.lead, team_id=self.team_a.pk, manager_id=self.membership(self.rep_a).pk
            )

    def test_team_names_are_unique_and_another_workspaces_team_is_not_found(self) -> None:
        with self.assertRaises(Conflict):
            services.team_create(by=self.lead, name="a")
        other = Team.objects.create(workspace=self.outsider.memberships.get().workspace, name="X")
        self.client.force_login(self.leader)
        url = reverse("team-update", kwargs={"slug": "acme", "pk": other.pk})
        self.assertEqual(self.client.post(url, {"name": "Mine"}).status_code, 404)

    def test_a_manager_cannot_create_teams_or_change_roles(self) -> None:
        self.client.force_login(self.manager_a)
        self.assertEqual(
            self.client.post(
                reverse("team-create", kwargs={"slug": "acme"}), {"name": "Z"}
            ).status_code,
            403,
        )
        url = reverse(
            "member-update", kwargs={"slug": "acme", "pk": self.membership(self.rep_a).pk}
        )
        self.assertEqual(self.client.post(url, {"role": "leader"}).status_code, 403)
        self.assertEqual(self.membership(self.rep_a).role, Role.REP)

    def test_change_a_role_and_a_team(self) -> None:
        self.client.force_login(self.leader)
        url = reverse(
            "member-update", kwargs={"slug": "acme", "pk": self.membership(self.rep_a).pk}
        )
        self.client.post(url, {"role": "rep", "team": self.team_b.pk})
        self.assertEqual(self.membership(self.rep_a).team, self.team_b)
        self.client.post(url, {"role": "manager"})
        changed = self.membership(self.rep_a)
        self.assertEqual((changed.role, changed.team), (Role.MANAGER, None))

    def test_a_manager_made_a_rep_stops_managing_their_team(self) -> None:
        services.member_change_role(
            by=self.lead, membership_id=self.membership(self.manager_a).pk, role="rep"
        )
        self.team_a.refresh_from_db()
        self.assertIsNone(self.team_a.manager)

    def test_the_workspace_keeps_a_leader(self) -> None:
        with self.assertRaisesMessage(Conflict, "needs a leader"):
            services.member_change_role(by=self.lead, membership_id=self.lead.pk, role="rep")


class DeactivateTests(PersonasTestCase):
    lead: Membership

    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.lead = Membership.objects.get(user=cls.leader)

    def deactivate(self, user: User, target: User) -> Any:
        pk = Membership.everyone.get(user=target, workspace=self.workspace).pk
        self.client.force_login(user)
        return self.client.post(reverse("member-deactivate", kwargs={"slug": "acme", "pk": pk}))

    def test_deals_stay_and_access_goes(self) -> None:
        token = services.api_token_create(user=self.rep_a, name="script")[1]
        self.assertEqual(self.deactivate(self.leader, self.rep_a).status_code, 302)
        self.assertEqual(Deal.objects.get(pk=self.deal_a.pk).owner, self.rep_a)
        self.rep_a.refresh_from_db()
        self.assertFalse(self.rep_a.is_active)
        self.client.logout()
        signed_in = self.client.login(email="rep.a@acme.test", password=PASSWORD)
        self.assertFalse(signed_in)
        api = self.client.get(
            "/api/v1/workspaces/acme/deals", headers={"Authorization": f"Bearer {token}"}
        )
        self.assertEqual(api.status_code, 401)

    def test_a_person_in_another_workspace_keeps_that_one(self) -> None:
        Membership.objects.create(
            workspace=self.outsider.memberships.get().workspace, user=self.rep_a, role=Role.REP
        )
        self.deactivate(self.leader, self.rep_a)
        self.client.force_login(self.rep_a)
        self.assertEqual(
            self.client.get(reverse("deals:pipeline", kwargs={"slug": "acme"})).status_code, 404
        )
        self.assertEqual(
            self.client.get(reverse("deals:pipeline", kwargs={"slug": "globex"})).status_code, 200
        )

    def test_a_deactivated_manager_leaves_their_team_without_a_manager(self) -> None:
        self.deactivate(self.leader, self.manager_a)
        self.team_a.refresh_from_db()
        self.assertIsNone(self.team_a.manager)
        self.assertContains(self.client.get(SETTINGS), "deactivated")

    def test_reactivating_gives_access_back_and_so_does_inviting_again(self) -> None:
        self.deactivate(self.leader, self.rep_a)
        pk = Membership.everyone.get(user=self.rep_a, workspace=self.workspace).pk
        self.client.post(reverse("member-reactivate", kwargs={"slug": "acme", "pk": pk}))
        self.assertTrue(Membership.objects.filter(pk=pk).exists())
        self.deactivate(self.leader, self.rep_a)
        services.member_invite(by=self.lead, email="rep.a@acme.test", role="rep", send=False)
        self.assertTrue(Membership.objects.filter(pk=pk).exists())
        self.assertTrue(User.objects.get(pk=self.rep_a.pk).is_active)

    def test_only_leaders_may_and_not_themselves(self) -> None:
        for user in (self.manager_a, self.rep_b, self.partner):
            with self.subTest(user=user):
                self.assertEqual(self.deactivate(user, self.rep_a).status_code, 403)
        self.assertEqual(self.deactivate(self.outsider, self.rep_a).status_code, 404)
        self.assertTrue(Membership.objects.filter(user=self.rep_a).exists())
        with self.assertRaises(Conflict):
            services.member_deactivate(by=self.lead, membership_id=self.lead.pk)


@override_settings(SITE_URL=SITE)
class PasswordResetTests(PersonasTestCase):
    def test_the_sign_in_page_offers_a_reset_by_email_with_an_absolute_link(self) -> None:
        self.assertContains(self.client.get(reverse("login")), reverse("password-reset"))
        response = self.client.post(reverse("password-reset"), {"email": "rep.a@acme.test"})
        self.assertRedirects(response, reverse("password-reset-done"))
        link = _link(mail.outbox[0].body)
        self.assertTrue(link.startswith(f"{SITE}/password-reset/"), link)
        form = self.client.get(link.removeprefix(SITE), follow=True)
        self.client.post(
            form.redirect_chain[-1][0], {"new_password1": STRONG, "new_password2": STRONG}
        )
        self.assertTrue(User.objects.get(pk=self.rep_a.pk).check_password(STRONG))

    def test_an_unknown_address_gets_the_same_answer_and_no_email(self) -> None:
        response = self.client.post(reverse("password-reset"), {"email": "nobody@acme.test"})
        self.assertRedirects(response, reverse("password-reset-done"))
        self.assertEqual(mail.outbox, [])


class PeopleApiTests(PersonasTestCase):
    def call(self, user: User, method: str, path: str, body: Any = None) -> Any:
        self.client.force_login(user)
        with self.captureOnCommitCallbacks(execute=True):
            return self.client.generic(
                method,
                f"/api/v1/workspaces/{path}",
                data=json.dumps(body) if body is not None else "",
                content_type="application/json",
            )

    def test_a_leader_invites_changes_a_role_and_deactivates(self) -> None:
        created = self.call(
            self.leader,
            "POST",
            "acme/people",
            {"email": "li@acme.test", "role": "rep", "team_id": self.team_b.pk},
        )
        self.assertEqual(created.status_code, 201, created.content)
        person = created.json()
        self.assertEqual((person["team"], person["invited"]), ("B", True))
        self.assertEqual(len(mail.outbox), 1)
        changed = self.call(
            self.leader, "PATCH", f"acme/people/{person['id']}", {"role": "manager"}
        )
        self.assertEqual(changed.json()["role"], "manager")
        gone = self.call(self.leader, "POST", f"acme/people/{person['id']}/deactivate")
        self.assertFalse(gone.json()["active"])

    def test_who_may_read_and_change_people(self) -> None:
        self.assertEqual(self.call(self.rep_a, "GET", "acme/people").status_code, 200)
        self.assertEqual(self.call(self.partner, "GET", "acme/people").status_code, 403)
        self.assertEqual(self.call(self.outsider, "GET", "acme/people").status_code, 404)
        body = {"email": "x@acme.test", "role": "rep"}
        for user in (self.manager_a, self.rep_a, self.partner):
            with self.subTest(user=user):
                self.assertEqual(self.call(user, "POST", "acme/people", body).status_code, 403)
        other = self.outsider.memberships.get()
        self.assertEqual(
            self.call(self.leader, "PATCH", f"acme/people/{other.pk}", {"role": "rep"}).status_code,
            404,
        )

    def test_teams_through_the_api(self) -> None:
        made = self.call(self.leader, "POST", "acme/teams", {"name": "C"})
        self.assertEqual(made.status_code, 201)
        manager = Membership.objects.get(user=self.manager_b)
        patched = self.call(
            self.leader,
            "PATCH",
            f"acme/teams/{made.json()['id']}",
            {"name": "Channel", "manager_id": manager.pk},
        )
        self.assertEqual(
            patched.json(),
            {
                "id": made.json()["id"],
                "name": "Channel",
                "manager_id": manager.pk,
                "manager": self.manager_b.display_name,
            },
        )
        self.assertEqual(
            self.call(self.manager_a, "POST", "acme/teams", {"name": "D"}).status_code, 403
        )
        self.assertEqual(
            self.call(self.leader, "POST", "acme/teams", {"name": "channel"}).status_code, 409
        )


@override_settings(SITE_URL=SITE)
class InviteImportOwnersTests(PersonasTestCase):
    def test_the_owners_an_import_did_not_know_are_invited_with_the_exports_emails(self) -> None:
        run = ImportRun.objects.create(
            workspace=self.workspace, kind="csv", status=RunStatus.DONE, via="cli",
            summary={
                "unknown_owners": {"Dana Whit": 12, "lee@acme.test": 3},
                "unknown_owner_emails": {"Dana Whit": "dana@acme.test"},
            },
        )  # fmt: skip
        url = reverse("imports:detail", kwargs={"slug": "acme", "pk": run.pk})
        self.client.force_login(self.leader)
        page = self.client.get(url)
        self.assertContains(page, "Invite these 2 owners")
        self.assertContains(page, 'value="dana@acme.test"')
        self.assertContains(page, 'value="lee@acme.test"')
        post = reverse("imports:invite-owners", kwargs={"slug": "acme", "pk": run.pk})
        with self.captureOnCommitCallbacks(execute=True):
            response = self.client.post(post, {
                "invite": ["0", "1"], "name-0": "Dana Whit", "email-0": "dana@acme.test",
                "role-0": "rep", "team-0": str(self.team_a.pk), "name-1": "",
                "email-1": "lee@acme.test", "role-1": "manager", "team-1": "",
            })  # fmt: skip
        self.assertRedirects(response, url, fetch_redirect_response=False)
        dana = Membership.objects.get(user__email="dana@acme.test")
        self.assertEqual((dana.user.name, dana.role, dana.team), ("Dana Whit", "rep", self.team_a))
        self.assertEqual(Membership.objects.get(user__email="lee@acme.test").role, "manager")
        self.assertEqual(sorted(m.to[0] for m in mail.outbox), ["dana@acme.test", "lee@acme.test"])

    def test_a_manager_may_not(self) -> None:
        run = ImportRun.objects.create(
            workspace=self.workspace, kind="csv", status=RunStatus.DONE,
            summary={"unknown_owners": {"Dana": 1},
                     "unknown_owner_emails": {"Dana": "d@acme.test"}},
        )  # fmt: skip
        self.client.force_login(self.manager_a)
        post = reverse("imports:invite-owners", kwargs={"slug": "acme", "pk": run.pk})
        self.assertEqual(
            self.client.post(post, {"invite": ["0"], "email-0": "d@acme.test"}).status_code, 403
        )
        self.assertFalse(User.objects.filter(email="d@acme.test").exists())
