"""The digit recognizer's core: networks, canvas-to-MNIST preprocessing, weights, prediction.

    registry.py    every network, named once: title, weights file, "not sure" threshold, code
    networks.py    the torch architectures (CNN, MLP)
    numpy_net.py   the two-layer network written from scratch in numpy
    preprocess.py  any picture of a digit -> the 28x28 MNIST-style input
    weights.py     weight files with metadata: atomic save, safe load
    classifier.py  load_classifier() and Prediction: picture in, probabilities out
    canvas.py      the app's canvas and brush, and drawing pen strokes onto it
    live.py        the network every user reads with, swapped for all at once, persisted
    finetune.py    teaching the live CNN a class's handwriting, with MNIST replay
    replay.py      the MNIST digits shipped for replay, and the test set to check against
"""

from model.classifier import BLANK, Classifier, Prediction, load_classifier
from model.weights import WeightsError

__all__ = ["BLANK", "Classifier", "Prediction", "WeightsError", "load_classifier"]
