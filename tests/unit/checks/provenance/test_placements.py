"""Each placement of each trace, written into real PNG/JPEG files, and hostile metadata that must not crash."""

from __future__ import annotations

import io
import json
import struct
import zlib

import pytest
from PIL import Image, PngImagePlugin

from proofdesk.checks.base import CheckContext, Finding
from proofdesk.checks.provenance import ProvenanceCheck
from proofdesk.errors import InvalidSettings
from proofdesk.evidence import read_evidence
from tests.conftest import photo_like

CHECK = ProvenanceCheck.from_config({"ocr": "never", "watermark": "never"})
LABEL = {
    "Label": "1",
    "ContentProducer": "001191110108335469089C10100",
    "ProduceID": "kling-123",
    "ReservedCode1": "",
    "ContentPropagator": "",
    "PropagateID": "",
    "ReservedCode2": "",
}
IMG = photo_like(96, 128)


def _png(text: dict[str, str] | None = None, itxt: dict[str, str] | None = None, tail: bytes = b"") -> bytes:
    info = PngImagePlugin.PngInfo()
    for key, value in (text or {}).items():
        info.add_text(key, value)
    for key, value in (itxt or {}).items():
        info.add_itxt(key, value)
    buffer = io.BytesIO()
    Image.fromarray(IMG).save(buffer, format="PNG", pnginfo=info)
    return buffer.getvalue() + tail


def _jpeg(exif: dict[int, object] | None = None, sub: dict[int, object] | None = None, xmp: bytes | None = None,
          app9: bytes | None = None) -> bytes:
    ex = Image.Exif()
    for tag, value in (exif or {}).items():
        ex[tag] = value
    ifd = ex.get_ifd(0x8769)
    for tag, value in (sub or {}).items():
        ifd[tag] = value
    buffer = io.BytesIO()
    params: dict[str, object] = {"quality": 90, "exif": ex.tobytes()}
    if xmp is not None:
        params["xmp"] = xmp
    Image.fromarray(IMG).save(buffer, format="JPEG", **params)
    data = buffer.getvalue()
    if app9 is not None:
        data = data[:2] + b"\xff\xe9" + struct.pack(">H", len(app9) + 2) + app9 + data[2:]
    return data


def _run(data: bytes) -> Finding:
    return CHECK.run(read_evidence(data, name="claim"), CheckContext())


def _kinds(finding: Finding) -> dict[str, dict[str, object]]:
    return {s["kind"]: s for s in finding.details["signals"]}


def _xmp(inner: str) -> str:
    return (
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        f"{inner}</rdf:RDF></x:xmpmeta>"
    )


# -- China AIGC label: every placement --------------------------------------------------------------------


def test_aigc_png_text_chunk() -> None:
    finding = _run(_png(text={"AIGC": json.dumps(LABEL)}))
    label = _kinds(finding)["aigc_label"]
    assert finding.label == "ai_generated"
    assert label["source"] == "PNG text chunk AIGC"
    assert label["detail"]["producer_name"].startswith("Kling")  # type: ignore[index]


def test_aigc_xmp_attribute_form_in_jpeg() -> None:
    value = json.dumps(LABEL).replace('"', "&quot;")
    ns = "http://www.tc260.org.cn/ns/AIGC/1.0/"
    xmp = _xmp(f'<rdf:Description rdf:about="" xmlns:TC260="{ns}" TC260:AIGC="{value}"/>')
    finding = _run(_jpeg(xmp=xmp.encode()))
    label = _kinds(finding)["aigc_label"]
    assert label["source"] == "XMP TC260:AIGC"
    assert label["detail"]["ProduceID"] == "kling-123"  # type: ignore[index]


def test_aigc_exif_user_comment_wrapped() -> None:
    comment = b"ASCII\x00\x00\x00" + json.dumps({"AIGC": {**LABEL, "Label": "2"}}).encode()
    finding = _run(_jpeg(sub={0x9286: comment}))
    label = _kinds(finding)["aigc_label"]
    assert (finding.label, finding.score) == ("ai_possible", 0.6)
    assert label["source"] == "EXIF 0x9286 UserComment"


def test_aigc_exif_image_description_tencent_variant() -> None:
    desc = json.dumps({"AIGC": {"ServiceProvider": "腾讯云", "ServiceUser": "u1", "Time": "1", "ContentId": "c1"}},
                      ensure_ascii=False)
    finding = _run(_jpeg(exif={0x010E: desc.encode("utf-8")}))
    label = _kinds(finding)["aigc_label"]
    assert finding.label == "ai_generated"
    assert label["source"] == "EXIF 0x010E ImageDescription"
    assert label["detail"]["ServiceProvider"] == "腾讯云"  # type: ignore[index]


def test_aigc_bare_segment_in_jpeg_app_segment() -> None:
    finding = _run(_jpeg(app9=b"AIGC" + json.dumps(LABEL).encode()))
    label = _kinds(finding)["aigc_label"]
    assert label["source"].startswith("bare AIGC segment in file head")  # type: ignore[union-attr]
    assert label["detail"]["Label"] == "1"  # type: ignore[index]


def test_aigc_broken_json_is_a_finding_not_a_crash() -> None:
    finding = _run(_png(text={"AIGC": '{"Label":"1","ContentProducer":'}))
    malformed = _kinds(finding)["malformed"]
    assert "unreadable" in str(malformed["summary"])
    assert finding.label == "none"


# -- IPTC, generators, vendors, editors ----------------------------------------------------------------


def test_iptc_composite_with_trained_algorithmic_media() -> None:
    xmp = _xmp('<rdf:Description rdf:about="" xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/">'
               "<Iptc4xmpExt:DigitalSourceType>http://cv.iptc.org/newscodes/digitalsourcetype/"
               "compositeWithTrainedAlgorithmicMedia</Iptc4xmpExt:DigitalSourceType></rdf:Description>")
    finding = _run(_png(itxt={"XML:com.adobe.xmp": xmp}))
    assert finding.label == "ai_edited"


def test_iptc_algorithmic_media_is_not_ai() -> None:
    xmp = _xmp('<rdf:Description rdf:about="" xmlns:e="http://iptc.org/std/Iptc4xmpExt/2008-02-29/" '
               'e:DigitalSourceType="http://cv.iptc.org/newscodes/digitalsourcetype/algorithmicMedia"/>')
    finding = _run(_png(itxt={"XML:com.adobe.xmp": xmp}))
    assert (finding.label, finding.score) == ("none", 0.0)


A1111 = ("a red chair\nNegative prompt: blurry\nSteps: 20, Sampler: Euler a, CFG scale: 7, Seed: 42, "
         "Size: 512x512, Model hash: abc, Model: sd15, Version: v1.9")


@pytest.mark.parametrize(
    ("text", "tool", "label"),
    [
        ({"parameters": A1111}, "AUTOMATIC1111/Forge", "ai_generated"),
        ({"parameters": A1111 + ", Denoising strength: 0.4"}, "AUTOMATIC1111/Forge", "ai_edited"),
        ({"prompt": json.dumps({"3": {"class_type": "KSampler", "inputs": {}}})}, "ComfyUI", "ai_generated"),
        ({"workflow": json.dumps({"nodes": [{"id": 1}], "links": []})}, "ComfyUI", "ai_generated"),
        ({"invokeai_metadata": json.dumps({"positive_prompt": "x"})}, "InvokeAI", "ai_generated"),
        ({"parameters": json.dumps({"Prompt": "x"}), "fooocus_scheme": "fooocus"}, "Fooocus", "ai_generated"),
        ({"Software": "NovelAI", "Source": "NovelAI Diffusion V4.5 4BDE2A90"}, "NovelAI", "ai_generated"),
        ({"parameters": json.dumps({"sui_image_params": {"prompt": "x"}})}, "SwarmUI", "ai_generated"),
    ],
)
def test_generator_text_chunks(text: dict[str, str], tool: str, label: str) -> None:
    finding = _run(_png(text=text))
    generator = _kinds(finding)["generator"]
    assert generator["detail"]["tool"] == tool  # type: ignore[index]
    assert finding.label == label
    assert finding.score == 0.9


def test_a1111_in_jpeg_user_comment_unicode() -> None:
    comment = b"UNICODE\x00" + A1111.encode("utf-16-be")
    finding = _run(_jpeg(sub={0x9286: comment}))
    assert _kinds(finding)["generator"]["detail"]["tool"] == "AUTOMATIC1111/Forge"  # type: ignore[index]


def test_samsung_gen_ai_type_zero_is_editor_not_ai() -> None:
    trailer = b'PhotoEditor_Re_Edit_Data{"genAIType":0}SEFT'
    finding = _run(_png(tail=trailer))
    assert finding.label == "none"
    assert _kinds(finding)["editor"]["detail"]["genAIType"] == 0  # type: ignore[index]


def test_bytedance_aigc_info() -> None:
    desc = json.dumps({"data": {"product": "dreamina", "exportType": "generation",
                                "aigc_info": {"aigc_label_type": 1}}})
    finding = _run(_jpeg(exif={0x010E: desc}))
    vendor = _kinds(finding)["vendor"]
    assert finding.label == "ai_generated"
    assert vendor["detail"]["tool"] == "ByteDance dreamina"  # type: ignore[index]


def test_meitu_ai_beauty() -> None:
    comment = b"ASCII\x00\x00\x00" + json.dumps({"Version": "1.0.0", "BeautyInfo": {"IsAIBeauty": 1}}).encode()
    finding = _run(_jpeg(exif={0x013B: "Meitu"}, sub={0x9286: comment}))
    assert finding.label == "ai_edited"
    assert _kinds(finding)["vendor"]["detail"]["IsAIBeauty"] is True  # type: ignore[index]


def test_editor_software_tag() -> None:
    finding = _run(_jpeg(exif={0x0131: "Adobe Photoshop 25.1 (Windows)"}))
    editor = _kinds(finding)["editor"]
    assert editor["detail"]["tool"] == "Adobe Photoshop"  # type: ignore[index]
    assert (finding.label, finding.score) == ("none", 0.15)


def test_photo_history_software_agent_in_xmp() -> None:
    xmp = _xmp('<rdf:Description rdf:about="" xmlns:xmpMM="http://ns.adobe.com/xap/1.0/mm/" '
               'xmlns:stEvt="http://ns.adobe.com/xap/1.0/sType/ResourceEvent#"><xmpMM:History><rdf:Seq>'
               '<rdf:li stEvt:action="saved" stEvt:softwareAgent="Snapseed 2.0"/></rdf:Seq></xmpMM:History>'
               "</rdf:Description>")
    finding = _run(_jpeg(xmp=xmp.encode()))
    assert _kinds(finding)["editor"]["detail"]["tool"] == "Snapseed"  # type: ignore[index]


def test_plain_camera_jpeg_has_no_signal() -> None:
    finding = _run(_jpeg(exif={0x010F: "Apple", 0x0110: "iPhone 15", 0x0131: "17.1"}))
    assert (finding.label, finding.score) == ("none", 0.0)


# -- hostile input -------------------------------------------------------------------------------------

BILLION_LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;">'
    '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>'
    '<x:xmpmeta xmlns:x="adobe:ns:meta/"><a>&lol3;</a></x:xmpmeta>'
)
XXE = (
    '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY ext SYSTEM "http://127.0.0.1:9/leak">]>'
    '<x:xmpmeta xmlns:x="adobe:ns:meta/"><a>&ext;</a></x:xmpmeta>'
)


@pytest.mark.parametrize("packet", [BILLION_LAUGHS, XXE], ids=["billion-laughs", "external-entity"])
def test_xml_entity_attacks_are_refused_as_a_finding(packet: str) -> None:
    finding = _run(_png(itxt={"XML:com.adobe.xmp": packet}))
    malformed = _kinds(finding)["malformed"]
    assert "refused unsafe XML" in str(malformed["value"])
    assert finding.score == 0.1


def test_truncated_xmp_is_a_finding() -> None:
    xmp = _xmp('<rdf:Description rdf:about="" xmlns:TC260="http://www.tc260.org.cn/ns/AIGC/1.0/">')[:120]
    finding = _run(_jpeg(xmp=xmp.encode()))
    assert "not well-formed" in str(_kinds(finding)["malformed"]["value"])


def test_huge_text_chunk_is_dropped_and_reported() -> None:
    # 5 MB of text exceeds the 4 MB metadata budget of EvidenceLimits; the reader drops it and says so.
    finding = _run(_png(text={"parameters": "x" * (5 * 1024 * 1024)}))
    assert any("exceeds the size limit" in s["summary"] for s in finding.details["signals"])


def test_deeply_nested_json_label_does_not_crash() -> None:
    finding = _run(_png(text={"AIGC": "[" * 100_000}))
    assert finding.label == "none"


def test_garbage_c2pa_box_is_a_finding() -> None:
    # A caBX chunk full of junk: the SDK rejects it, we report it.
    junk = b"jumb" + b"c2pa" + bytes(range(256)) * 4
    chunk = struct.pack(">I", len(junk)) + b"caBX" + junk + struct.pack(">I", zlib.crc32(b"caBX" + junk))
    data = _png()
    data = data[:33] + chunk + data[33:]
    finding = _run(data)
    assert finding.score <= 0.1
    assert any(s["kind"] in ("malformed", "c2pa") for s in finding.details["signals"])


def test_config_validation() -> None:
    with pytest.raises(InvalidSettings):
        ProvenanceCheck.from_config({"ocr": "sometimes"})
    with pytest.raises(InvalidSettings):
        ProvenanceCheck.from_config({"unknown": 1})
    with pytest.raises(InvalidSettings):
        ProvenanceCheck.from_config({"watermark_min_jpeg_quality": 0})


# -- NovelAI stealth alpha-LSB -------------------------------------------------------------------------


def _stealth_png(payload: dict[str, str], *, compress: bool = True, corrupt: bool = False) -> bytes:
    import gzip

    import numpy as np

    body = json.dumps(payload).encode()
    body = gzip.compress(body) if compress else body
    magic = b"stealth_pngcomp" if compress else b"stealth_pnginfo"
    bits = np.unpackbits(np.frombuffer(magic + struct.pack(">I", len(body) * 8) + body, dtype=np.uint8))
    if corrupt:
        bits[150] ^= 1  # a length bit: the declared payload no longer fits
        bits[120] = 1
    height, width = 64, 96
    alpha = np.full(height * width, 254, dtype=np.uint8)
    alpha[: bits.size] |= bits
    rgba = np.dstack([photo_like(height, width), alpha.reshape(width, height).T])
    buffer = io.BytesIO()
    Image.fromarray(rgba, mode="RGBA").save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.mark.parametrize("compress", [True, False])
def test_novelai_stealth_alpha(compress: bool) -> None:
    data = _stealth_png({"Software": "NovelAI", "Source": "NovelAI Diffusion V4.5"}, compress=compress)
    finding = _run(data)
    generator = _kinds(finding)["generator"]
    assert generator["source"] == "PNG alpha-channel LSB (NovelAI stealth)"
    assert finding.label == "ai_generated"


def test_novelai_stealth_corrupt_length_is_a_finding() -> None:
    finding = _run(_stealth_png({"Software": "NovelAI"}, corrupt=True))
    assert "stealth metadata magic found" in str(_kinds(finding)["malformed"]["summary"])


def test_aigc_label_still_found_when_the_xmp_packet_is_refused() -> None:
    # A DTD makes defusedxml refuse the packet; the byte scan still reads the label, and both are reported.
    value = json.dumps(LABEL).replace('"', "&quot;")
    packet = ('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><x:xmpmeta xmlns:x="adobe:ns:meta/">'
              '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about="" '
              f'xmlns:TC260="http://www.tc260.org.cn/ns/AIGC/1.0/"><TC260:AIGC>{value}</TC260:AIGC>'
              "</rdf:Description></rdf:RDF></x:xmpmeta>")
    finding = _run(_jpeg(xmp=packet.encode()))
    kinds = _kinds(finding)
    assert "refused unsafe XML" in str(kinds["malformed"]["value"])
    assert kinds["aigc_label"]["detail"]["ProduceID"] == "kling-123"  # type: ignore[index]
    assert finding.label == "ai_generated"
