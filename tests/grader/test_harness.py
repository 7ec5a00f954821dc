"""The sandbox's building blocks without a sandbox: the wire format, signed frames, the path policy, the audit hook."""

import os
import types

import numpy as np
import pytest

from cvlab_ch9.grader.harness.guard import PathPolicy, SandboxViolation, make_hook
from cvlab_ch9.grader.harness.summary import LayerInfo, ModelSummary
from cvlab_ch9.grader.harness.wire import (
    MAX_NDIM,
    ModelRef,
    Opaque,
    Tensor,
    WireError,
    decode_body,
    encode,
    encode_signed,
    find_signed_frame,
)

KEY = b"k" * 32


def roundtrip(value):
    frame = encode(value)
    return decode_body(frame[8:])


def test_plain_values_and_arrays_survive_the_wire():
    value = {
        "a": np.arange(6, dtype="float32").reshape(2, 3), "t": (1, 2.5, "x", None, True), "big": 2**70,
        "nan": float("nan"), "nested": [np.zeros((0, 4), "uint8"), {"k": np.int64(3)}], 7: "int key",
    }
    back = roundtrip(value)
    assert back["a"].dtype == np.float32 and np.array_equal(back["a"], value["a"])
    assert back["t"] == (1, 2.5, "x", None, True) and back["big"] == 2**70 and np.isnan(back["nan"])
    assert back["nested"][0].shape == (0, 4) and back["nested"][1] == {"k": 3} and back[7] == "int key"
    tensor, model = roundtrip([Tensor(np.ones(2)), ModelRef(3, {"layers": []})])
    assert isinstance(tensor, Tensor) and isinstance(model, ModelRef) and model.handle == 3


def test_objects_and_odd_arrays_become_opaque_or_are_refused():
    assert isinstance(roundtrip(np.array(["a"], dtype=object)), Opaque)
    assert roundtrip(Opaque("function", "<f>")) == Opaque("function", "<f>")
    with pytest.raises(WireError):
        encode(object())


@pytest.mark.parametrize("body", [
    b"", b"\x01" * 8, (5).to_bytes(8, "little") + b"nope!",
    (40).to_bytes(8, "little") + b'{"__array__": 0, "dtype": "object", "shape": [1]}'[:40],
])
def test_malformed_messages_are_refused(body):
    with pytest.raises(WireError):
        decode_body(body)


def test_an_array_whose_size_does_not_match_its_shape_is_refused():
    frame = bytearray(encode(np.zeros((2, 2), "float32")))
    with pytest.raises(WireError):
        decode_body(bytes(frame[8:-4]))  # 4 bytes short
    header = b'{"__array__":0,"dtype":"float32","shape":[' + b",".join([b"1"] * (MAX_NDIM + 1)) + b"]}"
    with pytest.raises(WireError):
        decode_body(len(header).to_bytes(8, "little") + header + b"\0" * 4)


def test_deep_nesting_is_refused_not_a_crash():
    header = b"[" * 5000 + b"]" * 5000
    with pytest.raises(WireError):
        decode_body(len(header).to_bytes(8, "little") + header)


def test_signed_frames_are_found_behind_junk_and_forgeries():
    real = encode_signed({"id": 1, "value": 42}, KEY)
    forged = encode_signed({"id": 1, "value": 999}, b"x" * 32)
    junk = b"CVLB" + b"\xff" * 40 + encode({"id": 1, "value": 999})
    stream = junk + forged + real
    body, consumed = find_signed_frame(stream, KEY)
    assert decode_body(body) == {"id": 1, "value": 42} and consumed == len(stream)
    partial, consumed = find_signed_frame(stream[:-5], KEY)
    assert partial is None and consumed <= len(junk) + len(forged)


def test_the_most_specific_folder_decides_what_is_readable(tmp_path):
    repo, venv = tmp_path / "repo", tmp_path / "repo" / ".venv" / "site-packages"
    policy = PathPolicy([venv, tmp_path / "scratch"], [repo, repo / "solutions"])
    assert policy.readable(venv / "numpy" / "__init__.py")
    assert not policy.readable(repo / "solutions" / "segmentation.py") and not policy.readable(repo / "README.md")
    assert policy.readable(tmp_path / "scratch" / "a.py") and not policy.readable("/etc/passwd")
    installed = PathPolicy([venv], [venv / "solutions", venv / "grader"])
    assert installed.readable(venv / "keras" / "x.py") and not installed.readable(venv / "grader" / "recordings" / "a.rec")
    assert not policy.writable(tmp_path / "scratch" / "new.txt") and policy.writable(os.devnull)


def test_the_audit_hook_refuses_and_reports(tmp_path):
    refused = []
    hook = make_hook(PathPolicy([tmp_path]), ["solutions", "cvlab_ch9"], refused.append)
    hook("open", (str(tmp_path / "ok.txt"), "r", 0))
    hook("open", (3, "r", 0))  # a file descriptor
    hook("builtins.id", (1,))  # events it does not watch
    for event, args in [
        ("open", ("/etc/passwd", "r", 0)), ("open", (str(tmp_path / "x"), "w", 0)), ("os.kill", (1, 9)),
        ("subprocess.Popen", ("cat", [], None, None)), ("socket.connect", (None, ("1.2.3.4", 80))),
        ("ctypes.dlopen", ("libc.so.6",)), ("import", ("cvlab_ch9.grader.core", None, [], [], [])),
        ("os.listdir", ("/",)), ("os.remove", (str(tmp_path / "ok.txt"),)),
    ]:
        with pytest.raises(SandboxViolation):
            hook(event, args)
    assert len(refused) == 9 and "reading /etc/passwd" in refused[0] and refused[2] == "sending signals to processes"


def test_layer_views_read_config_like_keras_layers():
    data = {"class_name": "Functional", "params": 10, "outputs": [[None, 4, 4, 2]], "weights": [[3, 3, 1, 2], [2]],
            "layers": [{"class_name": "Conv2D", "name": "c", "config": {"strides": [2, 2], "activation": "relu",
                        "use_bias": False}, "weights": [[3, 3, 1, 2], [2]], "params": 20, "output": [None, 4, 4, 2]}]}
    summary = ModelSummary(data)
    (conv,) = summary.layers_of("Conv2D")
    assert isinstance(conv, LayerInfo) and conv.strides == (2, 2) and conv.activation == "relu" and conv.use_bias is False
    assert summary.output_shape == (None, 4, 4, 2) and summary.count_params_by_class() == {"Conv2D": 20}
    with pytest.raises(AttributeError):
        conv.kernel_size  # noqa: B018 - the attribute access is the test


def test_the_sandbox_may_read_the_folders_pth_files_add(tmp_path):
    """A venv on top of another environment's packages (a kit beside an existing TensorFlow) imports from there."""
    from cvlab_ch9.grader.sandbox import _pth_folders  # noqa: PLC0415 - the sandbox module, for one helper

    site_dir, other = tmp_path / "site-packages", tmp_path / "other-env" / "site-packages"
    site_dir.mkdir()
    other.mkdir(parents=True)
    (site_dir / "heavy.pth").write_text(f"# a comment\n{other}\nimport os\n{tmp_path / 'missing'}\n\n")
    (site_dir / "relative.pth").write_text("../other-env/site-packages\n")
    assert _pth_folders([site_dir]) == {str(other.resolve())}
    assert _pth_folders([tmp_path / "nowhere"]) == set()


def test_a_models_config_travels_as_plain_data_and_the_judge_rebuilds_it():
    import keras  # noqa: PLC0415

    from cvlab_ch9.grader.harness.local import LocalModel  # noqa: PLC0415
    from cvlab_ch9.grader.harness.server import Server  # noqa: PLC0415
    from cvlab_ch9.grader.rebuild import rebuild  # noqa: PLC0415
    from cvlab_ch9.quiet import import_tensorflow  # noqa: PLC0415 - TensorFlow only for this test

    import_tensorflow()
    inputs = keras.Input((6, 5, 3))
    model = keras.Model(inputs, keras.layers.SeparableConv2D(4, 3, strides=2, use_bias=False)(inputs))
    server = Server(None, types.SimpleNamespace(namespace={}))
    server.models[1] = LocalModel(model)
    config = roundtrip(server.handle({"op": "config", "handle": 1}))
    rebuilt = rebuild(config, seed=0)
    assert rebuilt.count_params() == model.count_params()
    assert rebuilt.layers[-1].get_config()["strides"] == (2, 2) and rebuilt.layers[-1].use_bias is False
