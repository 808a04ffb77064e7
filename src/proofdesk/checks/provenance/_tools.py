"""Traces that generators, AI services, phone AI editors and photo editors leave in ordinary metadata.

Read from PNG text chunks and EXIF strings (already extracted by ``proofdesk.evidence``) plus the file
tail (Samsung's SEF trailer sits after the image end). Every rule below names its source in
reference/provenance.md §4; an "editor" string is an *edited* trace, not an AI trace.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any, Final

from proofdesk.checks.provenance._signals import (
    SCORE_AI_METADATA,
    SCORE_AI_POSSIBLE,
    SCORE_AI_VENDOR,
    SCORE_EDITOR,
    Signal,
    clip,
)

TAG_IMAGE_DESCRIPTION: Final = 0x010E
TAG_MAKE: Final = 0x010F
TAG_MODEL: Final = 0x0110
TAG_SOFTWARE: Final = 0x0131
TAG_ARTIST: Final = 0x013B
TAG_PROCESSING_SOFTWARE: Final = 0x000B
TAG_USER_COMMENT: Final = 0x9286

_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.IGNORECASE)
_GROK_SIGNATURE = re.compile(r"^Signature:\s*[A-Za-z0-9+/=]{40,}")
_MJ_JOB = re.compile(r"Job ID:\s*([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{8,12})", re.IGNORECASE)
_A1111_KEYS = re.compile(r"(^|\n|, )Steps: \d+, (Sampler|CFG scale|Seed|Schedule type):")
_GEN_AI_TYPE = re.compile(rb'"genAIType"\s*:\s*"?(\d+)')
_TAIL: Final = 1024 * 1024

#: Software/Make/CreatorTool substrings of AI generators (lower case) -> service name.
AI_SOFTWARE: Final = {
    "ideogram": "Ideogram",
    "reve.com": "Reve",
    "midjourney": "Midjourney",
    "dall-e": "DALL-E",
    "dall·e": "DALL-E",
    "novelai": "NovelAI",
    "stable diffusion": "Stable Diffusion",
    "comfyui": "ComfyUI",
    "adobe firefly": "Adobe Firefly",
    "image playground": "Apple Image Playground",
    "leonardo.ai": "Leonardo.Ai",
    "dreamstudio": "DreamStudio",
}
#: Editing applications (lower case substring -> name). Phone firmware strings are deliberately absent.
EDITORS: Final = {
    "photoshop": "Adobe Photoshop",
    "lightroom": "Adobe Lightroom",
    "gimp": "GIMP",
    "snapseed": "Snapseed",
    "picsart": "PicsArt",
    "vsco": "VSCO",
    "facetune": "Facetune",
    "remini": "Remini",
    "meitu": "Meitu 美图",
    "美图": "Meitu 美图",
    "hypic": "Hypic 醒图",
    "醒图": "Hypic 醒图",
    "canva": "Canva",
    "pixelmator": "Pixelmator",
    "affinity photo": "Affinity Photo",
    "paint.net": "Paint.NET",
    "fotor": "Fotor",
    "photoscape": "PhotoScape",
    "capcut": "CapCut 剪映",
    "剪映": "CapCut 剪映",
    "faceapp": "FaceApp",
    "lensa": "Lensa",
    "photoroom": "PhotoRoom",
    "luminar": "Luminar",
    "polarr": "Polarr",
    "picmonkey": "PicMonkey",
    "photopea": "Photopea",
    "krita": "Krita",
    "darktable": "darktable",
    "rawtherapee": "RawTherapee",
    "photo editor": "a photo editor",
}


def decode_user_comment(value: Any) -> str | None:
    """EXIF UserComment: strip the 8-byte charset header (ASCII, UNICODE = UTF-16, JIS, undefined)."""
    if isinstance(value, str):
        return value.replace("\x00", "").strip() or None
    if not isinstance(value, bytes) or not value:
        return None
    header, body = value[:8], value[8:]
    if header.startswith(b"UNICODE"):
        # Writers disagree on byte order (piexif writes big-endian); pick the one that yields more ASCII.
        candidates = [body.decode(codec, "replace") for codec in ("utf-16-be", "utf-16-le")]
        text = max(candidates, key=lambda t: sum(32 <= ord(c) < 127 for c in t))
    elif header.startswith(b"JIS"):
        text = body.decode("shift_jis", "replace")
    elif header.startswith(b"ASCII") or header == b"\x00" * 8:
        text = body.decode("utf-8", "replace")
    else:
        text = value.decode("utf-8", "replace")
    text = text.replace("\x00", "").strip()
    return text or None


def _repair_utf8(text: str) -> str:
    """Pillow decodes EXIF ASCII fields as Latin-1; Chinese writers put UTF-8 there (腾讯云 -> 'è\x85¾...')."""
    if text.isascii():
        return text
    try:
        return text.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return text


def exif_strings(tags: Mapping[int, Any]) -> dict[int, str]:
    """The string-valued EXIF fields these readers use, decoded."""
    out: dict[int, str] = {}
    for tag in (TAG_IMAGE_DESCRIPTION, TAG_MAKE, TAG_MODEL, TAG_SOFTWARE, TAG_ARTIST, TAG_PROCESSING_SOFTWARE):
        value = tags.get(tag)
        if isinstance(value, bytes):
            value = value.decode("utf-8", "replace")
        if isinstance(value, str) and value.strip("\x00 "):
            out[tag] = _repair_utf8(value.replace("\x00", "").strip())
    comment = decode_user_comment(tags.get(TAG_USER_COMMENT))
    if comment:
        out[TAG_USER_COMMENT] = comment
    return out


EXIF_NAMES: Final = {
    TAG_IMAGE_DESCRIPTION: "EXIF 0x010E ImageDescription",
    TAG_MAKE: "EXIF 0x010F Make",
    TAG_MODEL: "EXIF 0x0110 Model",
    TAG_SOFTWARE: "EXIF 0x0131 Software",
    TAG_ARTIST: "EXIF 0x013B Artist",
    TAG_PROCESSING_SOFTWARE: "EXIF 0x000B ProcessingSoftware",
    TAG_USER_COMMENT: "EXIF 0x9286 UserComment",
}


def _json(text: str) -> Any:
    text = text.strip()
    if not text.startswith(("{", "[")) or len(text) > 4 * 1024 * 1024:
        return None
    try:
        return json.loads(text)
    except (json.JSONDecodeError, RecursionError):
        return None


def _comfy_graph(obj: Any) -> bool:
    if isinstance(obj, Mapping):
        if isinstance(obj.get("nodes"), list):
            return True
        return any(isinstance(v, Mapping) and "class_type" in v for v in obj.values())
    return False


def generator_signals(text: Mapping[str, str], exif: Mapping[int, str]) -> list[Signal]:
    """Local and hosted generators: A1111/Forge, ComfyUI, Fooocus, SwarmUI, InvokeAI, NovelAI, Midjourney."""
    signals: list[Signal] = []

    def add(tool: str, source: str, value: str, label: str = "ai_generated", why: str = "") -> None:
        signals.append(Signal("generator", label, SCORE_AI_METADATA, source, clip(value),
                              f"{tool} generation metadata in {source}{why}", {"tool": tool}))

    places: list[tuple[str, str]] = [(f"PNG text chunk {k}", v) for k, v in text.items()]
    if TAG_USER_COMMENT in exif:
        places.append((EXIF_NAMES[TAG_USER_COMMENT], exif[TAG_USER_COMMENT]))
    for source, value in places:
        key = source.removeprefix("PNG text chunk ")
        lowered = key.lower()
        obj = _json(value)
        if lowered in ("parameters", "exif 0x9286 usercomment") or source.startswith("EXIF"):
            if _A1111_KEYS.search(value):
                img2img = "Denoising strength:" in value
                add("AUTOMATIC1111/Forge", source, value, "ai_edited" if img2img else "ai_generated",
                    " (img2img: Denoising strength present)" if img2img else "")
                continue
            if isinstance(obj, Mapping) and "sui_image_params" in obj:
                add("SwarmUI", source, value)
                continue
            if isinstance(obj, Mapping) and lowered == "parameters" and ("fooocus_scheme" in text or
                                                                          "Fooocus V2" in value):
                add("Fooocus", source, value)
                continue
        if lowered in ("prompt", "workflow") and _comfy_graph(obj):
            add("ComfyUI", source, value)
        elif lowered in ("invokeai_metadata", "invokeai_graph", "invokeai_workflow", "sd-metadata", "dream"):
            add("InvokeAI", source, value)
        elif lowered == "fooocus_scheme":
            add("Fooocus", source, value)
        elif lowered == "hf-job-id":
            add("Hugging Face job", source, value)
        elif (lowered == "software" and value.strip().lower().startswith("novelai")) or (
            lowered == "source" and ("novelai" in value.lower() or "stable diffusion" in value.lower())
        ):
            add("NovelAI", source, value)
        match = _MJ_JOB.search(value) if lowered in ("description", "comment", "exif 0x9286 usercomment") else None
        if match is None and source.startswith("EXIF"):
            match = _MJ_JOB.search(value)
        if match:
            signals.append(Signal("generator", "ai_generated", SCORE_AI_METADATA, source, clip(value),
                                  f"Midjourney prompt with Job ID {match.group(1)} in {source}",
                                  {"tool": "Midjourney", "job_id": match.group(1)}))
    # ComfyUI SaveAnimatedWEBP stores the graphs in EXIF Make/Model.
    for tag, prefix in ((TAG_MODEL, "prompt:"), (TAG_MAKE, "workflow:")):
        value = exif.get(tag, "")
        if value.startswith(prefix) and _comfy_graph(_json(value[len(prefix):])):
            add("ComfyUI", EXIF_NAMES[tag], value)
    return signals


def vendor_signals(exif: Mapping[int, str], data: bytes) -> list[Signal]:
    """xAI Grok signature, Samsung genAIType trailer, Meitu and ByteDance editor JSON."""
    signals: list[Signal] = []
    artist = exif.get(TAG_ARTIST, "")
    description = exif.get(TAG_IMAGE_DESCRIPTION, "")
    comment = exif.get(TAG_USER_COMMENT, "")
    if _UUID.match(artist) and (_GROK_SIGNATURE.match(description) or _GROK_SIGNATURE.match(comment)):
        signals.append(Signal("vendor", "ai_generated", SCORE_AI_VENDOR, EXIF_NAMES[TAG_IMAGE_DESCRIPTION],
                              clip(description or comment, 80),
                              "xAI Grok signature: Artist is a UUID and ImageDescription holds 'Signature: <base64>'",
                              {"tool": "xAI Grok", "artist": artist}))
    tail = data[-_TAIL:]
    at = tail.find(b"genAIType")
    match = _GEN_AI_TYPE.search(tail, max(0, at - 1)) if at >= 0 else None
    if match:
        value = int(match.group(1))
        start = max(0, match.start() - 80)
        raw = tail[start : match.end() + 40].decode("latin-1")
        container = "PEg_Info" if b"PEg_Info" in tail else (
            "PhotoEditor_Re_Edit_Data" if b"PhotoEditor_Re_Edit_Data" in tail else "SEF trailer")
        if value != 0:
            signals.append(Signal("vendor", "ai_edited", SCORE_AI_VENDOR, f"Samsung {container} after image end",
                                  clip(raw, 160), f"Samsung Galaxy AI edit: genAIType={value} in the file trailer",
                                  {"tool": "Samsung Galaxy AI", "genAIType": value}))
        else:
            signals.append(Signal("editor", "none", SCORE_EDITOR, f"Samsung {container} after image end",
                                  clip(raw, 160), "Samsung photo editor trailer (genAIType=0: no AI)",
                                  {"tool": "Samsung Photo Editor", "genAIType": 0}))
    for tag in (TAG_USER_COMMENT, TAG_IMAGE_DESCRIPTION):
        obj = _json(exif.get(tag, ""))
        if not isinstance(obj, Mapping):
            continue
        if "BeautyInfo" in obj or "FaceliftInfo" in obj or (artist.lower() == "meitu" and "Version" in obj):
            beauty = obj.get("BeautyInfo") if isinstance(obj.get("BeautyInfo"), Mapping) else {}
            ai_beauty = bool(beauty.get("IsAIBeauty")) if isinstance(beauty, Mapping) else False
            signals.append(Signal("vendor", "ai_edited" if ai_beauty else "none",
                                  SCORE_AI_POSSIBLE if ai_beauty else SCORE_EDITOR, EXIF_NAMES[tag],
                                  clip(exif[tag]), "Meitu editor record" + (" with AI beauty on" if ai_beauty else ""),
                                  {"tool": "Meitu 美图", "IsAIBeauty": ai_beauty}))
        inner = obj.get("data")
        if isinstance(inner, Mapping) and "product" in inner:
            product = str(inner.get("product"))
            info = inner.get("aigc_info") if isinstance(inner.get("aigc_info"), Mapping) else {}
            label_type = str(info.get("aigc_label_type", "")) if isinstance(info, Mapping) else ""
            aigc_type = str(info.get("aigc_type", "")) if isinstance(info, Mapping) else ""
            export = str(inner.get("exportType", ""))
            ai = label_type in ("1", "2") or aigc_type == "1" or (product == "dreamina" and export == "generation")
            disclosure = f", AI disclosure (aigc_label_type={label_type or '-'}, aigc_type={aigc_type or '-'})"
            signals.append(Signal("vendor", "ai_generated" if ai else "none", SCORE_AI_VENDOR if ai else SCORE_EDITOR,
                                  EXIF_NAMES[tag], clip(exif[tag]),
                                  f"ByteDance app record: product {product}" + (disclosure if ai else ""),
                                  {"tool": f"ByteDance {product}", "exportType": export,
                                   "aigc_label_type": label_type, "aigc_type": aigc_type}))
    return signals


def software_signals(places: Iterable[tuple[str, str]]) -> list[Signal]:
    """AI generator names and editing applications named in Software/Make/CreatorTool/history fields."""
    signals: list[Signal] = []
    seen: set[tuple[str, str]] = set()
    for source, value in places:
        lowered = value.lower()
        if len(lowered) > 400 or lowered.startswith(("prompt:", "workflow:", "{")):
            continue
        hit = next(((n, "ai") for k, n in AI_SOFTWARE.items() if k in lowered), None) or next(
            ((n, "editor") for k, n in EDITORS.items() if k in lowered), None)
        if hit is None or (hit[0], source) in seen:
            continue
        seen.add((hit[0], source))
        name, what = hit
        if what == "ai":
            signals.append(Signal("generator", "ai_generated", SCORE_AI_VENDOR, source, clip(value),
                                  f"{source} names the AI generator {name}", {"tool": name}))
        else:
            signals.append(Signal("editor", "none", SCORE_EDITOR, source, clip(value),
                                  f"edited with {name} ({source})", {"tool": name}))
    return signals
