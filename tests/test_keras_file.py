"""Hostile and broken .keras files are refused from their bytes, before any Keras code runs."""

from __future__ import annotations

import io
import json
import zipfile

import pytest

from grader.intake.keras_archive import RefusedModel, read_keras_archive
from grader.intake.keras_file import model_spec


def layer(class_name: str, **config) -> dict:
    return {"module": "keras.layers", "class_name": class_name, "config": {"name": class_name.lower(), **config},
            "registered_name": None}


def sequential(*layers: dict) -> dict:
    return {"module": "keras", "class_name": "Sequential", "config": {"name": "s", "layers": [
        layer("InputLayer", batch_shape=[None, 28, 28, 1]), *layers]}, "registered_name": None}


def archive(config: dict | bytes, extra: dict[str, bytes] | None = None, weights: bytes = b"\x89HDF") -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("metadata.json", json.dumps({"keras_version": "3.15.1"}))
        zf.writestr("config.json", config if isinstance(config, bytes) else json.dumps(config))
        zf.writestr("model.weights.h5", weights)
        for name, data in (extra or {}).items():
            zf.writestr(name, data)
    return buffer.getvalue()


GOOD = sequential(layer("Conv2D", filters=4, kernel_size=[3, 3], activation="relu"), layer("Flatten"),
                  layer("Dense", units=10, activation="softmax"))


def test_a_plain_model_is_read_as_a_chain():
    spec = model_spec(read_keras_archive(archive(GOOD)).config)
    assert spec.input_shape == (28, 28, 1)
    assert [layer["type"] for layer in spec.layers] == ["Conv2D", "Activation", "Flatten", "Dense", "Activation"]


@pytest.mark.parametrize(("data", "reason"), [
    (archive(sequential(layer("Lambda", function=["base64 code"]))), "Lambda layer"),
    (archive(sequential({"module": "evil", "class_name": "Conv2D", "config": {}})), "not from Keras"),
    (archive(sequential(layer("MyCustomLayer"))), "not a standard Keras class"),
    (archive(sequential({**layer("Dense", units=3), "registered_name": "mypkg>Dense"})), "registered custom"),
    (archive(sequential(layer("Dense", units=3, activation={"class_name": "function", "config": "os.system"}))),
     "custom activation"),
    (archive(sequential(layer("Dense", units=3, activation="my_activation"))), "custom activation"),
    (archive(sequential(layer("TFSMLayer", filepath="/etc"))), "'TFSMLayer', which is not a standard"),
    (archive(sequential(layer("StringLookup", vocabulary="/etc/passwd"))), "'StringLookup', which is not"),
    (archive(sequential(layer("Dense", units=3, vocabulary="/etc/passwd"))), "carries 'vocabulary'"),
    (archive(sequential(layer("Dense", units=3, name="keras.config.enable_unsafe_deserialization"))),
     "enable_unsafe_deserialization"),
    (archive(GOOD, extra={"../../etc/cron.d/x": b"boom"}), "unexpected member"),
    (archive(GOOD, extra={"assets/vocab.txt": b"a"}), "unexpected member"),
    (archive(GOOD)[:200], "damaged"),
    (b"\x89HDF\r\n\x1a\n" + b"\0" * 100, "legacy HDF5"),
    (b"not a zip at all", "not a zip"),
    (archive(b"{not json"), "config.json cannot be read"),
    (archive(b"[" * 100000 + b"]" * 100000), "config.json cannot be read"),
])
def test_hostile_files_are_refused_with_a_reason(data, reason):
    with pytest.raises(RefusedModel, match=reason):
        spec = read_keras_archive(data)
        model_spec(spec.config)


def test_a_zip_bomb_member_is_refused():
    bomb = archive(GOOD, weights=b"\0" * (20 * 1024 * 1024))
    with pytest.raises(RefusedModel, match="compression ratio"):
        read_keras_archive(bomb)


def test_branching_functional_models_are_refused_as_not_a_chain():
    def node(source):
        return [{"args": [{"class_name": "__keras_tensor__", "config": {"keras_history": [source, 0, 0]}}],
                 "kwargs": {}}]

    layers = [{**layer("InputLayer", batch_shape=[None, 4]), "name": "in", "inbound_nodes": []},
              {**layer("Dense", units=2), "name": "a", "inbound_nodes": node("in")},
              {**layer("Dense", units=2), "name": "b", "inbound_nodes": node("in")}]
    config = {"module": "keras", "class_name": "Functional", "config": {
        "name": "f", "layers": layers, "input_layers": [["in", 0, 0]], "output_layers": [["b", 0, 0]]}}
    with pytest.raises(RefusedModel, match="not a chain"):
        model_spec(read_keras_archive(archive(config)).config)


# -------------------------------------------------------------- odd configs are refusals, never tracebacks

ODD_VALUES = [None, True, 0, -1, 2.5, "x", "", [], [1], ["a", None], {}, {"class_name": "Dense"}, [[1, 2]], 10**30]


def _paths(node, path=()):
    """Every (path, value) in a JSON document."""
    yield path, node
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _paths(value, (*path, index))


def _replaced(node, path, value):
    if not path:
        return value
    copy = dict(node) if isinstance(node, dict) else list(node)
    copy[path[0]] = _replaced(node[path[0]], path[1:], value)
    return copy


def _inspect(config) -> None:
    """What the labs and exercise 6 do with a file; only RefusedModel or ValueError (shapes) may come out."""
    from grader.intake.keras_file import summarize

    try:
        spec = model_spec(read_keras_archive(archive(config)).config)
        summarize(spec.input_shape, spec.layers)
    except (RefusedModel, ValueError):
        pass


FUNCTIONAL = {"module": "keras.src.models.functional", "class_name": "Functional", "registered_name": "Functional",
              "config": {"name": "f", "layers": [
                  {**layer("InputLayer", batch_shape=[None, 8, 8, 2]), "name": "in", "inbound_nodes": []},
                  {**layer("Conv2D", filters=4, kernel_size=[3, 3], groups=2, data_format="channels_last",
                           activation="relu"), "name": "c", "inbound_nodes": [{"args": [
                               {"class_name": "__keras_tensor__", "config": {"keras_history": ["in", 0, 0]}}],
                               "kwargs": {}}]},
                  {**layer("BatchNormalization", axis=-1), "name": "b", "inbound_nodes": [{"args": [
                      {"class_name": "__keras_tensor__", "config": {"keras_history": ["c", 0, 0]}}],
                      "kwargs": {}}]}],
                  "input_layers": [["in", 0, 0]], "output_layers": [["b", 0, 0]]}}
SEQUENTIAL = sequential(layer("Normalization", axis=-1), layer("Conv2D", filters=4, kernel_size=[3, 3], strides=1,
                                                               padding="same", use_bias=True, groups=1),
                        layer("BatchNormalization", axis=3, trainable=False), layer("MaxPooling2D", pool_size=[2, 2]),
                        layer("Flatten", data_format="channels_last"), layer("Dense", units=10, activation="softmax"))


@pytest.mark.parametrize("config", [SEQUENTIAL, FUNCTIONAL], ids=["sequential", "functional"])
def test_every_value_of_a_config_replaced_by_an_odd_type_is_a_refusal_not_a_traceback(config):
    _inspect(config)  # the unmutated config is inspected without error
    paths = [path for path, _ in _paths(config)]
    assert len(paths) > 40
    for path in paths:
        for value in ODD_VALUES:
            _inspect(_replaced(config, path, value))


def test_random_odd_configs_are_refusals_not_tracebacks():
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    json_values = st.recursive(st.none() | st.booleans() | st.integers(-3, 300) | st.floats(allow_nan=False)
                               | st.sampled_from(["relu", "same", "Dense", "channels_first", "keras.layers"]),
                               lambda inner: st.lists(inner, max_size=3)
                               | st.dictionaries(st.sampled_from(["class_name", "config", "units", "filters",
                                                                  "kernel_size", "layers", "axis", "groups"]),
                                                 inner, max_size=3), max_leaves=8)
    paths = [path for path, _ in _paths(SEQUENTIAL)]

    @settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(st.lists(st.tuples(st.sampled_from(paths), json_values), min_size=1, max_size=3))
    def run(mutations):
        config = SEQUENTIAL
        for path, value in mutations:
            try:
                config = _replaced(config, path, value)
            except (KeyError, IndexError, TypeError):
                continue  # an earlier mutation removed this path
        _inspect(config)

    run()


@pytest.mark.parametrize("registered", ["kerasevil>Dense", "keras>Evil", "kerasDense", "Dense2", ["Dense"]])
def test_only_exact_registered_names_pass(registered):
    config = sequential({**layer("Dense", units=3), "registered_name": registered})
    with pytest.raises(RefusedModel, match="registered custom object"):
        read_keras_archive(archive(config))


@pytest.mark.parametrize("module", ["kerasevil.layers", "keras.evil", "keras.layers.evil", "keras.src.evil", ""])
def test_only_keras_own_modules_pass(module):
    with pytest.raises(RefusedModel, match="not from Keras"):
        read_keras_archive(archive(sequential({**layer("Dense", units=3), "module": module})))


# -------------------------------------------------------------- counts equal real Keras's

KERAS_MODELS = {
    "conv groups=2": lambda L: [L.Conv2D(8, 3, groups=2), L.Conv2D(6, 1, groups=2, use_bias=False), L.Flatten(),
                                L.Dense(10)],
    "conv groups=4 frozen": lambda L: [L.Conv2D(8, 3, groups=4, trainable=False), L.GlobalAveragePooling2D(),
                                       L.Dense(10)],
    "channels_first": lambda L: [L.Conv2D(5, (3, 2), data_format="channels_first"),
                                 L.MaxPooling2D(2, data_format="channels_first"),
                                 L.BatchNormalization(axis=1), L.Flatten(data_format="channels_first"), L.Dense(10)],
    "channels_first groups, global pool": lambda L: [
        L.Conv2D(4, 3, groups=2, padding="same", data_format="channels_first"),
        L.AveragePooling2D(2, data_format="channels_first"), L.GlobalMaxPooling2D(data_format="channels_first"),
        L.Dense(10)],
    "mixed layouts": lambda L: [L.Conv2D(3, 3, data_format="channels_first"), L.Conv2D(4, 2),
                                L.BatchNormalization(axis=-2), L.Flatten(), L.Dense(10)],
    "normalization": lambda L: [L.Normalization(), L.Conv2D(4, 3), L.Flatten(), L.Dense(10)],
    "normalization given mean": lambda L: [L.Normalization(mean=3.0, variance=2.0), L.Conv2D(4, 3), L.Flatten(),
                                           L.Dense(10)],
    "normalization axes": lambda L: [L.Normalization(axis=(1, 2)), L.Conv2D(4, 3), L.Flatten(), L.Dense(10)],
}


@pytest.mark.tensorflow
@pytest.mark.parametrize("name", list(KERAS_MODELS))
def test_parameter_counts_and_shapes_equal_keras(name, tmp_path):
    import keras
    import numpy as np

    from grader.intake.keras_file import summarize

    input_shape = (6, 10, 12)
    model = keras.Sequential([keras.Input(input_shape), *KERAS_MODELS[name](keras.layers)])
    model.save(tmp_path / "m.keras")
    spec = model_spec(read_keras_archive((tmp_path / "m.keras").read_bytes()).config)
    summary = summarize(spec.input_shape, spec.layers)
    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    assert (summary["total"], summary["trainable"]) == (model.count_params(), trainable)
    assert summary["layers"][-1]["output_shape"] == tuple(model.outputs[0].shape[1:])
    keras_rows = [(type(layer).__name__, tuple(layer.output.shape[1:]), layer.count_params())
                  for layer in model.layers]
    assert [(r["type"], r["output_shape"], r["params"]) for r in summary["layers"]] == keras_rows


def test_indivisible_groups_do_not_work_out():
    from grader.intake.keras_file import summarize

    spec = model_spec(read_keras_archive(archive(sequential(layer("Conv2D", filters=4, kernel_size=3, groups=3)))).config)
    with pytest.raises(ValueError, match="divisible by 3"):
        summarize(spec.input_shape, spec.layers)
