"""Just enough of a plugin's documents to know which plugin they describe.

Used at upload time (before any validation) to find an existing plugin by name_for_model.
Parsing is the same bounded parser the validator uses; unreadable input gives an empty identity
and the validation run reports why.
"""

from __future__ import annotations

from dataclasses import dataclass

from plugins.documents import MANIFEST_MAX_BYTES, SPEC_MAX_BYTES, DocumentError, parse_document


@dataclass(frozen=True)
class Identity:
    name_for_model: str = ""
    display_name: str = ""
    api_url: str = ""


def _text(value) -> str:
    return value.strip() if isinstance(value, str) else ""


def identify_documents(*, manifest: bytes | None, openapi: bytes | None) -> Identity:
    if manifest:
        try:
            doc = parse_document(manifest, max_bytes=MANIFEST_MAX_BYTES)
        except DocumentError:
            return Identity()
        api = doc.get("api") if isinstance(doc.get("api"), dict) else {}
        return Identity(
            name_for_model=_text(doc.get("name_for_model"))[:100],
            display_name=_text(doc.get("name_for_human"))[:100],
            api_url=_text(api.get("url")),
        )
    if openapi:
        try:
            doc = parse_document(openapi, max_bytes=SPEC_MAX_BYTES)
        except DocumentError:
            return Identity()
        block = doc.get("x-openplugin") if isinstance(doc.get("x-openplugin"), dict) else {}
        info = doc.get("info") if isinstance(doc.get("info"), dict) else {}
        name = _text(block.get("name")) or _text(info.get("title"))
        return Identity(name_for_model=_machine_name(name)[:100], display_name=name[:100])
    return Identity()


def _machine_name(name: str) -> str:
    return "".join(ch if ch.isalnum() else "_" for ch in name).strip("_")


def looks_like_manifest(document: object) -> bool:
    return isinstance(document, dict) and "api" in document and "name_for_model" in document
