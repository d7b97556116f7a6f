import pytest
import torch

from training import augment
from training.mnist import load_mnist


@pytest.mark.slow
def test_augmentation_keeps_shape_range_and_varies(mnist_dir):
    images, labels = load_mnist(mnist_dir, train=False)
    batch, target = images[:64], labels[:64]
    augmented = augment.augment_batch(batch, target, torch.Generator().manual_seed(0))
    assert augmented.shape == batch.shape
    assert augmented.min() >= 0 and augmented.max() <= 1.0 + 1e-6
    assert (augmented - batch).abs().mean() > 0.01  # it really changes the digits
    again = augment.augment_batch(batch, target, torch.Generator().manual_seed(0))
    assert torch.equal(augmented, again)  # and the seed makes it repeatable
    elastic = augment.augment_batch(batch, target, torch.Generator().manual_seed(0), elastic=True)
    assert elastic.shape == batch.shape and not torch.equal(elastic, augmented)


def test_a_share_of_each_batch_stays_clean(mnist_dir):
    images, labels = load_mnist(mnist_dir, train=False)
    augmented = augment.augment(images[:2000], torch.Generator().manual_seed(1))
    clean = (augmented == images[:2000]).flatten(1).all(1).float().mean().item()
    assert abs(clean - augment.CLEAN_SHARE) < 0.03


def test_continental_strokes_only_touch_ones_and_sevens(mnist_dir):
    images, labels = load_mnist(mnist_dir, train=False)
    changed = augment.add_continental_strokes(images[:1000], labels[:1000], torch.Generator().manual_seed(2))
    touched = (changed != images[:1000]).flatten(1).any(1)
    assert set(labels[:1000][touched].tolist()) == {1, 7}
    share = touched.sum().item() / ((labels[:1000] == 1) | (labels[:1000] == 7)).sum().item()
    assert abs(share - augment.CONTINENTAL_SHARE) < 0.1
    assert (changed >= images[:1000]).all()  # strokes are only ever added


def test_closing_fills_a_small_loop_but_not_a_large_one():
    image = torch.zeros(1, 1, 28, 28)
    image[0, 0, 4:9, 4:9] = 1  # a small ring with a 1-pixel hole
    image[0, 0, 6, 6] = 0
    image[0, 0, 12:24, 12:24] = 1  # a large ring with an 8-pixel hole
    image[0, 0, 14:22, 14:22] = 0
    closed = augment.close_small_gaps(image)[0, 0]
    assert closed[6, 6] == 1  # the small hole is filled
    assert closed[14:22, 14:22].sum() == 0  # the large one stays open
    assert torch.equal(closed[image[0, 0] == 1], torch.ones(int(image.sum())))  # no ink is lost
    assert closed.sum() == image.sum() + 1  # and the strokes get no thicker
