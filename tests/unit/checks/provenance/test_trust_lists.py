"""The shipped C2PA trust lists and the extraction logic of scripts/update-trust-lists."""

from __future__ import annotations

import importlib.machinery
import importlib.util
import json
import re
from importlib import resources
from types import ModuleType

from tests.conftest import REPO

TRUST = resources.files("proofdesk.checks.provenance") / "trust"


def _script() -> ModuleType:
    path = REPO / "scripts" / "update-trust-lists"
    loader = importlib.machinery.SourceFileLoader("update_trust_lists", str(path))
    spec = importlib.util.spec_from_loader("update_trust_lists", loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def _pems(text: str) -> list[str]:
    return re.findall(r"-----BEGIN CERTIFICATE-----\n[A-Za-z0-9+/=\n]+?-----END CERTIFICATE-----", text)


def test_shipped_lists_match_their_source_record() -> None:
    source = json.loads((TRUST / "SOURCE.json").read_text(encoding="utf-8"))
    script = _script()
    for filename in ("c2pa-trust-list.pem", "c2pa-tsa-trust-list.pem"):
        pems = _pems((TRUST / filename).read_text(encoding="ascii"))
        recorded = source["lists"][filename]
        assert len(pems) == len(recorded) >= 20
        assert [script._fingerprint(p) for p in pems] == [r["sha256"] for r in recorded]
    subjects = " ".join(r["subject"] for r in source["lists"]["c2pa-trust-list.pem"])
    for vendor in ("Google", "DigiCert", "Xiaomi", "vivo", "HUAWEI", "TrustAsia"):
        assert vendor in subjects


def test_extraction_groups_lists_by_their_role_word() -> None:
    script = _script()
    pems = _pems((TRUST / "c2pa-trust-list.pem").read_text(encoding="ascii"))
    claim = b"".join(f"Subject\tCN=Claim {i}\n{p}\n\n".encode() for i, p in enumerate(pems[:6]))
    tsa = b"".join(f"Subject\tCN=TSA {i}\n{p}\n\n".encode() for i, p in enumerate(pems[6:11]))
    blob = b"\x00junk" + claim + pems[11].encode() + b"\nclaim-signing" + tsa + b"timestamp-authority\x00more"
    lists = script._lists(blob)
    assert [s for s, _ in lists["c2pa-trust-list.pem"]] == [f"CN=Claim {i}" for i in range(6)]
    assert [s for s, _ in lists["c2pa-tsa-trust-list.pem"]] == [f"CN=TSA {i}" for i in range(5)]


def test_extraction_finds_nothing_without_role_words() -> None:
    script = _script()
    pem = _pems((TRUST / "c2pa-trust-list.pem").read_text(encoding="ascii"))[0]
    assert script._lists(f"Subject\tCN=x\n{pem}\n".encode()) == {}
