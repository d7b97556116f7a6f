"""Fine-tuning on a class: it learns the class's drawings, keeps the held-out ones out, swaps in, reverts."""

import pickle
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from model import load_classifier
from bench.drawn_digits import load_strokes
from bench.finetune import a_class
from training.finetune import BLENDS, DISTILL, FOCUS, MNIST_FLOOR, accuracy, blended, finetune, finetune_weights, guarded, held_out_mask, teach
from model.live import SHIPPED, Live
from training.replay import mnist_test_set, replay_digits

pytestmark = pytest.mark.slow  # real fine-tuning

# Small settings: the tests check that the recipe works, the bench measures how well.
QUICK = {"steps": 40, "class_batch": 16, "replay_batch": 16, "lr": 1e-3}


@pytest.fixture(scope="module")
def sideways_class():
    """A class that writes its digits lying on their side: MNIST digits turned a quarter.

    The shipped network reads few of them right, so learning them is plain to see.
    """
    digits = replay_digits()
    index = np.arange(0, len(digits.labels), 50)[:60]  # 60 digits, all ten kinds
    images = np.rot90(digits.floats()[index], 1, axes=(1, 2)).copy()
    return images, digits.labels[index]


def test_the_held_out_split_is_by_drawing_and_stable():
    ids = list(range(2000))
    held = held_out_mask(ids)
    assert 0.2 < held.mean() < 0.3
    # The same drawing lands on the same side whatever else is in the class, in any order.
    assert np.array_equal(held_out_mask(ids[::-1])[::-1], held)
    assert np.array_equal(held_out_mask(ids[:100]), held[:100])
    assert np.array_equal(held_out_mask([str(i) for i in ids[:100]]), held[:100])


def test_fine_tuning_learns_its_own_drawings_and_leaves_the_original_alone(sideways_class):
    images, labels = sideways_class
    shipped = load_classifier()
    original_answers = shipped.probabilities(images)
    before = accuracy(shipped, images, labels)
    steps_seen = []
    tuned = finetune(shipped, images, labels, progress=lambda fraction, text: steps_seen.append(fraction), **QUICK)
    after = accuracy(tuned, images, labels)
    assert after >= before + 0.2, (before, after)
    assert steps_seen and steps_seen[-1] == 1.0 and steps_seen == sorted(steps_seen)
    assert np.array_equal(shipped.probabilities(images), original_answers)  # readers of the old one are unaffected
    assert tuned.spec == shipped.spec and tuned.metadata["arch_kwargs"] == shipped.metadata["arch_kwargs"]


def test_distillation_keeps_more_of_what_the_network_answered_on_mnist(sideways_class):
    """The cure for the refused fine-tunes: on the replayed digits the network also learns the
    live network's answers, so its answers on MNIST's test digits move less than with labels alone."""
    images, labels = sideways_class
    shipped = load_classifier()
    test = mnist_test_set()
    test_images = test.floats()[::5]
    original = shipped.probabilities(test_images)

    def moved(distill: float) -> float:
        tuned = finetune(shipped, images, labels, distill=distill, **QUICK)
        return float(np.abs(tuned.probabilities(test_images) - original).sum(axis=1).mean())

    plain, distilled = moved(0.0), moved(DISTILL)
    assert distilled < 0.8 * plain, (plain, distilled)


def test_focus_spends_the_steps_on_the_drawings_the_network_misreads(sideways_class):
    """A class that draws most digits as MNIST does and a few lying on their side: the live
    network reads the upright ones already, so picking the misread ones more often (FOCUS)
    teaches it more of what the class has to teach, in the same steps."""
    sideways, labels = sideways_class
    digits = replay_digits()
    upright = np.arange(1, len(digits.labels), 37)[:120]
    images = np.concatenate([digits.floats()[upright], sideways[:12]])
    all_labels = np.concatenate([digits.labels[upright], labels[:12]])
    shipped = load_classifier()
    learnt = {focus: accuracy(finetune(shipped, images, all_labels, focus=focus, **QUICK), sideways, labels)
              for focus in (0.0, FOCUS)}
    assert learnt[FOCUS] >= learnt[0.0] + 0.1, learnt


def test_the_training_step_takes_and_returns_plain_picklable_values(sideways_class):
    """What ZeroGPU needs of a @spaces.GPU function: it runs in a forked worker, so its inputs
    and outputs are pickled; it returns CPU tensors, not a live module."""
    images, labels = sideways_class
    shipped = load_classifier()
    replay = replay_digits()
    state = {k: v.clone() for k, v in shipped.network.state_dict().items()}
    arguments = (state, shipped.metadata, images[:20], labels[:20], replay.images, replay.labels)
    arguments = pickle.loads(pickle.dumps(arguments))
    new_state = finetune_weights(*arguments, steps=3, class_batch=8, replay_batch=8)
    new_state = pickle.loads(pickle.dumps(new_state))
    assert new_state.keys() == state.keys()
    assert all(tensor.device.type == "cpu" for tensor in new_state.values())
    assert any(not torch.equal(new_state[k], state[k]) for k in state)
    # The same seed gives the same weights: a lesson can be replayed.
    again = finetune_weights(*arguments, steps=3, class_batch=8, replay_batch=8)
    assert all(torch.equal(again[k], new_state[k]) for k in state)


def test_teach_swaps_in_for_everyone_reports_honestly_and_revert_restores(sideways_class, tmp_path):
    images, labels = sideways_class
    rows = [SimpleNamespace(id=1000 + i, digit=int(label), image28=image) for i, (image, label) in enumerate(zip(images, labels))]
    live = Live(tmp_path)
    shipped_answers = live.current().classifier.probabilities(images)
    texts = []
    # A few steps: what it learns is the previous test's concern; this one checks the swap and the report.
    # No MNIST floor here: a class that writes sideways is no real class; the floor has its own test.
    report = teach(rows, progress=lambda fraction, text=None: texts.append(text), live=live, mnist_floor=0.0,
                   steps=10, class_batch=8, replay_batch=8)

    held = held_out_mask([row.id for row in rows])
    assert report["held_out"] == held.sum() and report["trained_on"] == (~held).sum()
    assert report["held_out_before"] == accuracy(load_classifier(), images[held], labels[held])
    assert report["held_out_after"] == accuracy(live.current().classifier, images[held], labels[held])
    assert 0 <= report["mnist_after"] <= 1 and "MNIST test" in report["mnist_test"]
    assert report["seconds"] > 0 and report["from_version"] == SHIPPED
    assert report["swapped"] and live.current().version == report["version"] != SHIPPED
    assert live.current().metadata["finetuned"]["held_out"] == report["held_out"]
    assert texts[-1] == "the new network is live"

    live.revert()
    assert live.current().version == SHIPPED
    assert np.array_equal(live.current().classifier.probabilities(images), shipped_answers)


def test_a_network_under_the_mnist_floor_is_not_swapped_in(sideways_class, tmp_path):
    images, labels = sideways_class
    rows = [SimpleNamespace(id=i, digit=int(label), image28=image) for i, (image, label) in enumerate(zip(images[:20], labels[:20]))]
    live = Live(tmp_path)
    report = teach(rows, live=live, mnist_floor=1.01, steps=2, class_batch=8, replay_batch=8)  # no network reaches 101 %
    assert not report["swapped"] and "under the 101.0% floor" in report["note"] and report["blend"] is None
    assert [tried["blend"] for tried in report["tried"]] == list(BLENDS)  # every blend was tried, none passed
    assert live.current().version == SHIPPED == report["version"]
    assert not list(tmp_path.glob("*.pt"))


@pytest.fixture(scope="module")
def sideways_tuned(sideways_class):
    """The shipped CNN fine-tuned on the sideways class: it forgets some MNIST, plain to see."""
    images, labels = sideways_class
    shipped = load_classifier()
    return shipped, finetune(shipped, images, labels, **QUICK)


def test_a_blend_lies_on_the_straight_line_between_the_two_networks(sideways_tuned):
    shipped, tuned = sideways_tuned
    start, end = shipped.network.state_dict(), tuned.network.state_dict()
    assert blended(shipped, tuned, 1.0) is tuned
    half = blended(shipped, tuned, 0.5).network.state_dict()
    for key, value in half.items():
        expected = (start[key] + end[key]) / 2 if value.is_floating_point() else end[key]
        assert torch.allclose(value, expected, atol=1e-6), key
    nothing = blended(shipped, tuned, 0.0)
    digits = replay_digits().floats()[:200]
    assert np.allclose(nothing.probabilities(digits), shipped.probabilities(digits), atol=1e-5)
    assert nothing.metadata == tuned.metadata and nothing.metadata is not tuned.metadata


def test_the_guard_swaps_in_the_first_blend_that_keeps_mnist(sideways_tuned, tmp_path):
    shipped, tuned = sideways_tuned
    mnist = mnist_test_set(folder=tmp_path)  # the shipped test subset: quick
    read = {share: accuracy(blended(shipped, tuned, share), mnist.floats(), mnist.labels) for share in BLENDS}
    assert read[BLENDS[-1]] > read[1.0]  # nearer the shipped network, less MNIST forgotten
    for floor in sorted(set(read.values())):
        network, share, tried = guarded(shipped, tuned, mnist, floor, progress=lambda *_: None)
        first = next(s for s in BLENDS if read[s] >= floor)
        assert share == first and [t["blend"] for t in tried] == list(BLENDS[: BLENDS.index(first) + 1])
        assert accuracy(network, mnist.floats(), mnist.labels) == tried[-1]["mnist"] == read[first] >= floor
    assert guarded(shipped, tuned, mnist, 1.01, progress=lambda *_: None)[1] is None


def test_classes_labelled_in_other_orders_and_numbered_from_other_ids_are_all_swapped_in(strokes_dir, tmp_path):
    """A small, quick version of `python -m bench.finetune --repeat 10`: the default recipe,
    classes of the measuring writers, each its own seed, labelling order and first id."""
    digits = load_strokes(strokes_dir)[::15]  # about 170 drawings, every writer and digit
    for seed in range(3):
        rows, _ = a_class(digits, seed)
        report = teach(rows, live=Live(tmp_path / str(seed)), seed=seed)
        assert report["swapped"], report
        assert report["mnist_after"] >= MNIST_FLOOR and report["blend"] in BLENDS
        assert report["tried"][-1] == {"blend": report["blend"], "mnist": report["mnist_after"]}


def test_too_few_drawings_get_a_clear_message(tmp_path):
    rows = [SimpleNamespace(id=i, digit=1, image28=np.zeros((28, 28), np.float32)) for i in range(3)]
    with pytest.raises(ValueError, match="at least 10 labelled drawings; the class has 3"):
        teach(rows, live=Live(tmp_path))
