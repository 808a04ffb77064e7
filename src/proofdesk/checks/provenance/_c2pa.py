"""C2PA content credentials, read offline with c2pa-python: validation, trust, and AI in any manifest.

The SDK is configured so that nothing leaves the machine: remote manifests and OCSP are never fetched (a
file that only points at a cloud manifest is reported as such), and trust is decided against the C2PA
trust list shipped in ``trust/`` (see ``scripts/update-trust-lists``). Validation failures are split into
two kinds that mean very different things to a reviewer:

- *integrity* (``*.mismatch``: data hash, box hash, claim signature): the bytes changed after signing;
- *credential* (``signingCredential.untrusted/expired/invalid``): a PKI question, not a forgery signal.

AI involvement is searched in every manifest of the store, not only the active one: ChatGPT's active
manifest says only ``c2pa.opened`` while its parent ingredient says ``c2pa.created`` with
``trainedAlgorithmicMedia``.
"""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any, Final

from proofdesk.checks.provenance._signals import (
    SCORE_AI_DECLARED,
    SCORE_AI_EDIT_DECLARED,
    SCORE_INFO,
    SCORE_MALFORMED,
    SCORE_SIGNED_EDIT,
    SCORE_TAMPERED,
    Signal,
    clip,
)
from proofdesk.checks.provenance._xmp import AI_SOURCE_TYPES

_MIME: Final = {
    "JPEG": "image/jpeg",
    "PNG": "image/png",
    "WEBP": "image/webp",
    "HEIF": "image/heic",
    "TIFF": "image/tiff",
}
_CAPTURE_TYPES: Final = {"digitalCapture", "computationalCapture", "compositeCapture"}
_INTEGRITY_SUFFIXES: Final = (".mismatch",)
_INTEGRITY_CODES: Final = {"claimSignature.missing", "assertion.missing", "assertion.dataHash.malformed"}


@dataclass(frozen=True)
class TrustStore:
    """The anchors handed to the SDK, and where they came from (for the report)."""

    anchors_pem: str | None
    eku_config: str | None
    source: str

    @classmethod
    def bundled(cls) -> TrustStore:
        """The C2PA trust list shipped as package data (see ``trust/SOURCE.json``)."""
        folder = resources.files("proofdesk.checks.provenance") / "trust"
        try:
            pem = (folder / "c2pa-trust-list.pem").read_text(encoding="ascii")
            eku = (folder / "c2pa-eku.txt").read_text(encoding="ascii")
            meta = json.loads((folder / "SOURCE.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return cls(None, None, "none")
        count = len(meta.get("lists", {}).get("c2pa-trust-list.pem", []))
        return cls(pem, eku, f"C2PA trust list ({count} anchors) from {meta.get('wheel', '?')}")

    @classmethod
    def empty(cls) -> TrustStore:
        """No anchors: every signer is reported as 'trust: unknown (no trust list)'."""
        return cls(None, None, "none")


class C2paReader:
    """One configured SDK context, reused across files (creating it parses the trust list)."""

    def __init__(self, trust: TrustStore) -> None:
        self.trust = trust
        self._lock = threading.Lock()
        self._context: Any = None
        self.available: bool | None = None
        self.unavailable_reason = ""

    def _ctx(self) -> Any:
        with self._lock:
            if self._context is None and self.available is not False:
                try:
                    import c2pa
                except ImportError as exc:  # the [provenance] extra is not installed
                    self.available = False
                    self.unavailable_reason = f"c2pa-python not installed ({exc})"
                    return None
                settings: dict[str, Any] = {
                    "verify": {"remote_manifest_fetch": False, "ocsp_fetch": False, "verify_trust": True}
                }
                if self.trust.anchors_pem:
                    settings["trust"] = {"trust_anchors": self.trust.anchors_pem, "trust_config": self.trust.eku_config}
                self._context = c2pa.Context(c2pa.Settings.from_dict(settings))
                self.available = True
            return self._context

    def read(self, data: bytes, fmt: str) -> tuple[dict[str, Any] | None, str | None]:
        """(manifest store JSON, None) / (None, None) when there is none / (None, error text)."""
        context = self._ctx()
        if context is None:
            return None, self.unavailable_reason
        import c2pa

        try:
            with self._lock:
                reader = c2pa.Reader.try_create(_MIME.get(fmt, "image/jpeg"), io.BytesIO(data), None, context)
                if reader is None:
                    return None, None
                with reader:
                    store = json.loads(reader.json())
        except c2pa.C2paError as exc:
            return None, f"{type(exc).__name__}: {exc}"
        except (ValueError, OSError) as exc:
            return None, f"unreadable manifest store: {exc}"
        return (store if isinstance(store, dict) else None), None


def _agent(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        name = value.get("name")
        version = value.get("version")
        return f"{name} {version}" if name and version else (str(name) if name else None)
    return None


def _generator(manifest: Mapping[str, Any]) -> str | None:
    info = manifest.get("claim_generator_info")
    if isinstance(info, list) and info and isinstance(info[0], Mapping) and info[0].get("name"):
        return str(info[0]["name"])
    generator = manifest.get("claim_generator")
    return str(generator) if generator else None


def _failure_codes(store: Mapping[str, Any]) -> list[str]:
    codes: list[str] = []
    for status in store.get("validation_status") or []:
        if isinstance(status, Mapping) and status.get("code"):
            codes.append(str(status["code"]))
    results = store.get("validation_results")
    if isinstance(results, Mapping):
        active = results.get("activeManifest")
        for status in (active or {}).get("failure", []) if isinstance(active, Mapping) else []:
            if isinstance(status, Mapping) and status.get("code"):
                codes.append(str(status["code"]))
        for delta in results.get("ingredientDeltas") or []:
            failures = ((delta or {}).get("validationDeltas") or {}).get("failure", [])
            codes += [f"ingredient:{s.get('code')}" for s in failures if isinstance(s, Mapping)]
    return sorted(set(codes))


def _walk_actions(store: Mapping[str, Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[str]]:
    """(AI traces, capture actions, soft-binding algorithms) from every manifest."""
    ai: list[dict[str, Any]] = []
    capture: list[dict[str, Any]] = []
    soft: list[str] = []
    manifests = store.get("manifests")
    if not isinstance(manifests, Mapping):
        return ai, capture, soft
    active = store.get("active_manifest")
    for label, manifest in manifests.items():
        if not isinstance(manifest, Mapping):
            continue
        where = "active manifest" if label == active else "ingredient manifest"
        for assertion in manifest.get("assertions") or []:
            if not isinstance(assertion, Mapping):
                continue
            name = str(assertion.get("label", ""))
            data = assertion.get("data")
            if name.startswith("c2pa.actions") and isinstance(data, Mapping):
                for action in data.get("actions") or []:
                    if not isinstance(action, Mapping):
                        continue
                    source_type = str(action.get("digitalSourceType", "")).rsplit("/", 1)[-1]
                    entry = {
                        "manifest": where,
                        "action": action.get("action"),
                        "digital_source_type": source_type or None,
                        "software_agent": _agent(action.get("softwareAgent")),
                        "description": clip(action.get("description"), 120) if action.get("description") else None,
                        "generator": _generator(manifest),
                    }
                    if source_type in AI_SOURCE_TYPES:
                        ai.append({**entry, "label": AI_SOURCE_TYPES[source_type]})
                    elif source_type in _CAPTURE_TYPES:
                        capture.append(entry)
            elif name == "c2pa.ai_generated_content" and isinstance(data, Mapping) and data.get("ai_generated"):
                ai.append({"manifest": where, "action": name, "digital_source_type": None,
                           "software_agent": clip(data.get("model"), 80) if data.get("model") else None,
                           "description": None, "generator": _generator(manifest), "label": "ai_generated"})
            elif name.startswith("c2pa.soft-binding") and isinstance(data, Mapping) and data.get("alg"):
                soft.append(str(data["alg"]))
    return ai, capture, soft


def store_signals(store: Mapping[str, Any], trust: TrustStore) -> list[Signal]:
    """Signals from one manifest store."""
    raw_manifests = store.get("manifests")
    manifests: Mapping[str, Any] = raw_manifests if isinstance(raw_manifests, Mapping) else {}
    active_label = store.get("active_manifest")
    active = manifests.get(active_label, {}) if isinstance(active_label, str) else {}
    state = str(store.get("validation_state") or "unknown")
    codes = _failure_codes(store)
    integrity = [c for c in codes if c.endswith(_INTEGRITY_SUFFIXES) or c.split(":")[-1] in _INTEGRITY_CODES]
    credential = [c for c in codes if "signingCredential" in c or ("timeStamp" in c and "untrusted" in c)]
    signature = active.get("signature_info") if isinstance(active, Mapping) else None
    signer = None
    if isinstance(signature, Mapping):
        signer = ", ".join(str(signature[k]) for k in ("issuer", "common_name") if signature.get(k)) or None
    if trust.anchors_pem is None:
        trust_text = "unknown (no trust list)"
    elif state == "Trusted":
        trust_text = "trusted"
    else:
        trust_text = "untrusted (signer not on the shipped C2PA trust list)"
    if any("expired" in c for c in credential):
        trust_text += "; certificate expired"
    ai, capture, soft = _walk_actions(store)
    detail: dict[str, Any] = {
        "validation_state": state,
        "trust": trust_text,
        "trust_list": trust.source,
        "failure_codes": codes,
        "integrity_failures": integrity,
        "claim_generator": _generator(active) if isinstance(active, Mapping) else None,
        "signer": signer,
        "signed_at": signature.get("time") if isinstance(signature, Mapping) else None,
        "manifests": len(manifests),
        "ai_actions": ai,
        "capture_actions": capture,
        "soft_bindings": soft,
    }
    source = "C2PA manifest store"
    signals: list[Signal] = []
    intact = not integrity
    if ai:
        first = next((a for a in ai if a["label"] == "ai_generated"), ai[0])
        label = first["label"]
        score = SCORE_AI_DECLARED if label == "ai_generated" else SCORE_AI_EDIT_DECLARED
        if not intact:
            score -= 0.05  # the AI statement was signed, but the file changed afterwards
        tool = first["software_agent"] or first["generator"] or "unnamed tool"
        kind = first["digital_source_type"] or first["action"]
        summary = (f"C2PA {first['manifest']}: {first['action']} with {kind} by {tool} "
                   f"(validation {state}; trust {trust_text})")
        signals.append(Signal("c2pa", label, score, source, clip(f"{first['action']} {kind} {tool}"), summary, detail))
    if integrity:
        signals.append(
            Signal("c2pa", "tampered_credential", SCORE_TAMPERED, source, ", ".join(integrity),
                   f"C2PA credential no longer matches the file: {', '.join(integrity)} (bytes changed after signing)",
                   detail)
        )
    if not signals:
        generator = detail["claim_generator"] or "unnamed generator"
        if capture and intact:
            signals.append(Signal("c2pa", "signed_capture", SCORE_INFO, source, clip(generator),
                                  f"C2PA signed capture by {generator} (validation {state}; trust {trust_text})",
                                  detail))
        else:
            actions = [str(a.get("action")) for a in _active_actions(active)]
            signals.append(Signal("c2pa", "signed_edit", SCORE_SIGNED_EDIT, source, clip(", ".join(actions)),
                                  f"C2PA credential by {generator} without AI: {', '.join(actions) or 'no actions'} "
                                  f"(validation {state}; trust {trust_text})", detail))
    for alg in soft:
        signals.append(Signal("c2pa", "none", SCORE_INFO, "C2PA c2pa.soft-binding", clip(alg),
                              f"C2PA names an invisible watermark {alg} (not decodable offline)", {"alg": alg}))
    return signals


def _active_actions(active: Any) -> list[Mapping[str, Any]]:
    out: list[Mapping[str, Any]] = []
    if not isinstance(active, Mapping):
        return out
    for assertion in active.get("assertions") or []:
        if isinstance(assertion, Mapping) and str(assertion.get("label", "")).startswith("c2pa.actions"):
            data = assertion.get("data")
            if isinstance(data, Mapping):
                out += [a for a in data.get("actions") or [] if isinstance(a, Mapping)]
    return out


def error_signal(error: str) -> Signal:
    """A manifest that could not be read: a remote pointer (never fetched) or a broken store."""
    if error.startswith("_C2paRemoteManifest") or "Remote" in error.split(":", 1)[0] or "remote manifest" in error:
        url = error.split("url ", 1)[-1].strip() if "url " in error else ""
        return Signal("c2pa", "none", SCORE_INFO, "C2PA remote manifest pointer", clip(url or error),
                      "C2PA remote manifest present (not fetched: checks never go online)", {"remote_url": url or None})
    return Signal("malformed", "none", SCORE_MALFORMED, "C2PA manifest store", clip(error),
                  f"C2PA data present but unreadable: {clip(error, 120)}")
