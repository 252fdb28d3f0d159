"""Detect the six biases in short texts people write. Pure Python: no database, no network.

from unstuck.thinking.detector import detect
detect("Flopped in Denver, it will flop in Dallas.")
# [BiasFlag(bias='exportability', confidence=0.9, evidence='Flopped in Denver, …', …)]
"""

from unstuck.thinking.detector.core import BiasFlag, detect, detect_many, predict_label

__all__ = ["BiasFlag", "detect", "detect_many", "predict_label"]
