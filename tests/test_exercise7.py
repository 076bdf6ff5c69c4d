"""Exercise 7 (transfer learning): the solution, the stubs, a realistic submission, and the
grader's reading of the probe's untrusted replies.

Each grade run starts one TensorFlow child and builds VGG16 (``weights=None``) at most
twice there, so the grades are module-scoped: three runs for the whole file.
"""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest

from grader.checks import exercise7 as checks
from grader.options import GradingOptions

ROOT = Path(__file__).resolve().parents[1]


def _grade(catalogue, folder: Path):
    from grader.runner import grade_exercise

    return grade_exercise(exercise=catalogue.get("exercise7"), submission=folder, options=GradingOptions())


@pytest.fixture(scope="module")
def solution_result(catalogue):
    return _grade(catalogue, ROOT / "solutions" / "exercise7.py")


@pytest.fixture(scope="module")
def stub_result(catalogue):
    return _grade(catalogue, ROOT / "exercises" / "exercise7.py")


@pytest.fixture(scope="module")
def realistic_result(catalogue):
    return _grade(catalogue, ROOT / "tests" / "realistic" / "exercise7_unfreeze_inner_layers.py")


def test_the_solution_scores_full_marks(solution_result):
    assert [c.id for c in solution_result.checks if c.status != "passed"] == []
    assert (solution_result.score, solution_result.max_score) == (30, 30)
    assert len(solution_result.checks) == 13


def test_the_stubs_score_zero_as_not_implemented(stub_result):
    assert stub_result.score == 0
    assert {c.status for c in stub_result.checks} == {"skipped"}
    assert any("not implemented yet: fine_tune" in note for note in stub_result.notes)


def test_a_keras3_unfreeze_of_inner_layers_earns_credit_and_val_accuracy_does_not(realistic_result):
    by_id = {c.id: c for c in realistic_result.checks}
    assert by_id["fine-tune-params"].status == "passed"
    assert by_id["fine-tune-layers"].status == "passed"
    stopping = by_id["make-callbacks-early-stopping"]
    assert stopping.status == "failed" and "monitor='val_accuracy'" in stopping.message
    assert realistic_result.score == 28


def test_the_lecture_numbers_are_the_checks_numbers():
    # "Introduction to Deep Learning for Computer Vision", listing 8.19: 14,714,688 for the base.
    assert checks.BASE_PARAMS == 14_714_688
    assert checks.FROZEN == (12_800 * 256 + 256 + 257, checks.BASE_PARAMS)
    block5 = 3 * (3 * 3 * 512 * 512 + 512)
    assert checks.FINE_TUNED == (checks.FROZEN[0] + block5, checks.BASE_PARAMS - block5)


def _layer(kind: str, name: str, trainable_params: int = 0, **settings) -> dict:
    return {"class": kind, "name": name, "trainable": True, "trainable_params": trainable_params,
            "non_trainable_params": 0, "settings": settings}


def _model_reply() -> dict:
    base = _layer("Functional", "vgg16")
    base["layers"] = [_layer("Conv2D", "block5_conv1")]
    return {"input_shape": [180, 180, 3], "base": "vgg16", "preprocess_error": 0.0,
            "trainable_params": 1, "non_trainable_params": 2,
            "layers": [_layer("InputLayer", "input"),
                       {**_layer("Sequential", "aug"), "layers": [_layer("RandomFlip", "flip")]},
                       _layer("GetItem", "get_item"), _layer("Stack", "stack"), _layer("Add", "add"), base,
                       _layer("Flatten", "flatten"), _layer("Dense", "dense", units=256, activation="linear"),
                       _layer("Dropout", "dropout", rate=0.5),
                       _layer("Dense", "dense_1", units=1, activation="sigmoid")]}


def test_the_lecture_order_is_read_from_classes_with_the_preprocessing_collapsed():
    assert checks._tokens(checks._model(_model_reply())) == checks.EXPECTED_ORDER


ODD = [None, "text", -1, 1.5, True, [], {}, [1, 2], {"class": 3}, np.zeros(2)]


def _paths(node, prefix=()):
    """Every (path, value) in a nested reply of dicts and lists."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield (*prefix, key), value
            yield from _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield (*prefix, index), value
            yield from _paths(value, (*prefix, index))


def _replaced(reply, path, value):
    reply = copy.deepcopy(reply)
    node = reply
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return reply


def test_every_field_of_a_model_reply_replaced_by_an_odd_value_is_read_or_refused():
    """The child's reply is untrusted: an odd value is refused (_Unreadable), never a traceback."""
    reply = _model_reply()
    for path, _ in list(_paths(reply)):
        for odd in ODD:
            try:
                model = checks._model(_replaced(reply, path, odd))
            except checks._Unreadable:
                continue
            checks._tokens(model)  # what was accepted can be read by the checks


def test_augmentation_and_callback_replies_with_odd_values_are_refused():
    images = np.zeros((4, 32, 32, 3), np.float32)
    good = {"class": "Sequential", "layers": [], "images": images, "inference": images, "training": images,
            "flip_images": np.zeros((16, 32, 32, 3), np.float32), "flip_output": None}
    assert checks._augmentation_reply(dict(good)) is not None
    for key in ("layers", "images", "inference", "training", "flip_images", "flip_output"):
        for odd in ODD[:9]:
            if (key, odd) in (("flip_output", None), ("layers", [])):
                continue  # no RandomFlip; no layers: both well-formed answers
            with pytest.raises(checks._Unreadable):
                checks._augmentation_reply({**good, key: odd})
    for odd in ODD:
        with pytest.raises(checks._Unreadable):
            checks._callbacks_reply({"callbacks": [odd]} if not isinstance(odd, dict) else {"callbacks": odd})


@pytest.mark.parametrize(("stored", "factor"), [([-0.1, 0.1], 0.1), (0.1, 0.1), ([0.0, 0.1], None),
                                                 (True, None), ("0.1", None)])
def test_a_rotation_factor_is_read_as_its_symmetric_range(stored, factor):
    assert checks._factor(stored) == factor


ODD_SUBMISSION = '''
import keras


def build_augmentation():
    return [keras.layers.RandomFlip("horizontal")]


def build_feature_extractor(input_shape=(180, 180, 3), weights=None):
    return None


def fine_tune(model):
    return 42


def make_callbacks(log_dir, checkpoint_path):
    return {"early": keras.callbacks.EarlyStopping()}
'''


def test_odd_return_values_are_failures_that_name_what_was_returned(catalogue, make_submission):
    result = _grade(catalogue, make_submission({"exercise7.py": ODD_SUBMISSION}))
    by_id = {c.id: c for c in result.checks}
    assert result.score == 0
    assert not [c.id for c in result.checks if "internal grader error" in c.message]
    assert "returned NoneType, not a keras.Model" in by_id["build-feature-extractor-base"].message
    assert "returned list, not a keras.Sequential" in by_id["build-augmentation-layers"].message
    assert "returned dict, not a list of callbacks" in by_id["make-callbacks-early-stopping"].message
    # fine_tune's 42 is ignored (it changes the model in place): nothing was unfrozen
    assert "Nothing was unfrozen" in by_id["fine-tune-params"].message
