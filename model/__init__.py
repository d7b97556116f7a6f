"""The digit recognizer's core: networks, canvas-to-MNIST preprocessing, weights, prediction.

It stands on its own: nothing here imports the app, the views or training/ (tests/test_layout.py).
The README's layout table lists its modules.
"""

from model.classifier import BLANK, Classifier, Prediction, load_classifier
from model.weights import WeightsError

__all__ = ["BLANK", "Classifier", "Prediction", "WeightsError", "load_classifier"]
