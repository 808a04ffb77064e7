"""LocalBlobStore: content addressing, write-once, verification on read, path safety."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from proofdesk.errors import IntegrityError, NotFound
from proofdesk.store import BlobStore, LocalBlobStore


def test_put_returns_sha256_and_get_round_trips(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)
    data = b"\xff\xd8 some jpeg bytes"
    address = store.put(data, "image/jpeg")
    assert address == hashlib.sha256(data).hexdigest()
    assert store.get(address) == data
    assert store.exists(address)
    assert store.open(address) == tmp_path.resolve() / address[:2] / address[2:4] / address
    assert isinstance(store, BlobStore)


def test_put_is_idempotent_and_never_overwrites(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)
    address = store.put(b"one")
    assert store.put(b"one") == address
    assert not list(store.open(address).parent.glob(".tmp-*")), "no temporary files left behind"


def test_tampered_object_raises_integrity_error(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)
    address = store.put(b"original")
    path = store.open(address)
    os.chmod(path, 0o644)
    path.write_bytes(b"changed")
    with pytest.raises(IntegrityError, match=address):
        store.get(address)


@pytest.mark.parametrize("bad", ["../../etc/passwd", "a" * 63, "A" * 64, "g" * 64, "/" + "a" * 63, ""])
def test_refuses_anything_but_a_sha256(tmp_path: Path, bad: str) -> None:
    store = LocalBlobStore(tmp_path)
    with pytest.raises(NotFound):
        store.get(bad)
    with pytest.raises(NotFound):
        store.open(bad)


def test_missing_object_is_not_found(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)
    assert not store.exists("0" * 64)
    with pytest.raises(NotFound):
        store.get("0" * 64)
