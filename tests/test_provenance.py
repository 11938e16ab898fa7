"""The typed provenance records: each round-trips write → read; a record of a missing or other
schema version is refused naming the file, the version found and the one read; unknown fields are
refused (a renamed field fails loudly), except metrics.json's task metric values."""

from __future__ import annotations

import json

import pytest

from deeplense.storage.provenance import CheckpointInfo, MetricsFile, ProvenanceError, StoreAttrs, TrainInfo
from tests.records import HASH, metrics_file, train_info, write_metrics, write_train_info

CHECKPOINT = {
    "architecture": "resnet18", "architecture_args": {}, "task": "classification", "task_state": {"name": "classification"},
    "in_chans": 1, "img_size": 32, "num_outputs": 3, "classes": ["a", "b", "c"], "normalisation": {"mean": [0.0], "std": [1.0]},
    "epoch": 2, "selected_by": "val_loss (best)", "monitor": "val_loss", "monitor_value": 0.4, "seed": 7, "threads": 2,
    "device": "auto", "config_hash": HASH, "dataset": "tiny", "dataset_hash": HASH,
}
STORE = {
    "format_version": 1, "dataset": "tiny", "classes": ["a", "b"], "seed": 7, "software": {"deeplense": "0"},
    "config": {"instrument": {"preset": "hst_wfc3", "pixel_scale": 0.08, "num_pix": 32}, "z_lens": 0.5}, "content_hash": HASH,
}


def test_metrics_round_trip_keeps_the_task_values(tmp_path):
    path = write_metrics(tmp_path / "metrics.json", {"auc_macro": 0.9, "auc_per_class": {"a": 0.8}, "score": float("nan")},
                         ci={"auc_macro": {"low": 0.85, "high": 0.95, "level": 0.95}}, provenance={"dataset_preset": "hst_wfc3"})
    back = MetricsFile.read(path)
    assert back.schema_version == 1 and back.provenance.schema_version == 1
    assert back.values["auc_macro"] == 0.9 and back.values["auc_per_class"] == {"a": 0.8}
    assert back.ci["auc_macro"].low == 0.85 and back.provenance.dataset_preset == "hst_wfc3"
    assert "NaN" in path.read_text()  # a NaN metric stays NaN, not null
    assert back.to_json() == path.read_text()


def test_train_info_and_checkpoint_round_trip(tmp_path):
    path = write_train_info(tmp_path / "train_info.json", train_per_class={"a": 0, "b": 5, "c": 3})
    info = TrainInfo.read(path)
    assert info == train_info(train_per_class={"a": 0, "b": 5, "c": 3}) and info.smallest_train_class() == 3
    ck = CheckpointInfo(**CHECKPOINT)
    state = ck.to_dict() | {"model_state": {"w": [0.0]}}
    assert CheckpointInfo.from_checkpoint(state, "checkpoint.pt") == ck and ck.epoch == 2


def test_store_attrs_read_todays_attributes_unchanged():
    attrs = StoreAttrs.parse(STORE, "tiny.zarr")
    assert attrs.instrument.preset == "hst_wfc3" and attrs.instrument.pixel_scale == 0.08
    assert attrs.to_attrs() == STORE  # written exactly as before: no renderer, no new key
    assert list(attrs.to_attrs()) == ["format_version", "dataset", "classes", "seed", "config", "software", "content_hash"]
    with_renderer = StoreAttrs.parse(STORE | {"renderer": {"backend": "lenstronomy"}}, "tiny.zarr")
    assert with_renderer.to_attrs()["renderer"] == {"backend": "lenstronomy"}


@pytest.mark.parametrize("version", [None, 0, 2, "1"])
def test_a_record_of_another_schema_version_is_refused_naming_file_and_versions(tmp_path, version):
    for name, record in (("metrics.json", metrics_file({"auc": 0.5})), ("train_info.json", train_info())):
        data = record.to_dict()
        if version is None:
            del data["schema_version"]
        else:
            data["schema_version"] = version
        path = tmp_path / name
        path.write_text(json.dumps(data))
        model = MetricsFile if name == "metrics.json" else TrainInfo
        with pytest.raises(ProvenanceError, match=rf"{path}: {name} has schema_version {version!r}, this deeplense reads schema_version 1 .*rerun the step"):
            model.read(path)
    with pytest.raises(ProvenanceError, match="checkpoint.pt: checkpoint has schema_version None"):
        CheckpointInfo.from_checkpoint(CHECKPOINT, "checkpoint.pt")
    with pytest.raises(ProvenanceError, match=r"dataset store old.zarr: format_version 0, this deeplense reads 1"):
        StoreAttrs.parse(STORE | {"format_version": 0}, "old.zarr")


def test_unknown_fields_are_refused_but_task_metrics_are_kept(tmp_path):
    path = tmp_path / "train_info.json"
    path.write_text(json.dumps(train_info().to_dict() | {"sead": 1}))
    with pytest.raises(ProvenanceError, match=rf"{path}: not a train_info.json \(sead: Extra inputs are not permitted\); allowed fields: schema_version, model"):
        TrainInfo.read(path)
    data = metrics_file({"auc": 0.5}).to_dict()
    data["provenance"]["sead"] = 1
    with pytest.raises(ProvenanceError, match=r"provenance.sead: Extra inputs"):
        MetricsFile.parse(data, "metrics.json")
    del data["provenance"]["sead"], data["n_test"]
    with pytest.raises(ProvenanceError, match=r"metrics.json: not a metrics.json \(n_test: Field required\)"):
        MetricsFile.parse(data, "metrics.json")
    with pytest.raises(ProvenanceError, match="dataset store s.zarr: attributes invalid .*colour"):
        StoreAttrs.parse(STORE | {"colour": "red"}, "s.zarr")
    assert MetricsFile.parse(metrics_file({"anything_a_task_returns": 1}).to_dict(), "m.json").values == {"anything_a_task_returns": 1}
