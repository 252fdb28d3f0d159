"""The corpus and the blind set stay apart, and the long notes' sample is stable."""

from __future__ import annotations

from django.test import SimpleTestCase

from unstuck.thinking.dataset import load_blind, load_statements
from unstuck.thinking.detector import cues, fitting


class CorpusTests(SimpleTestCase):
    def test_no_blind_statement_is_in_the_corpus(self) -> None:
        # Compared as the detector reads them (normalised), never printed: the blind set was
        # written without sight of the corpus, and nothing of it may be trained on.
        corpus = {cues.normalise(r.text) for r in load_statements()}
        blind = [cues.normalise(r.text) for r in load_blind()]
        self.assertGreater(len(blind), 300)
        self.assertEqual(sum(text in corpus for text in blind), 0)

    def test_training_reads_only_the_train_split(self) -> None:
        splits = {r.split for r in load_statements()}
        self.assertLessEqual(splits, {"train", "fresh54"})
        self.assertEqual({r.split for r in load_statements("train")}, {"train"})

    def test_a_share_of_long_notes_is_the_same_notes_whatever_else_is_added(self) -> None:
        rows = load_statements("train")
        everything = fitting.long_notes(rows)
        quarter = fitting.long_notes(rows, share=4)
        self.assertTrue(0.2 < len(quarter) / len(everything) < 0.3)
        self.assertLessEqual({n.id for n in quarter}, {n.id for n in everything})
        # Dropping one voice leaves the other voices' sampled notes exactly as they were.
        voice = rows[-1].voice
        fewer = fitting.long_notes([r for r in rows if r.voice != voice], share=4)
        kept = {(n.id, n.text) for n in quarter if n.voice != voice}
        self.assertEqual({(n.id, n.text) for n in fewer}, kept)
