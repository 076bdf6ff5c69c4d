"""Hostile and broken .keras files are refused from their bytes, before any Keras code runs."""

from __future__ import annotations

import io
import json
import zipfile

import pytest

from grader.keras_file import RefusedModel, model_spec, read_keras_archive


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
