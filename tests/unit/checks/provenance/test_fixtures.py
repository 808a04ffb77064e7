"""The provenance check on every real fixture in ../shared/data/provenance, against its known content (SOURCES.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from proofdesk.checks.base import CheckContext, Finding
from proofdesk.checks.provenance import ProvenanceCheck
from proofdesk.evidence import read_evidence
from tests.conftest import PROVENANCE

# OCR and watermark are exercised in their own tests; here the metadata readers alone must find everything.
CHECK = ProvenanceCheck.from_config({"ocr": "never", "watermark": "never"})


def _run(name: str) -> Finding:
    return CHECK.run(read_evidence(PROVENANCE / name), CheckContext())


def _signal(finding: Finding, kind: str) -> dict[str, Any]:
    found = [s for s in finding.details["signals"] if s["kind"] == kind]
    assert found, f"no {kind} signal in {finding.details['signals']}"
    return found[0]


def test_doubao_tc260_xmp_label() -> None:
    finding = _run("aigc/doubao_black_1x1_1.png")
    assert (finding.label, finding.score) == ("ai_generated", 0.95)
    label = _signal(finding, "aigc_label")
    assert label["source"] == "XMP TC260:AIGC"
    assert label["detail"]["Label"] == "1"
    assert label["detail"]["ContentProducer"] == "001191110102MACQD9K64010000"
    assert label["detail"]["ProduceID"] == "cc75f5e99aae4210960acb722f10974e"
    assert label["detail"]["producer_name"].startswith("Doubao")
    assert finding.measurements["aigc_label_Label"] == "1"


def test_jimeng_tc260_xmp_label_with_propagator() -> None:
    finding = _run("aigc/jimeng_cap_A.png")
    label = _signal(finding, "aigc_label")
    assert finding.label == "ai_generated"
    assert label["detail"]["ContentProducer"] == "00119144030008867405X210001"
    assert label["detail"]["ContentPropagator"] == "00119144030008867405X220001"
    assert label["detail"]["producer_name"].startswith("Jimeng")
    assert label["detail"]["propagator_name"].startswith("Jimeng")


def test_firefly_c2pa_trained_algorithmic_media() -> None:
    finding = _run("aigc/firefly-1.png")
    c2pa = _signal(finding, "c2pa")
    assert (finding.label, finding.score) == ("ai_generated", 0.95)
    assert c2pa["detail"]["validation_state"] == "Valid"
    assert c2pa["detail"]["claim_generator"] == "Adobe_Firefly"
    assert c2pa["detail"]["ai_actions"][0]["digital_source_type"] == "trainedAlgorithmicMedia"
    assert "Adobe Inc." in c2pa["detail"]["signer"]
    assert c2pa["detail"]["integrity_failures"] == []


def test_chatgpt_ai_only_in_ingredient_manifest_and_expired_cert() -> None:
    finding = _run("aigc/chatgpt-1.png")
    c2pa = _signal(finding, "c2pa")
    assert finding.label == "ai_generated"
    assert c2pa["detail"]["manifests"] == 2
    first = c2pa["detail"]["ai_actions"][0]
    assert first["manifest"] == "ingredient manifest"
    assert first["software_agent"] == "GPT-4o"
    assert "signingCredential.expired" in c2pa["detail"]["failure_codes"]
    assert "certificate expired" in c2pa["detail"]["trust"]
    # An expired certificate is a PKI question, not tampering.
    assert not any(s["label"] == "tampered_credential" for s in finding.details["signals"])


def test_flux_c2pa_created_by_flux2() -> None:
    finding = _run("aigc/flux-1.jpg")
    c2pa = _signal(finding, "c2pa")
    assert finding.label == "ai_generated"
    assert c2pa["detail"]["claim_generator"] == "Black Forest Labs API"
    assert {a["software_agent"] for a in c2pa["detail"]["ai_actions"]} >= {"Flux.2"}


def test_samsung_c2pa_composite_and_gen_ai_trailer() -> None:
    finding = _run("aigc/samsung_black_1.png")
    assert (finding.label, finding.score) == ("ai_edited", 0.9)
    c2pa = _signal(finding, "c2pa")
    assert c2pa["detail"]["ai_actions"][0]["digital_source_type"] == "compositeWithTrainedAlgorithmicMedia"
    assert c2pa["detail"]["ai_actions"][0]["software_agent"] == "Photo assist"
    trailer = _signal(finding, "vendor")
    assert trailer["detail"]["genAIType"] == 8
    assert "PEg_Info" in trailer["source"]


def test_midjourney_job_id_and_iptc() -> None:
    finding = _run("aigc/mj-1.png")
    assert finding.label == "ai_generated"
    iptc = _signal(finding, "iptc")
    assert iptc["detail"]["digital_source_type"] == "trainedAlgorithmicMedia"
    generator = _signal(finding, "generator")
    assert generator["detail"]["job_id"].startswith("2b6e053b-9a65-4ca9-9e13-b6f4465164d")
    assert generator["source"] == "PNG text chunk Description"


def test_grok_exif_signature() -> None:
    finding = _run("aigc/grok-1.jpg")
    vendor = _signal(finding, "vendor")
    assert finding.label == "ai_generated"
    assert vendor["detail"]["artist"] == "4800156b-8880-4786-9056-7ca3da449d8c"
    assert vendor["value"].startswith("Signature: ")


def test_trustmark_example_has_no_readable_signal() -> None:
    # TrustMark needs weights we cannot get; without a manifest naming it there is nothing to report.
    finding = _run("aigc/adobe-trustmark-p.png")
    assert (finding.label, finding.score) == ("none", 0.0)


def test_c_jpg_algorithmic_media_is_not_ai() -> None:
    finding = _run("c2pa/C.jpg")
    assert finding.label == "signed_edit"
    assert finding.score < 0.1
    c2pa = _signal(finding, "c2pa")
    assert c2pa["detail"]["validation_state"] == "Valid"
    assert c2pa["detail"]["ai_actions"] == []


@pytest.mark.parametrize("name", ["c2pa/CA.jpg", "c2pa/boxhash.jpg"])
def test_valid_non_ai_credentials(name: str) -> None:
    finding = _run(name)
    assert finding.label == "signed_edit"
    c2pa = _signal(finding, "c2pa")
    assert c2pa["detail"]["validation_state"] == "Valid"
    assert "c2pa.color_adjustments" in c2pa["value"]


@pytest.mark.parametrize(
    ("name", "code"),
    [("c2pa/XCA.jpg", "assertion.dataHash.mismatch"), ("c2pa/E-sig-CA.jpg", "claimSignature.mismatch")],
)
def test_bytes_changed_after_signing(name: str, code: str) -> None:
    finding = _run(name)
    assert (finding.label, finding.score) == ("tampered_credential", 0.8)
    c2pa = _signal(finding, "c2pa")
    assert code in c2pa["detail"]["integrity_failures"]
    assert c2pa["detail"]["validation_state"] == "Invalid"


def test_remote_manifest_is_reported_not_fetched() -> None:
    finding = _run("c2pa/cloud.jpg")
    remote = next(s for s in finding.details["signals"] if s["source"] == "C2PA remote manifest pointer")
    assert remote["detail"]["remote_url"].startswith("https://cai-manifests.adobe.com/manifests/")
    assert "not fetched" in remote["summary"]


@pytest.mark.parametrize("name", ["c2pa/A.jpg", "c2pa/libpng-test.png", "c2pa/sample1.heic", "c2pa/sample1.webp"])
def test_files_without_provenance_raise_nothing_about_ai(name: str) -> None:
    finding = _run(name)
    assert finding.label == "none"
    assert finding.score <= 0.15
    assert not any(s["label"].startswith("ai_") for s in finding.details["signals"])


def test_untrusted_list_mode_says_unknown() -> None:
    check = ProvenanceCheck.from_config({"trust_list": "none", "ocr": "never", "watermark": "never"})
    finding = check.run(read_evidence(PROVENANCE / "aigc/firefly-1.png"), CheckContext())
    assert _signal(finding, "c2pa")["detail"]["trust"] == "unknown (no trust list)"


def test_bundled_trust_list_is_loaded() -> None:
    c2pa = _signal(_run("aigc/firefly-1.png"), "c2pa")
    assert c2pa["detail"]["trust_list"].startswith("C2PA trust list (30 anchors)")
    assert c2pa["detail"]["trust"].startswith("untrusted")  # Firefly chains to the legacy CAI list, not shipped


def test_shared_data_present() -> None:
    assert Path(PROVENANCE, "c2pa", "C.jpg").is_file()
