"""The detector as a pure function, and the `unstuck bias` command's contract."""

from __future__ import annotations

import io
import json
from unittest import mock

import numpy as np
from django.core.management import call_command
from django.test import SimpleTestCase

from unstuck.thinking.biases import BIAS_KEYS
from unstuck.thinking.detector import core, cues, detect, detect_many, encoder, predict_label
from unstuck.thinking.detector.features import embedding_model
from unstuck.thinking.question_bank import DEFAULT_QUESTIONS

DENVER = "Flopped in Denver, it will flop in Dallas."
SOUND = (
    "We tried a pilot there; adoption stalled at 20%, so let's find out what differed "
    "before deciding."
)


class DetectorTests(SimpleTestCase):
    def test_it_flags_exportability_with_evidence_explanation_and_questions(self) -> None:
        flags = detect(DENVER)
        self.assertEqual([f.bias for f in flags], ["exportability"])
        flag = flags[0]
        self.assertIn("Denver", flag.evidence)
        self.assertTrue(0.5 <= flag.confidence <= 1.0)
        self.assertIn("failed somewhere else", flag.explanation)
        self.assertTrue(1 <= len(flag.questions) <= 3)
        bank = {q.text for q in DEFAULT_QUESTIONS}
        self.assertTrue(set(flag.questions) <= bank)

    def test_it_stays_quiet_on_sound_reasoning_that_mentions_the_past(self) -> None:
        self.assertEqual(detect(SOUND), [])

    def test_it_stays_quiet_on_plain_notes_and_empty_text(self) -> None:
        self.assertEqual(detect("Sent the revised proposal to procurement on Tuesday."), [])
        self.assertEqual(detect(""), [])
        self.assertEqual(detect("   "), [])

    def test_it_recognises_each_bias_in_a_plain_example(self) -> None:
        examples = {
            "practicality": "Paying on outcomes is a nice theory but totally unrealistic. Drop it.",
            "confirmation": "They stopped replying after the demo but I'm sure they're still keen.",
            "legacy": "We've always sold three-year terms; no reason to change for this one.",
            "first_conclusion": "It's obviously the price. No need to dig any further.",
            "personal": "I'd never pay for a premium tier myself, so they won't either.",
        }
        for bias, text in examples.items():
            with self.subTest(bias=bias):
                self.assertEqual(predict_label(detect(text)), bias)

    def test_batch_keeps_order_and_matches_single_calls(self) -> None:
        texts = [SOUND, DENVER, "", DENVER]
        batched = detect_many(texts)
        self.assertEqual(
            [predict_label(f) for f in batched], ["none", "exportability", "none", "exportability"]
        )
        self.assertEqual(batched[1], detect(DENVER))

    def test_the_model_is_loaded_once_per_process(self) -> None:
        self.assertIs(embedding_model(), embedding_model())

    def test_evidence_of_a_long_text_is_the_sentence_with_the_cue(self) -> None:
        # Evidence is chosen from the cues, whatever the score; the score decides elsewhere.
        text = (
            "Met the ops team on Monday and walked through the rollout plan in detail. "
            "The discount structure backfired with the credit union, so it will backfire "
            "with this one too. Next call is on Friday."
        )
        hits = cues.anchor_hits(text)["exportability"]
        evidence = core._evidence_with_neighbour(text, core._strongest_hit(text, hits))
        self.assertIn("backfired", evidence)
        self.assertNotIn("Friday", evidence)
        self.assertNotIn("Monday", evidence)

    def test_a_long_text_is_also_read_a_sentence_and_its_follow_up_at_a_time(self) -> None:
        text = (
            "Kickoff went fine.\nWe've always done annual.  I asked if they'd want monthly. "
            "Sent notes."
        )
        units = core.reading_units(text)
        self.assertEqual(units[0], cues.normalise(text))
        self.assertEqual(
            units[1:],
            [
                "Kickoff went fine. We've always done annual.",
                "We've always done annual. I asked if they'd want monthly.",
                "I asked if they'd want monthly. Sent notes.",
                "Sent notes.",
            ],
        )
        # Short texts, where a move and its follow-up make the whole, are read whole.
        self.assertEqual(
            core.reading_units("We've always done annual. I asked why."),
            ["We've always done annual. I asked why."],
        )

    def test_one_biased_sentence_in_a_long_note_is_flagged_with_that_sentence(self) -> None:
        text = (
            "Met the ops team on Monday and walked through the rollout plan. "
            "They asked for the security pack and the reference list. "
            "Flopped in Denver, it will flop in Dallas. "
            "Next call is on Friday with their procurement lead. "
            "I will send the revised timeline before then."
        )
        for quick in (True, False):
            if not core.classifier().heads["quick" if quick else "full"].reads_windows:
                continue
            with self.subTest(quick=quick):
                flags = detect(text, quick=quick)
                self.assertEqual(predict_label(flags), "exportability")
                self.assertIn("Denver", flags[0].evidence)
                self.assertNotIn("Monday", flags[0].evidence)
        # Read whole, the same text goes unflagged: the one sentence is drowned by the rest.
        self.assertEqual(detect_many([" ".join(text.split(". "))], quick=True)[0] or [], [])

    def test_the_quick_head_reads_without_the_transformer(self) -> None:
        # The live note asks on every pause in typing: it must not pay for MiniLM.
        with mock.patch.object(encoder, "minilm", side_effect=AssertionError("MiniLM loaded")):
            flags = detect(DENVER, quick=True)
            self.assertEqual(detect(SOUND, quick=True), [])
        self.assertEqual([f.bias for f in flags], ["exportability"])

    def test_the_full_head_reads_with_the_transformer(self) -> None:
        with mock.patch.object(encoder, "minilm", wraps=encoder.minilm) as loaded:
            detect("We've always sold three-year terms; no reason to change for this one.")
        self.assertTrue(loaded.called)

    def test_minilm_embeddings_are_unit_vectors_that_follow_meaning(self) -> None:
        vectors = encoder.minilm().encode(
            [
                "The deal is stuck because of the price.",
                "Pricing is what is blocking this contract.",
                "The office is closed on Monday for the holiday.",
            ]
        )
        self.assertEqual(vectors.shape, (3, encoder.DIMENSIONS))
        for norm in (vectors**2).sum(axis=1):
            self.assertAlmostEqual(float(norm), 1.0, places=4)
        self.assertGreater(vectors[0] @ vectors[1], vectors[0] @ vectors[2] + 0.3)

    def test_a_class_learnt_apart_from_none_counts_as_none(self) -> None:
        # The shipped heads learn sound reasoning on a bias's surface as a row of its own,
        # after none's: its probability is none's, so a text it claims is not flagged.
        classes = len(BIAS_KEYS) + 1
        weights = np.zeros((classes + 1, 2), dtype=np.float32)
        weights[-1] = [5.0, 0.0]  # the extra row wins on the first feature
        probs = core.probabilities(
            np.array([[1.0, 0.0], [0.0, 1.0]], dtype=np.float32),
            weights,
            np.zeros(classes + 1, dtype=np.float32),
        )
        self.assertEqual(probs.shape, (2, classes))
        np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-6)
        self.assertGreater(probs[0, -1], 0.9)
        self.assertAlmostEqual(float(probs[1, -1]), 2 / (classes + 1), places=5)
        saved = core.classifier()
        for name, head in saved.heads.items():
            with self.subTest(head=name):
                self.assertEqual(head.weights.shape[0], len(saved.classes) + 1)

    def test_every_bias_has_questions(self) -> None:
        from unstuck.thinking.question_bank import default_questions_for

        for bias in BIAS_KEYS:
            self.assertGreaterEqual(len(default_questions_for(bias)), 2, bias)


class BiasCommandTests(SimpleTestCase):
    def scan(self, stdin: str) -> list[dict[str, object]]:
        out = io.StringIO()
        with (
            mock.patch("sys.stdin", io.StringIO(stdin)),
            mock.patch("sys.stdout", out),
        ):
            call_command("bias", "scan", stderr=io.StringIO())
        return [json.loads(line) for line in out.getvalue().splitlines()]

    def test_scan_writes_one_line_per_input_in_order(self) -> None:
        stdin = (
            json.dumps({"id": 1, "text": DENVER})
            + "\n"
            + json.dumps({"id": "b", "text": SOUND})
            + "\n"
        )
        lines = self.scan(stdin)
        self.assertEqual([line["id"] for line in lines], [1, "b"])
        first = lines[0]["biases"]
        assert isinstance(first, list)
        self.assertEqual(first[0]["bias"], "exportability")
        self.assertEqual(
            set(first[0]), {"bias", "confidence", "evidence", "explanation", "questions"}
        )
        self.assertEqual(lines[1]["biases"], [])

    def test_scan_reports_bad_lines_by_number_and_goes_on(self) -> None:
        stdin = "\n".join(
            [
                json.dumps({"id": 1, "text": DENVER}),
                "{not json",
                json.dumps({"id": 3}),
                json.dumps([1, 2]),
                json.dumps({"id": 5, "text": 7}),
                json.dumps({"id": 6, "text": SOUND}),
            ]
        )
        lines = self.scan(stdin)
        self.assertEqual(len(lines), 6)
        self.assertEqual(lines[0]["id"], 1)
        for number, line in zip([2, 3, 4, 5], lines[1:5], strict=True):
            self.assertEqual(line["line"], number)
            self.assertIn(f"line {number}", str(line["error"]))
        self.assertEqual(lines[5], {"id": 6, "biases": []})

    def test_check_explains_for_people(self) -> None:
        out = io.StringIO()
        call_command("bias", "check", DENVER, stdout=out)
        text = out.getvalue()
        self.assertIn("Exportability bias", text)
        self.assertIn("Evidence:", text)
        out = io.StringIO()
        call_command("bias", "check", SOUND, stdout=out)
        self.assertIn("No bias flagged", out.getvalue())
