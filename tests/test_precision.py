"""Training precision: ``precision: bfloat16`` trains under bfloat16 autocast with channels-last
memory on the CPU too (about twice the float32 speed of a ResNet on CPUs with AVX512-BF16 or AMX,
about 10× slower where it is emulated, which training warns about), keeps float32
weights, is deterministic and names the model; ``auto`` trains in bfloat16 only on a CPU that
computes it natively, in float32 on others, and the shipped configs never ask for bfloat16."""

import json
from pathlib import Path

import pytest
import torch
import yaml

from deeplense.config import ModelConfig
from deeplense.training import device as device_module
from deeplense.training.device import cpu_computes_bfloat16, emulated_bfloat16_warning, select_device
from deeplense.training.trainer import TrainOutputs, prepare, train_model

ROOT = Path(__file__).resolve().parents[1]
WARNING = "bfloat16 is emulated here"

SPLIT = {"train": 0.5, "val": 0.25, "test": 0.25}
CFG = ModelConfig(architecture="resnet18", dataset="small", epochs=1, batch_size=4, shuffle_buffer_mb=1, threads=1)


NATIVE = cpu_computes_bfloat16()


@pytest.mark.parametrize(
    ("precision", "autocast", "channels_last"),
    [("auto", torch.bfloat16 if NATIVE else None, NATIVE), ("float32", None, False), ("bfloat16", torch.bfloat16, True)],
)
def test_cpu_precision_policy(precision, autocast, channels_last):
    """On this CPU, whatever it is: ``auto`` is bfloat16 exactly where the CPU computes it natively."""
    dev = select_device("cpu", precision)
    assert (dev.autocast_dtype, dev.channels_last, dev.needs_grad_scaler()) == (autocast, channels_last, False)
    x = dev.batch(torch.zeros(2, 1, 8, 8))
    assert x.is_contiguous(memory_format=torch.channels_last if channels_last else torch.contiguous_format)


def test_cpu_detection_follows_torchs_avx512_bf16_and_amx_flags():
    assert NATIVE == bool(torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported())


@pytest.mark.parametrize(("native", "autocast"), [(True, torch.bfloat16), (False, None)])
def test_auto_follows_the_cpu_detection(monkeypatch, native, autocast):
    monkeypatch.setattr(device_module, "cpu_computes_bfloat16", lambda: native)
    dev = select_device("cpu", "auto")
    assert (dev.autocast_dtype, dev.channels_last) == (autocast, native)
    assert select_device("cpu", "float32").autocast_dtype is None  # asked for: whatever the CPU
    assert select_device("cpu", "bfloat16").autocast_dtype == torch.bfloat16


@pytest.mark.parametrize(("native", "precision", "warned"), [(False, "bfloat16", True), (False, "float32", False),
                                                             (False, "auto", False), (True, "bfloat16", False)])
def test_explicit_bfloat16_on_an_emulating_cpu_is_warned_about(monkeypatch, native, precision, warned):
    monkeypatch.setattr(device_module, "cpu_computes_bfloat16", lambda: native)
    warning = emulated_bfloat16_warning(select_device("cpu", precision))
    assert (warning is not None) == warned
    if warned:
        assert WARNING in warning and "slower than float32" in warning and "auto would choose float32" in warning


@pytest.mark.parametrize(("precision", "warned"), [("bfloat16", True), ("float32", False)])
def test_training_prints_the_warning_once(monkeypatch, capsys, small_store, precision, warned):
    monkeypatch.setattr(device_module, "cpu_computes_bfloat16", lambda: False)
    prepare(CFG.model_copy(update={"precision": precision}), small_store, seed=5, split=SPLIT, device="cpu")
    assert capsys.readouterr().err.count(WARNING) == int(warned)


def _precisions(node) -> list:
    """Every value of a ``precision`` key anywhere in a loaded YAML document."""
    if isinstance(node, dict):
        return [v for k, v in node.items() if k == "precision"] + [p for v in node.values() for p in _precisions(v)]
    if isinstance(node, list):
        return [p for v in node for p in _precisions(v)]
    return []


def test_shipped_configs_never_ask_for_bfloat16():
    """Explicit bfloat16 is about 10× slower on a CPU that emulates it; ``auto`` picks it where it is native."""
    files = sorted((ROOT / "configs").rglob("*.y*ml"))
    found = {}
    for path in files:
        doc = yaml.safe_load(path.read_text()) or {}
        for name, model in (doc.get("models") or {}).items():
            found[f"{path.relative_to(ROOT)}: {name}"] = model.get("precision", "auto")
        for value in _precisions(doc):
            assert value in ("auto", "float32"), f"{path.relative_to(ROOT)}: precision {value!r}"
    assert found and set(found.values()) <= {"auto", "float32"}, found


def test_unknown_precision_is_refused_with_what_is_allowed():
    with pytest.raises(ValueError, match="precision 'fp16': allowed auto, float32, bfloat16"):
        select_device("cpu", "fp16")


def _train(store, tmp_path, name: str, precision: str):
    cfg = CFG.model_copy(update={"precision": precision})
    out = train_model(name, cfg, store, TrainOutputs.in_dir(tmp_path / name), seed=5, split=SPLIT)
    state = torch.load(out.checkpoint, weights_only=True)["model_state"]
    return state, json.loads(out.info.read_text())


def test_bfloat16_training_is_deterministic_keeps_float32_weights_and_is_recorded(small_store, tmp_path, capsys):
    first, info = _train(small_store, tmp_path, "bf16_a", "bfloat16")
    again, _ = _train(small_store, tmp_path, "bf16_b", "bfloat16")
    full, full_info = _train(small_store, tmp_path, "fp32", "float32")
    assert capsys.readouterr().err.count(WARNING) == (0 if NATIVE else 2)  # once per bfloat16 training, on this CPU
    assert all(torch.equal(first[k], again[k]) for k in first)
    assert {v.dtype for v in first.values() if v.is_floating_point()} == {torch.float32}
    assert all(torch.isfinite(v).all() for v in first.values() if v.is_floating_point())
    conv = next(k for k in first if k.endswith("conv1.weight"))
    assert not torch.equal(first[conv], full[conv]), "bfloat16 autocast left the arithmetic unchanged"
    assert (info["mixed_precision"], full_info["mixed_precision"]) == ("torch.bfloat16", None)
    assert info["config"]["precision"] == "bfloat16"


def test_auto_training_records_the_resolved_precision_and_names_the_model_auto(small_store, tmp_path):
    _, info = _train(small_store, tmp_path, "auto", "auto")
    assert info["mixed_precision"] == ("torch.bfloat16" if NATIVE else None)
    assert info["config"]["precision"] == "auto"


def test_precision_names_the_model():
    assert CFG.model_copy(update={"precision": "bfloat16"}).config_hash(3, SPLIT) != CFG.config_hash(3, SPLIT)
    assert CFG.training_dump()["precision"] == "auto"  # hashed as asked, never as this machine resolves it
