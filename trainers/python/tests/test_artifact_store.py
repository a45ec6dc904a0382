import hashlib

import pytest

from keel_trainer.artifact_store import ArtifactCorrupt, ArtifactNotFound, FsArtifactStore


def test_stores_bytes_under_their_sha256_in_keels_layout(tmp_path):
    store = FsArtifactStore(tmp_path)
    stored = store.put_bytes(b"model bytes", ".onnx")
    sha = hashlib.sha256(b"model bytes").hexdigest()
    assert stored.sha256 == sha
    assert (tmp_path / "sha256" / sha[:2] / f"{sha}.onnx").read_bytes() == b"model bytes"
    assert stored.uri.startswith("file://") and stored.uri.endswith(f"{sha}.onnx")
    assert store.local_path(sha).name == f"{sha}.onnx"
    assert [p.name for p in (tmp_path / "sha256" / sha[:2]).iterdir()] == [f"{sha}.onnx"]


def test_writing_the_same_bytes_twice_keeps_one_file(tmp_path):
    store = FsArtifactStore(tmp_path)
    first = store.put_bytes(b"same", ".json")
    second = store.put_bytes(b"same", ".json")
    assert first == second
    assert len(list((tmp_path / "sha256" / first.sha256[:2]).iterdir())) == 1


def test_a_file_whose_bytes_do_not_hash_to_its_name_is_refused(tmp_path):
    store = FsArtifactStore(tmp_path)
    stored = store.put_bytes(b"original", ".parquet")
    store.find(stored.sha256).write_bytes(b"tampered")
    with pytest.raises(ArtifactCorrupt):
        store.local_path(stored.sha256)


def test_a_missing_artifact_is_named(tmp_path):
    with pytest.raises(ArtifactNotFound, match="a" * 64):
        FsArtifactStore(tmp_path).local_path("a" * 64)
