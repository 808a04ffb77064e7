"""Safe XMP parsing: a raw packet -> ``{(namespace, name): [values]}``, and the signals read from it.

XMP is untrusted XML. ``defusedxml`` refuses DTDs, entity declarations and external references before they
expand or fetch anything (billion laughs, XXE); such a packet becomes a ``malformed`` signal, never an
exception. Properties are matched on namespace URI, never on prefix: writers use ``iptcExt``,
``Iptc4xmpExt`` or anything else for the same namespace.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Final

import defusedxml
import defusedxml.ElementTree as DET

from proofdesk.checks.provenance._signals import (
    SCORE_AI_EDIT_DECLARED,
    SCORE_AI_METADATA,
    SCORE_INFO,
    SCORE_MALFORMED,
    Signal,
    clip,
)

NS_RDF: Final = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
NS_TC260: Final = "http://www.tc260.org.cn/ns/AIGC/1.0/"
NS_IPTC_EXT: Final = "http://iptc.org/std/Iptc4xmpExt/2008-02-29/"
NS_PHOTOSHOP: Final = "http://ns.adobe.com/photoshop/1.0/"
NS_XMP: Final = "http://ns.adobe.com/xap/1.0/"
NS_ST_EVT: Final = "http://ns.adobe.com/xap/1.0/sType/ResourceEvent#"
NS_DCTERMS: Final = "http://purl.org/dc/terms/"
DIGITAL_SOURCE_PREFIX: Final = "http://cv.iptc.org/newscodes/digitalsourcetype/"

#: IPTC digital source types that mean machine learning produced (all or part of) the image.
AI_SOURCE_TYPES: Final = {
    "trainedAlgorithmicMedia": "ai_generated",
    "compositeWithTrainedAlgorithmicMedia": "ai_edited",
    "compositeSynthetic": "ai_edited",
}
#: Credit lines that Google and Apple write on AI output (reported in reference/provenance.md §4.2).
_AI_CREDITS: Final = {
    "made with google ai": "ai_generated",
    "edited with google ai": "ai_edited",
    "apple image playground": "ai_generated",
}
# The first markup we accept as the start of the packet; a DOCTYPE before it is kept so defusedxml sees it.
_XMP_START = re.compile(rb"<\?xml|<!DOCTYPE|<x:xmpmeta|<rdf:RDF|<\?xpacket", re.IGNORECASE)


@dataclass
class XmpProperties:
    """Properties of one packet, or why it could not be read."""

    values: dict[tuple[str, str], list[str]] = field(default_factory=lambda: defaultdict(list))
    error: str | None = None

    def get(self, namespace: str, name: str) -> list[str]:
        """All values of one property (empty if absent)."""
        return self.values.get((namespace, name), [])


def _split(tag: str) -> tuple[str, str]:
    if tag.startswith("{"):
        ns, _, local = tag[1:].partition("}")
        return ns, local
    return "", tag


def _text_of(element: ET.Element) -> str:
    """A property's value: its text, or the ``rdf:li`` items of an Alt/Seq/Bag joined by '; '."""
    items = [li.text.strip() for li in element.iter(f"{{{NS_RDF}}}li") if li.text and li.text.strip()]
    if items:
        return "; ".join(items)
    return (element.text or "").strip()


def parse_xmp(packet: bytes) -> XmpProperties:
    """Parse one XMP packet safely. Never raises; a refused or broken packet sets ``error``."""
    props = XmpProperties()
    start = _XMP_START.search(packet)
    body = packet[start.start() :] if start else packet
    # Some writers put garbage after the closing tag (padding is fine, NULs are not).
    body = body.rstrip(b"\x00 \r\n\t")
    try:
        root = DET.fromstring(body, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except defusedxml.DefusedXmlException as exc:
        props.error = f"refused unsafe XML ({type(exc).__name__})"
        return props
    except ET.ParseError as exc:
        props.error = f"not well-formed XML ({exc})"
        return props
    except (ValueError, RecursionError) as exc:
        props.error = f"unreadable XML ({type(exc).__name__})"
        return props
    for element in root.iter():
        ns, local = _split(element.tag)
        if ns and ns not in (NS_RDF, "adobe:ns:meta/"):
            text = _text_of(element)
            if text:
                props.values[(ns, local)].append(text)
        # Attribute form (rdf:Description TC260:AIGC="...") and struct fields on rdf:li (stEvt:softwareAgent="...").
        for key, value in element.attrib.items():
            a_ns, a_local = _split(key)
            if a_ns and a_ns not in (NS_RDF, "adobe:ns:meta/", "http://www.w3.org/XML/1998/namespace"):
                props.values[(a_ns, a_local)].append(value.strip())
    return props


def xmp_signals(props: XmpProperties) -> list[Signal]:
    """IPTC DigitalSourceType and AI fields, AI credit lines, and the parse error if any."""
    signals: list[Signal] = []
    if props.error:
        signals.append(
            Signal("malformed", "none", SCORE_MALFORMED, "XMP packet", props.error, f"XMP metadata {props.error}")
        )
        return signals
    for value in props.get(NS_IPTC_EXT, "DigitalSourceType"):
        code = value.rsplit("/", 1)[-1]
        label = AI_SOURCE_TYPES.get(code)
        if label:
            score = SCORE_AI_METADATA if label == "ai_generated" else SCORE_AI_EDIT_DECLARED - 0.05
            signals.append(
                Signal("iptc", label, score, "XMP Iptc4xmpExt:DigitalSourceType", clip(value),
                       f"IPTC DigitalSourceType says {code}", {"digital_source_type": code})
            )
        elif code == "algorithmicMedia":
            signals.append(
                Signal("iptc", "none", SCORE_INFO, "XMP Iptc4xmpExt:DigitalSourceType", clip(value),
                       "IPTC DigitalSourceType algorithmicMedia (procedural, not machine learning)",
                       {"digital_source_type": code})
            )
    for name in ("AISystemUsed", "AISystemVersionUsed", "AIPromptInformation"):
        for value in props.get(NS_IPTC_EXT, name):
            signals.append(
                Signal("iptc", "ai_generated", SCORE_AI_METADATA - 0.1, f"XMP Iptc4xmpExt:{name}", clip(value),
                       f"IPTC {name} names an AI system: {clip(value, 60)}", {"field": name})
            )
    for value in props.get(NS_PHOTOSHOP, "Credit"):
        label = _AI_CREDITS.get(value.strip().lower())
        if label:
            signals.append(
                Signal("iptc", label, SCORE_AI_METADATA - 0.05, "XMP photoshop:Credit", clip(value),
                       f"credit line says {value.strip()!r}")
            )
    return signals


def remote_manifest_url(props: XmpProperties) -> str | None:
    """The C2PA remote-manifest pointer (``dcterms:provenance``), if any. Never fetched."""
    values = props.get(NS_DCTERMS, "provenance")
    return values[0] if values else None


def software_values(props: XmpProperties) -> list[tuple[str, str]]:
    """(field, value) of the software named in XMP: CreatorTool and every history softwareAgent."""
    out = [("XMP xmp:CreatorTool", v) for v in props.get(NS_XMP, "CreatorTool")]
    out += [("XMP xmpMM:History stEvt:softwareAgent", v) for v in props.get(NS_ST_EVT, "softwareAgent")]
    return out
