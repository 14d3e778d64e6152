"""Known OpenPlugin processor types (x-filter, x-output-modules).

From the OpenPlugin reference implementation (ImpromptAI/openplugin, `processors/processor.py`
and the template/LLM engine factories). `runnable` marks what the marketplace itself executes
(only the Jinja template engine, in its sandbox); the others are known but not run here, which
the validator reports as a warning. An unknown implementation type is an error.

Add a processor: `register_processor(ProcessorType("x_with_y", "x", runnable=..., ...))`.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ProcessorType:
    implementation: str  # processor_implementation_type, e.g. "template_engine_with_jinja"
    kind: str  # processor_type, e.g. "template_engine"
    runnable: bool = False
    template_key: str | None = None  # metadata key holding a Jinja template to compile-check


PROCESSORS: dict[str, ProcessorType] = {}


def register_processor(processor: ProcessorType) -> ProcessorType:
    PROCESSORS[processor.implementation] = processor
    return processor


for _processor in (
    ProcessorType("template_engine_with_jinja", "template_engine", True, "template"),
    ProcessorType("template_engine_with_jsx", "template_engine"),
    ProcessorType("llm_engine_with_openai", "llm_engine"),
    ProcessorType("text_to_audio_with_azure", "text_to_audio"),
    ProcessorType("audio_to_text_with_whisper", "audio_to_text"),
    ProcessorType("text_to_file_with_default", "text_to_file"),
    ProcessorType("file_to_text_with_langchain", "file_to_text"),
    ProcessorType("file_to_cloud_with_s3", "file_to_cloud"),
    ProcessorType("url_to_html_with_request", "url_to_html"),
    ProcessorType("html_to_text_with_bs", "html_to_text"),
):
    register_processor(_processor)

KINDS = frozenset(p.kind for p in PROCESSORS.values())


def lookup_processor(implementation: object, kind: object) -> ProcessorType | None:
    """The registered type for a processor entry: by implementation, else by a kind that has
    exactly one implementation."""
    if isinstance(implementation, str):
        return PROCESSORS.get(implementation.strip())
    if isinstance(kind, str):
        matches = [p for p in PROCESSORS.values() if p.kind == kind.strip()]
        return matches[0] if len(matches) == 1 else None
    return None
