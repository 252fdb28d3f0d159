"""Storing flags and dismissals, the question bank, deal notes and training progress."""

from __future__ import annotations

from unstuck.core.errors import NotAllowed, UnstuckError
from unstuck.core.models import Membership
from unstuck.core.testing import PersonasTestCase
from unstuck.deals.models import Activity, ActivityKind, Direction
from unstuck.thinking import selectors, services
from unstuck.thinking.models import BiasFlag, FlagStatus, PerspectiveQuestion, QuizAnswer
from unstuck.thinking.question_bank import DEFAULT_QUESTIONS

DENVER = "Flopped in Denver, it will flop in Dallas."
SOUND = "Sent the revised proposal to procurement on Tuesday."


class FlagServiceTests(PersonasTestCase):
    def test_text_check_stores_each_flag_with_what_it_was_about(self) -> None:
        flags = services.text_check(
            workspace=self.workspace,
            author=self.rep_a,
            text=DENVER,
            deal=self.deal_a,
            context="deal_note",
        )
        self.assertEqual([f.bias for f in flags], ["exportability"])
        stored = BiasFlag.objects.get()
        self.assertEqual(stored.deal, self.deal_a)
        self.assertEqual(stored.context, "deal_note")
        self.assertEqual(stored.author, self.rep_a)
        self.assertEqual(stored.status, FlagStatus.OPEN)
        self.assertTrue(stored.questions)
        self.assertIn("Denver", stored.evidence)

    def test_sound_text_stores_nothing(self) -> None:
        self.assertEqual(
            services.text_check(workspace=self.workspace, author=self.rep_a, text=SOUND), []
        )
        self.assertFalse(BiasFlag.objects.exists())

    def test_checking_a_draft_stores_nothing(self) -> None:
        for text in (DENVER, DENVER + " Really.", DENVER):
            shown = services.text_preview(
                workspace=self.workspace, author=self.rep_a, text=text, draft_key="draft-one"
            )
            self.assertEqual([f.bias for f in shown], ["exportability"])
        self.assertFalse(BiasFlag.objects.exists())

    def test_a_note_written_out_before_saving_is_stored_as_rewritten_with_the_saved_text(
        self,
    ) -> None:
        services.text_preview(
            workspace=self.workspace, author=self.rep_a, text=DENVER, draft_key="draft-1b"
        )
        saved = "Denver stalled without an admin; Dallas has two, so let's test it there."
        note = services.deal_note_add(
            membership=self.membership_of(self.rep_a),
            deal=self.deal_a,
            summary=saved,
            draft_key="draft-1b",
        )
        flag = BiasFlag.objects.get()
        self.assertEqual(flag.status, FlagStatus.REVISED)
        self.assertEqual(flag.text, saved)
        self.assertEqual(flag.subject, note)
        # The draft is forgotten once saved: the same key saves the next text afresh.
        services.deal_note_add(
            membership=self.membership_of(self.rep_a),
            deal=self.deal_a,
            summary=saved,
            draft_key="draft-1b",
        )
        self.assertEqual(BiasFlag.objects.count(), 1)

    def test_dismissing_needs_a_reason_and_keeps_it(self) -> None:
        (flag,) = services.text_check(workspace=self.workspace, author=self.rep_a, text=DENVER)
        with self.assertRaises(UnstuckError):
            services.flag_dismiss(membership=self.membership_of(self.rep_a), flag=flag, reason="  ")
        services.flag_dismiss(
            membership=self.membership_of(self.rep_a), flag=flag, reason="Same buyer, same budget"
        )
        flag.refresh_from_db()
        self.assertEqual(flag.status, FlagStatus.DISMISSED)
        self.assertEqual(flag.dismiss_reason, "Same buyer, same budget")
        self.assertEqual(flag.dismissed_by, self.rep_a)

    def test_a_note_set_aside_while_typing_is_stored_dismissed_with_its_reason(self) -> None:
        services.text_preview(
            workspace=self.workspace, author=self.rep_a, text=DENVER, draft_key="draft-two"
        )
        services.draft_flag_dismiss(
            workspace=self.workspace,
            author=self.rep_a,
            draft_key="draft-two",
            bias="exportability",
            reason="Checked",
        )
        (shown,) = services.text_preview(
            workspace=self.workspace,
            author=self.rep_a,
            text=DENVER + " Yes.",
            draft_key="draft-two",
        )
        self.assertEqual(shown.status, FlagStatus.DISMISSED)
        self.assertFalse(BiasFlag.objects.exists())
        note = services.deal_note_add(
            membership=self.membership_of(self.rep_a),
            deal=self.deal_a,
            summary=DENVER,
            draft_key="draft-two",
        )
        flag = BiasFlag.objects.get()
        self.assertEqual(
            (flag.status, flag.dismiss_reason, flag.subject),
            (FlagStatus.DISMISSED, "Checked", note),
        )

    def test_only_the_writer_of_a_draft_sets_its_note_aside(self) -> None:
        services.text_preview(
            workspace=self.workspace, author=self.rep_a, text=DENVER, draft_key="draft-own"
        )
        with self.assertRaises(UnstuckError):
            services.draft_flag_dismiss(
                workspace=self.workspace,
                author=self.rep_a2,
                draft_key="draft-own",
                bias="exportability",
                reason="Not mine",
            )

    def test_deal_note_stores_the_saved_texts_flags_tied_to_it(self) -> None:
        services.text_preview(
            workspace=self.workspace, author=self.rep_a, text=DENVER, draft_key="draft-3"
        )
        note = services.deal_note_add(
            membership=self.membership_of(self.rep_a),
            deal=self.deal_a,
            summary=DENVER,
            draft_key="draft-3",
        )
        self.assertEqual(note.kind, ActivityKind.NOTE)
        self.assertEqual(note.direction, Direction.INTERNAL)
        flag = BiasFlag.objects.get()
        self.assertEqual((flag.subject, flag.status, flag.text), (note, FlagStatus.OPEN, DENVER))
        self.assertEqual(Activity.objects.filter(deal=self.deal_a).count(), 1)

    def test_deal_note_without_the_live_check_is_still_checked(self) -> None:
        note = services.deal_note_add(
            membership=self.membership_of(self.rep_a), deal=self.deal_a, summary=DENVER
        )
        self.assertEqual(BiasFlag.objects.get().subject, note)

    def test_text_check_refuses_a_deal_of_another_workspace(self) -> None:
        with self.assertRaises(UnstuckError):
            services.text_check(
                workspace=self.workspace, author=self.rep_a, text=DENVER, deal=self.other_deal
            )


class QuestionBankTests(PersonasTestCase):
    def test_a_workspace_gets_the_default_bank_once(self) -> None:
        # workspace_create seeded it; seeding again adds nothing.
        bank = PerspectiveQuestion.objects.filter(workspace=self.workspace)
        self.assertEqual(bank.count(), len(DEFAULT_QUESTIONS))
        self.assertEqual(services.question_bank_ensure(workspace=self.workspace), 0)

    def test_leaders_add_and_archive_questions_and_the_detector_serves_them(self) -> None:
        leader = Membership.objects.get(user=self.leader, workspace=self.workspace)
        question = services.question_add(
            membership=leader,
            text="What would our biggest reference customer say about this?",
            perspective="opening",
            biases=["exportability"],
            situations=["rejecting", "diagnosing"],
        )
        served = selectors.questions_for(workspace=self.workspace, bias="exportability")
        self.assertIn(question, served)
        services.question_update(membership=leader, question=question, is_active=False)
        served = selectors.questions_for(workspace=self.workspace, bias="exportability")
        self.assertNotIn(question, served)
        # The archive is kept; the bank is not re-seeded over the leader's edits.
        self.assertEqual(services.question_bank_ensure(workspace=self.workspace), 0)

    def test_managers_may_not_edit_the_bank(self) -> None:
        manager = Membership.objects.get(user=self.manager_a, workspace=self.workspace)
        with self.assertRaises(NotAllowed):
            services.question_add(
                membership=manager, text="Why?", perspective="opening", biases=["legacy"]
            )

    def test_a_question_needs_known_tags(self) -> None:
        leader = Membership.objects.get(user=self.leader, workspace=self.workspace)
        with self.assertRaises(UnstuckError):
            services.question_add(
                membership=leader, text="Why?", perspective="opening", biases=["optimism"]
            )
        with self.assertRaises(UnstuckError):
            services.question_add(membership=leader, text="Why?", perspective="opening", biases=[])

    def test_questions_for_prefers_the_situation_and_varies_perspective(self) -> None:
        services.question_bank_ensure(workspace=self.workspace)
        chosen = selectors.questions_for(
            workspace=self.workspace, bias="first_conclusion", situation="diagnosing", limit=3
        )
        self.assertEqual(len(chosen), 3)
        self.assertEqual(chosen[0].perspective, "opening")
        self.assertEqual(len({q.perspective for q in chosen}), 3)
        self.assertTrue(all("first_conclusion" in q.biases for q in chosen))
        # Without a workspace: the built-in bank, for the sessions and the CLI.
        builtin = selectors.questions_for(bias="legacy", limit=2)
        self.assertEqual(len(builtin), 2)
        self.assertFalse(
            PerspectiveQuestion.objects.filter(pk__in=[q.pk for q in builtin if q.pk]).exists()
        )


class TrainingTests(PersonasTestCase):
    def test_progress_counts_lessons_and_each_items_latest_answer(self) -> None:
        services.lesson_complete(workspace=self.workspace, user=self.manager_a, bias="legacy")
        services.lesson_complete(workspace=self.workspace, user=self.manager_a, bias="legacy")
        services.quiz_answer(
            workspace=self.workspace, user=self.manager_a, item_key="q-legacy-1", chosen="personal"
        )
        services.quiz_answer(
            workspace=self.workspace, user=self.manager_a, item_key="q-legacy-1", chosen="legacy"
        )
        progress = selectors.training_progress(workspace=self.workspace, user=self.manager_a)
        self.assertEqual(progress.lessons_done, 1)
        self.assertEqual((progress.answered, progress.correct), (1, 1))
        legacy = next(b for b in progress.per_bias if b.bias == "legacy")
        self.assertTrue(legacy.lesson_done)
        self.assertEqual(legacy.correct, 1)
        self.assertEqual(QuizAnswer.objects.count(), 2)  # every attempt is kept

    def test_a_wrong_answer_is_recorded_as_wrong(self) -> None:
        answer = services.quiz_answer(
            workspace=self.workspace,
            user=self.manager_a,
            item_key="q-first-2",
            chosen="first_conclusion",
        )
        self.assertFalse(answer.is_correct)
        self.assertEqual(answer.expected, "none")

    def test_unknown_items_and_choices_are_refused(self) -> None:
        with self.assertRaises(UnstuckError):
            services.quiz_answer(
                workspace=self.workspace, user=self.manager_a, item_key="q-x", chosen="none"
            )
        with self.assertRaises(UnstuckError):
            services.quiz_answer(
                workspace=self.workspace, user=self.manager_a, item_key="q-legacy-1", chosen="greed"
            )

    def test_the_next_quiz_item_skips_those_answered_right(self) -> None:
        first = selectors.quiz_next_item(workspace=self.workspace, user=self.manager_a)
        assert first is not None
        from unstuck.thinking.training import QUIZ_BY_KEY

        services.quiz_answer(
            workspace=self.workspace,
            user=self.manager_a,
            item_key=first,
            chosen=QUIZ_BY_KEY[first].answer,
        )
        self.assertNotEqual(
            selectors.quiz_next_item(workspace=self.workspace, user=self.manager_a), first
        )

    def test_a_leader_sees_every_managers_progress_a_manager_only_their_own(self) -> None:
        leader = Membership.objects.get(user=self.leader, workspace=self.workspace)
        manager = Membership.objects.get(user=self.manager_a, workspace=self.workspace)
        self.assertEqual(
            {p.user for p in selectors.team_training_progress(leader)},
            {self.manager_a, self.manager_b},
        )
        self.assertEqual(
            [p.user for p in selectors.team_training_progress(manager)], [self.manager_a]
        )


class ServicesRefuseTheWrongRoleTests(PersonasTestCase):
    """The services check who may act themselves, whatever called them."""

    def test_only_who_may_change_the_deal_adds_a_note_to_it(self) -> None:
        for user in (self.partner, self.rep_a):  # partner reads deal_b; rep_a is another team
            with self.subTest(user=user.email), self.assertRaises(NotAllowed):
                services.deal_note_add(
                    membership=self.membership_of(user), deal=self.deal_b, summary=DENVER
                )
        self.assertFalse(Activity.objects.filter(deal=self.deal_b, kind=ActivityKind.NOTE))
        self.assertFalse(BiasFlag.objects.exists())
        services.deal_note_add(
            membership=self.membership_of(self.rep_b), deal=self.deal_b, summary=DENVER
        )
        self.assertEqual(BiasFlag.objects.get().author, self.rep_b)

    def test_only_the_writer_their_manager_or_a_leader_dismisses_a_flag(self) -> None:
        (flag,) = services.text_check(
            workspace=self.workspace, author=self.rep_b, text=DENVER, deal=self.deal_b
        )
        # Another rep, the partner who reads the deal, the manager of another team: refused.
        for user in (self.rep_a, self.partner, self.manager_a):
            with self.subTest(user=user.email), self.assertRaises(NotAllowed):
                services.flag_dismiss(
                    membership=self.membership_of(user), flag=flag, reason="Not so"
                )
        flag.refresh_from_db()
        self.assertEqual(flag.status, FlagStatus.OPEN)
        services.flag_dismiss(
            membership=self.membership_of(self.manager_b), flag=flag, reason="Same buyer"
        )
        flag.refresh_from_db()
        self.assertEqual((flag.status, flag.dismissed_by), (FlagStatus.DISMISSED, self.manager_b))

    def test_only_who_may_change_the_deal_attaches_a_flag_to_it(self) -> None:
        # The partner only reads deal_b (invited); rep_a works in another team. A flag there
        # would show in deal_b's managers' lists.
        for user in (self.partner, self.rep_a):
            with self.subTest(user=user.email), self.assertRaises(NotAllowed):
                services.text_flag(
                    membership=self.membership_of(user), text=DENVER, deal=self.deal_b
                )
        self.assertFalse(BiasFlag.objects.exists())
        # Without a deal anyone may keep their own text's flags; the deal's rep may attach.
        services.text_flag(membership=self.membership_of(self.partner), text=DENVER)
        services.text_flag(membership=self.membership_of(self.rep_b), text=DENVER, deal=self.deal_b)
        self.assertEqual(
            set(BiasFlag.objects.values_list("author_id", "deal_id")),
            {(self.partner.pk, None), (self.rep_b.pk, self.deal_b.pk)},
        )

    def test_checking_without_storing_refuses_an_over_long_text(self) -> None:
        with self.assertRaises(UnstuckError) as refused:
            services.text_detect("x" * (services.MAX_TEXT + 1))
        self.assertEqual(refused.exception.field, "text")
        self.assertEqual([f.bias for f in services.text_detect(DENVER)], ["exportability"])
        self.assertFalse(BiasFlag.objects.exists())
