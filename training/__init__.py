"""Everything that makes weights: the data (MNIST, pen strokes, non-digits), augmentation, the
gate's trainer, fine-tuning on a class's drawings, and the plots a training run leaves."""
