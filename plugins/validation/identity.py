"""Just enough of a plugin's documents to know which plugin they describe.

Used at upload time and when fetched documents arrive, before any validation, to find an
existing plugin by name_for_model. Names follow the validator's own rule
(`plugins.validation.normalize.model_name`), so a plugin found here is the plugin the validated
version describes. Unreadable input gives an empty identity and the validation run says why.
"""

from __future__ import annotations

from dataclasses import dataclass

from plugins.validation.normalize import model_name, text
from plugins.validation.parsing import (
    MANIFEST_MAX_BYTES,
    SPEC_MAX_BYTES,
    DocumentError,
    parse_document,
)


@dataclass(frozen=True)
class Identity:
    name_for_model: str = ""
    display_name: str = ""


def identify_documents(*, manifest: bytes | None, openapi: bytes | None) -> Identity:
    if manifest:
        doc = parse_manifest(manifest)
        if doc is None:
            return Identity()
        return Identity(
            name_for_model=(text(doc.get("name_for_model")) or "")[:100],
            display_name=(text(doc.get("name_for_human")) or "")[:100],
        )
    if openapi:
        try:
            doc = parse_document(openapi, max_bytes=SPEC_MAX_BYTES)
        except DocumentError:
            return Identity()
        block = doc.get("x-openplugin") if isinstance(doc.get("x-openplugin"), dict) else {}
        info = doc.get("info") if isinstance(doc.get("info"), dict) else {}
        name = text(block.get("name")) or text(info.get("title")) or ""
        return Identity(name_for_model=model_name(name) if name else "", display_name=name[:100])
    return Identity()


def parse_manifest(content: bytes) -> dict | None:
    """The document if it reads as an OpenAI manifest (within the manifest size cap), else None."""
    try:
        doc = parse_document(content, max_bytes=MANIFEST_MAX_BYTES)
    except DocumentError:
        return None
    return doc if "api" in doc and "name_for_model" in doc else None
