"""Tool definitions: a validated version's operations as tools for LLMs (next: issue 10).

Contract: pure (no Django, no network; `tests/test_house_rules.py` keeps it so). Built once per
version from the normalised plugin (`plugins.validation`) into one canonical form: flat
arguments with a binding map back to path/query/header/body, `$ref`s inlined, credentials never
exposed as arguments. Renderers turn it into each vendor's format (OpenAI, OpenAI Responses,
Anthropic, Gemini, MCP) within the limits in ../shared/docs/TOOLS.md.
"""
