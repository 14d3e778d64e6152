"""The MCP gateway: a user's installed plugins for today's AI clients (next: a later issue).

Contract: speaks the Model Context Protocol (../shared/docs/MCP.md) over streamable HTTP;
`tools/list` is the lookup API's view for the calling user (the same policy function) rendered
by `plugins/tools/` in MCP form, and `tools/call` runs through `plugins/proxy/`, so MCP adds no
rule of its own.
"""
