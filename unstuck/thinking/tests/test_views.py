"""The gentle note, the deal-page note card, flags, questions and training through the web,
including who is refused."""

from __future__ import annotations

from typing import Any

from django.urls import reverse

from unstuck.core.testing import PersonasTestCase
from unstuck.deals.models import Activity
from unstuck.thinking import services
from unstuck.thinking.biases import BIAS_KEYS
from unstuck.thinking.models import BiasFlag, FlagStatus, LessonCompletion, PerspectiveQuestion
from unstuck.thinking.training import QUIZ, QUIZ_BY_KEY, quiz_order, quiz_token

DENVER = "Flopped in Denver, it will flop in Dallas."
HTMX = {"HX-Request": "true"}


class GentleNoteTests(PersonasTestCase):
    def check(self, text: str, **extra: object) -> Any:
        data: dict[str, object] = {
            "field": "summary",
            "summary": text,
            "context": "deal_note",
            "draft_key": "abcdefgh12",
        }
        data.update(extra)
        return self.client.post(
            reverse("thinking:check", kwargs={"slug": "acme"}), data, headers=HTMX
        )

    def test_the_note_shows_the_flag_its_evidence_and_questions_and_stores_nothing(self) -> None:
        self.sign_in(self.rep_a)
        for text in (DENVER, DENVER + " Sure.", DENVER + " Sure, sure."):
            response = self.check(text, deal=self.deal_a.pk)
        self.assertContains(response, "Exportability bias?")
        self.assertContains(response, "Flopped in Denver")
        self.assertContains(response, "Worth asking")
        # A draft is never a flag: the patterns count saved text only.
        self.assertFalse(BiasFlag.objects.exists())

    def test_the_note_is_empty_for_sound_text(self) -> None:
        self.sign_in(self.rep_a)
        response = self.check("Champion confirmed the board meets on March 3rd.")
        self.assertEqual(response.status_code, 200)
        self.assertNotContains(response, "gentle-flag")

    def test_outsiders_get_404_and_unseen_deals_too(self) -> None:
        self.sign_in(self.outsider)
        self.assertEqual(self.check(DENVER).status_code, 404)
        self.sign_in(self.rep_b)
        self.assertEqual(self.check(DENVER, deal=self.deal_a.pk).status_code, 404)
        self.assertFalse(BiasFlag.objects.exists())

    def test_the_writer_sets_a_drafts_note_aside_and_the_save_keeps_the_reason(self) -> None:
        self.sign_in(self.rep_a)
        self.check(DENVER)
        url = reverse("thinking:check-dismiss", kwargs={"slug": "acme"})
        data = {"draft_key": "abcdefgh12", "bias": "exportability"}
        response = self.client.post(url, {**data, "reason": ""}, headers=HTMX)
        self.assertEqual(response.status_code, 400)
        response = self.client.post(
            url, {**data, "reason": "Same buyer profile, we checked"}, headers=HTMX
        )
        self.assertContains(response, "Set aside")
        # Still set aside while the draft is edited, and still nothing stored.
        self.assertContains(self.check(DENVER + " Sure."), "Same buyer profile")
        self.assertFalse(BiasFlag.objects.exists())
        note_url = reverse("thinking:deal-note", kwargs={"slug": "acme", "pk": self.deal_a.pk})
        self.client.post(note_url, {"summary": DENVER, "draft_key": "abcdefgh12"})
        flag = BiasFlag.objects.get()
        self.assertEqual(flag.status, FlagStatus.DISMISSED)
        self.assertEqual(flag.dismiss_reason, "Same buyer profile, we checked")

    def test_another_person_cannot_set_aside_a_drafts_note(self) -> None:
        self.sign_in(self.rep_a)
        self.check(DENVER)
        url = reverse("thinking:check-dismiss", kwargs={"slug": "acme"})
        data = {"draft_key": "abcdefgh12", "bias": "exportability", "reason": "no"}
        self.sign_in(self.rep_a2)
        self.assertEqual(self.client.post(url, data, headers=HTMX).status_code, 400)
        self.sign_in(self.outsider)
        self.assertEqual(self.client.post(url, data, headers=HTMX).status_code, 404)

    def test_another_rep_cannot_see_or_dismiss_the_flag(self) -> None:
        services.deal_note_add(
            membership=self.membership_of(self.rep_a), deal=self.deal_a, summary=DENVER
        )
        flag = BiasFlag.objects.get()
        url = reverse("thinking:flag-dismiss", kwargs={"slug": "acme", "pk": flag.pk})
        self.sign_in(self.rep_a2)
        self.assertEqual(self.client.post(url, {"reason": "no"}).status_code, 404)
        self.sign_in(self.manager_b)
        self.assertEqual(self.client.post(url, {"reason": "no"}).status_code, 404)
        self.sign_in(self.rep_a)
        response = self.client.post(url, {"reason": ""}, headers=HTMX)
        self.assertEqual(response.status_code, 400)
        self.sign_in(self.manager_a)  # rep_a's manager sees it and may set it aside
        self.assertEqual(self.client.post(url, {"reason": "Discussed with Ann"}).status_code, 302)
        flag.refresh_from_db()
        self.assertEqual(flag.status, FlagStatus.DISMISSED)


class DealNoteCardTests(PersonasTestCase):
    def test_the_deal_page_has_the_note_card_with_the_gentle_note(self) -> None:
        self.sign_in(self.rep_a)
        response = self.client.get(
            reverse("deals:detail", kwargs={"slug": "acme", "pk": self.deal_a.pk})
        )
        self.assertContains(response, "Log a note")
        self.assertContains(response, reverse("thinking:check", kwargs={"slug": "acme"}))

    def test_read_only_viewers_get_no_note_card(self) -> None:
        self.sign_in(self.rep_a2)  # teammate: may read deal_a, not change it
        response = self.client.get(
            reverse("deals:detail", kwargs={"slug": "acme", "pk": self.deal_a.pk})
        )
        self.assertEqual(response.status_code, 200)
        self.assertNotContains(response, "Log a note")

    def test_saving_a_note_logs_an_activity_and_stores_its_flags(self) -> None:
        self.sign_in(self.rep_a)
        self.client.post(
            reverse("thinking:check", kwargs={"slug": "acme"}),
            {"field": "summary", "summary": DENVER, "draft_key": "draftkey123"},
            headers=HTMX,
        )
        url = reverse("thinking:deal-note", kwargs={"slug": "acme", "pk": self.deal_a.pk})
        response = self.client.post(url, {"summary": DENVER, "draft_key": "draftkey123"})
        self.assertRedirects(
            response, reverse("deals:detail", kwargs={"slug": "acme", "pk": self.deal_a.pk})
        )
        note = Activity.objects.get(deal=self.deal_a)
        self.assertEqual(note.summary, DENVER)
        self.assertEqual(BiasFlag.objects.get().subject, note)

    def test_notes_are_refused_on_read_only_and_unseen_deals(self) -> None:
        url = reverse("thinking:deal-note", kwargs={"slug": "acme", "pk": self.deal_a.pk})
        self.sign_in(self.rep_a2)
        self.assertEqual(self.client.post(url, {"summary": "Hi"}).status_code, 403)
        self.sign_in(self.rep_b)
        self.assertEqual(self.client.post(url, {"summary": "Hi"}).status_code, 404)
        self.sign_in(self.partner)
        self.assertEqual(self.client.post(url, {"summary": "Hi"}).status_code, 404)
        self.assertFalse(Activity.objects.exists())


class FlagsPageTests(PersonasTestCase):
    def test_a_manager_sees_the_patterns_of_their_team_only(self) -> None:
        services.text_check(workspace=self.workspace, author=self.rep_a, text=DENVER)
        services.text_check(
            workspace=self.workspace,
            author=self.rep_b,
            text="We've always sold annual contracts. No reason to change now.",
        )
        self.sign_in(self.manager_a)
        response = self.client.get(reverse("thinking:flags", kwargs={"slug": "acme"}))
        recent = list(response.context["recent"])
        self.assertEqual([f.author for f in recent], [self.rep_a])
        exportability = next(p for p in response.context["patterns"] if p.bias == "exportability")
        self.assertEqual(exportability.total, 1)
        self.sign_in(self.leader)
        response = self.client.get(reverse("thinking:flags", kwargs={"slug": "acme"}))
        self.assertEqual(len(response.context["recent"]), 2)


class QuestionPageTests(PersonasTestCase):
    def test_everyone_reads_the_bank_only_leaders_add(self) -> None:
        url = reverse("thinking:questions", kwargs={"slug": "acme"})
        data = {
            "text": "What would their auditors say?",
            "perspective": "it_security",
            "biases": ["practicality"],
            "situations": ["rejecting"],
            "is_active": "on",
        }
        self.sign_in(self.rep_a)
        self.assertContains(self.client.get(url), "What would have to be true for this to work?")
        self.assertEqual(self.client.post(url, data).status_code, 403)
        self.assertEqual(self.client.post(url, {}).status_code, 403)  # whatever is sent
        self.sign_in(self.leader)
        self.assertEqual(self.client.post(url, {**data, "text": ""}).status_code, 400)
        self.assertRedirects(self.client.post(url, data), url)
        self.assertTrue(
            PerspectiveQuestion.objects.filter(text="What would their auditors say?").exists()
        )

    def test_only_leaders_edit_and_archive(self) -> None:
        self.sign_in(self.leader)
        self.client.get(reverse("thinking:questions", kwargs={"slug": "acme"}))
        question = PerspectiveQuestion.objects.filter(workspace=self.workspace).first()
        assert question is not None
        url = reverse("thinking:question-edit", kwargs={"slug": "acme", "pk": question.pk})
        data = {
            "text": question.text,
            "perspective": question.perspective,
            "biases": question.biases,
            "situations": question.situations,
        }
        self.sign_in(self.manager_a)
        self.assertEqual(self.client.post(url, data).status_code, 403)
        self.sign_in(self.outsider)
        self.assertEqual(self.client.get(url).status_code, 404)
        self.sign_in(self.leader)
        self.client.post(url, data)  # "is_active" left unticked: archived
        question.refresh_from_db()
        self.assertFalse(question.is_active)


class TrainingPageTests(PersonasTestCase):
    def test_a_manager_reads_a_lesson_answers_the_quiz_and_sees_progress(self) -> None:
        self.sign_in(self.manager_a)
        lesson = reverse("thinking:lesson", kwargs={"slug": "acme", "bias": "legacy"})
        self.assertContains(self.client.get(lesson), "How to spot it")
        self.client.post(lesson)
        self.assertTrue(
            LessonCompletion.objects.filter(user=self.manager_a, bias="legacy").exists()
        )
        quiz = reverse("thinking:quiz", kwargs={"slug": "acme"})
        token = quiz_token(QUIZ_BY_KEY["q-legacy-1"])
        response = self.client.post(quiz, {"item": token, "chosen": "personal"}, headers=HTMX)
        self.assertContains(response, "Not quite")
        self.assertContains(response, "habit")  # the explanation
        response = self.client.get(reverse("thinking:training", kwargs={"slug": "acme"}))
        self.assertEqual(response.context["progress"].lessons_done, 1)
        self.assertFalse(response.context["team"])  # managers see their own progress only

    def test_the_quiz_page_carries_no_answer_key(self) -> None:
        self.sign_in(self.manager_a)
        quiz = reverse("thinking:quiz", kwargs={"slug": "acme"})
        for _ in range(len(QUIZ)):
            response = self.client.get(quiz)
            item = response.context["item"]
            html = response.content.decode()
            self.assertNotIn(item.key, html)  # "q-legacy-1" names the answer
            self.assertIn(f'name="item" value="{quiz_token(item)}"', html)
            # The server checks the answer it was given against its own key.
            result = self.client.post(quiz, {"item": quiz_token(item), "chosen": item.answer})
            self.assertContains(result, "Right")
            self.assertNotIn(item.key, result.content.decode())
        self.assertEqual(
            self.client.post(quiz, {"item": "q-legacy-1", "chosen": "legacy"}).status_code, 400
        )

    def test_each_person_gets_their_own_order_of_statements_and_choices(self) -> None:
        quiz = reverse("thinking:quiz", kwargs={"slug": "acme"})
        orders, choices = {}, {}
        for who in (self.manager_a, self.manager_b, self.rep_a, self.leader):
            self.sign_in(who)
            orders[who.pk] = tuple(
                i.key for i in quiz_order(workspace_id=self.workspace.pk, user_id=who.pk)
            )
            response = self.client.get(quiz)
            self.assertEqual(response.context["item"].key, orders[who.pk][0])
            choices[who.pk] = tuple(k for k, _ in response.context["choices"])
            self.assertEqual(choices[who.pk][-1], "none")
            self.assertEqual(sorted(choices[who.pk]), sorted([*BIAS_KEYS, "none"]))
        self.assertGreater(len(set(orders.values())), 1)
        self.assertGreater(len({c[:-1] for c in choices.values()}), 1)
        self.assertTrue(any(o != tuple(i.key for i in QUIZ) for o in orders.values()))

    def test_a_leader_sees_each_managers_progress(self) -> None:
        services.lesson_complete(workspace=self.workspace, user=self.manager_a, bias="personal")
        self.sign_in(self.leader)
        response = self.client.get(reverse("thinking:training", kwargs={"slug": "acme"}))
        self.assertContains(response, "Managers' progress")
        by_user = {p.user: p for p in response.context["team"]}
        self.assertEqual(by_user[self.manager_a].lessons_done, 1)
        self.assertEqual(by_user[self.manager_b].lessons_done, 0)

    def test_unknown_lessons_404_and_outsiders_are_kept_out(self) -> None:
        self.sign_in(self.manager_a)
        self.assertEqual(
            self.client.get(
                reverse("thinking:lesson", kwargs={"slug": "acme", "bias": "greed"})
            ).status_code,
            404,
        )
        self.sign_in(self.outsider)
        self.assertEqual(
            self.client.get(reverse("thinking:training", kwargs={"slug": "acme"})).status_code, 404
        )
