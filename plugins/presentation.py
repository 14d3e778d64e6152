"""A normalised plugin (the validator's dict) as people read it on the storefront.

Pure functions over `PluginVersion.normalized`: no database, no network. Everything returned is
plain text that templates autoescape; nothing here marks anything safe.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

MAX_EXAMPLES = 8
MAX_FIELDS = 40


def service_host(normalized: dict) -> str:
    url = normalized.get("server_url") or normalized.get("api_url") or ""
    return urlsplit(url).hostname or normalized.get("root_domain") or "the plugin's service"


def auth_explanation(normalized: dict) -> dict[str, str]:
    """{"title", "text"}: what a person will connect, and who holds the key."""
    auth = normalized.get("auth") or {}
    kind = auth.get("type") or "none"
    host = service_host(normalized)
    if kind == "none":
        return {
            "title": "No account needed",
            "text": f"Calls go to {host} without any key or sign-in. Don't send it anything "
            "private: the service can't tell who you are.",
        }
    if kind == "service_http":
        return {
            "title": "The publisher's key",
            "text": f"The publisher gives the marketplace one key for {host}, used for every "
            "organization. You connect nothing. The marketplace stores the key encrypted and "
            "adds it to each call; neither you nor the model ever sees it.",
        }
    if kind == "user_http":
        scheme = auth.get("authorization_type") or "API"
        return {
            "title": "Your own API key",
            "text": f"Each person connects their own {scheme} key for {host}. The marketplace "
            f"stores it encrypted and sends it only to {host}; the model, the publisher and "
            "the other members of your organization never see it.",
        }
    if kind == "oauth":
        scope = auth.get("scope")
        scope_text = f" (it asks for: {scope})" if scope else ""
        return {
            "title": f"Sign in with {host}",
            "text": f"Each person signs in to {host} and allows access{scope_text}. The "
            "marketplace keeps the resulting tokens encrypted and renews them; the model "
            "never sees them, and you can disconnect at any time.",
        }
    return {"title": kind, "text": "This plugin uses an authentication scheme we can't describe."}


def try_asking(normalized: dict) -> list[str]:
    """Sentences a person might say: x-human-usage-examples, then x-few-shot-examples prompts."""
    seen: list[str] = []
    for op in normalized.get("operations") or []:
        candidates = list(op.get("human_usage_examples") or [])
        candidates += [example.get("prompt") for example in op.get("few_shot_examples") or []]
        for text in candidates:
            if isinstance(text, str) and text.strip() and text.strip() not in seen:
                seen.append(text.strip())
            if len(seen) >= MAX_EXAMPLES:
                return seen
    return seen


def schema_type(schema: Any) -> str:
    if not isinstance(schema, dict):
        return ""
    kind = schema.get("type")
    if kind == "array":
        inner = schema_type(schema.get("items"))
        return f"list of {inner}" if inner else "list"
    if isinstance(kind, list):
        kind = " or ".join(str(k) for k in kind)
    if schema.get("enum") and isinstance(schema["enum"], list):
        values = ", ".join(str(v) for v in schema["enum"][:6])
        return f"{kind or 'value'}: one of {values}"
    return str(kind or ("object" if "properties" in schema else ""))


def body_fields(schema: Any, prefix: str = "", depth: int = 0) -> list[dict]:
    """The request body's fields, nested objects flattened as `a.b`, within a budget."""
    if not isinstance(schema, dict) or depth > 3:
        return []
    if schema.get("type") == "array" and isinstance(schema.get("items"), dict):
        return body_fields(schema["items"], prefix + "[]", depth + 1) if prefix else []
    properties = schema.get("properties")
    if not isinstance(properties, dict):
        return []
    required = (
        set(schema.get("required") or []) if isinstance(schema.get("required"), list) else set()
    )
    fields: list[dict] = []
    for name, sub in properties.items():
        path = f"{prefix}.{name}" if prefix else str(name)
        sub = sub if isinstance(sub, dict) else {}
        fields.append(
            {
                "name": path,
                "type": schema_type(sub),
                "required": name in required,
                "description": sub.get("description") or "",
            }
        )
        fields += body_fields(sub, path, depth + 1)
        if len(fields) >= MAX_FIELDS:
            break
    return fields[:MAX_FIELDS]


def operations(normalized: dict) -> list[dict]:
    """Each operation with its parameters and request-body fields ready to show."""
    shown = []
    for op in normalized.get("operations") or []:
        body = op.get("request_body") or None
        shown.append(
            {
                "name": op.get("name"),
                "method": (op.get("method") or "").lower(),
                "path": op.get("path"),
                "summary": op.get("summary") or "",
                "description": op.get("description") or "",
                "parameters": [
                    {
                        "name": p.get("name"),
                        "in": p.get("in"),
                        "required": bool(p.get("required")),
                        "type": schema_type(p.get("schema")),
                        "description": p.get("description") or "",
                    }
                    for p in op.get("parameters") or []
                    if p.get("in") != "header"
                ],
                "body": body_fields(body.get("schema")) if body else [],
                "body_content_type": (body or {}).get("content_type") or "",
                "examples": [e for e in op.get("human_usage_examples") or [] if isinstance(e, str)],
            }
        )
    return shown


def version_facts(normalized: dict) -> dict:
    """What the plugin page shows of a version besides its operations: the service's host, the
    auth in plain words, "try asking", the contact address and the legal link (unvetted: the
    caller vets links)."""
    contact = normalized.get("contact_email")
    legal = normalized.get("legal_info_url")
    return {
        "host": service_host(normalized),
        "auth": auth_explanation(normalized),
        "try_asking": try_asking(normalized),
        "contact_email": contact if isinstance(contact, str) else "",
        "legal_info_url": legal if isinstance(legal, str) else "",
    }


def changelog(diff: dict | None) -> list[str]:
    """A version's diff against the one before it, as short sentences."""
    if not diff:
        return []
    lines = []
    if diff.get("added"):
        lines.append("Added " + ", ".join(diff["added"]))
    if diff.get("removed"):
        lines.append("Removed " + ", ".join(diff["removed"]))
    for change in diff.get("changed") or []:
        details = "; ".join(c.get("detail", "") for c in change.get("changes") or [])
        lines.append(f"Changed {change.get('operation')}: {details}")
    for change in diff.get("plugin") or []:
        lines.append(change.get("detail", ""))
    if diff.get("breaking"):
        lines.append("Breaking: calls made for the previous version may fail.")
    return lines or ["No operation changed."]
