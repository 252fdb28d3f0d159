"""The deal services check who may act themselves (issue 15.10), whatever called them."""

from __future__ import annotations

from unstuck.core.errors import NotAllowed, UnstuckError
from unstuck.core.testing import PersonasTestCase
from unstuck.deals import services
from unstuck.deals.models import DealPartner


class PartnerInviteServiceTests(PersonasTestCase):
    def test_only_the_deals_manager_or_a_leader_invites_or_removes_a_partner(self) -> None:
        partner = self.membership_of(self.partner)
        # The deal's own rep, a rep and a manager of another team, the partner: refused.
        for user in (self.rep_a, self.rep_b, self.manager_b, self.partner):
            with self.subTest(user=user.email), self.assertRaises(NotAllowed):
                services.deal_invite_partner(
                    deal=self.deal_a, partner=partner, by=self.membership_of(user)
                )
        self.assertFalse(DealPartner.objects.filter(deal=self.deal_a).exists())
        invite = services.deal_invite_partner(
            deal=self.deal_a, partner=partner, by=self.membership_of(self.manager_a)
        )
        self.assertEqual(invite.invited_by, self.manager_a)
        with self.assertRaises(NotAllowed):
            services.deal_uninvite_partner(
                deal=self.deal_a, partner=self.partner, by=self.membership_of(self.rep_a)
            )
        self.assertTrue(DealPartner.objects.filter(deal=self.deal_a).exists())
        services.deal_uninvite_partner(
            deal=self.deal_a, partner=self.partner, by=self.membership_of(self.leader)
        )
        self.assertFalse(DealPartner.objects.filter(deal=self.deal_a).exists())

    def test_only_partners_are_invited_to_single_deals(self) -> None:
        with self.assertRaises(UnstuckError) as refused:
            services.deal_invite_partner(
                deal=self.deal_a,
                partner=self.membership_of(self.rep_b),
                by=self.membership_of(self.manager_a),
            )
        self.assertEqual(refused.exception.status_code, 400)
