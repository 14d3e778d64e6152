"""The fetch stage: get a plugin's documents from the web through the one outbound client.

Nothing here parses more than it must: the manifest is read only to find `api.url`, which is
fetched only when it is on the manifest's root domain. Every failure becomes a finding with a
stable code; transient network failures are raised as TransientFetchFailure for Celery to retry.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from plugins.ingest.budget import BUDGET_EXHAUSTED, metered
from plugins.outbound import (
    DOCUMENT_CONTENT_TYPES,
    DOCUMENT_TIMEOUT,
    FetchError,
    FetchResult,
    document_media_type,
    fetch,
    same_site_redirects_only,
)
from plugins.validation import Finding, Severity
from plugins.validation.domains import host_of, on_root_domain, origin_of, root_domain
from plugins.validation.identity import parse_manifest
from plugins.validation.normalize import manifest_api_url
from plugins.validation.parsing import MANIFEST_MAX_BYTES, SPEC_MAX_BYTES

MAX_BUNDLED_REFS = 10
REF_TIMEOUT = 5.0


class TransientFetchFailure(Exception):
    """A network failure worth retrying (timeout, refused connection, 5xx). `host` and
    `timed_out` let the run decide whether a retry is worth it (see plugins.ingest.budget)."""

    def __init__(self, finding: Finding, *, host: str | None = None, timed_out: bool = False):
        super().__init__(finding.message)
        self.finding = finding
        self.host = host
        self.timed_out = timed_out


@dataclass
class FetchedDocuments:
    manifest: bytes | None = None
    manifest_content_type: str = ""
    manifest_url: str = ""
    openapi: bytes | None = None
    openapi_content_type: str = ""
    openapi_url: str = ""
    origin: str = ""
    findings: list[Finding] = field(default_factory=list)

    @property
    def usable(self) -> bool:
        return self.openapi is not None and not any(
            f.severity == Severity.ERROR for f in self.findings
        )


def _on_plugin_domain(url: str, origin: str) -> bool:
    return on_root_domain(host_of(url), root_domain(origin))


_HINTS = {
    "unexpected_content_type": "Serve the document as application/json or application/yaml "
    "(text/plain works too); the type named above is not a document type.",
    "timeout": "The server answered too slowly or not at all; it must send the whole document "
    "within a few seconds.",
    BUDGET_EXHAUSTED: "Earlier requests of this run were too slow; make the server answer "
    "quickly, then submit again.",
    "dns_failed": "The host name does not resolve; check it for typos.",
    "connect_failed": "Nothing answered at that address; check that the server is up and "
    "reachable from the internet.",
    "too_large": "The document is larger than the marketplace accepts; remove unused parts.",
    "too_many_redirects": "Link to the document itself rather than through redirects.",
    "redirect_not_allowed": "The server redirected to another site; link to the document on "
    "the plugin's own domain.",
    "address_blocked": "Use a public address; private and local networks can't be reached.",
    "https_required": "Serve the document over HTTPS.",
}
_DEFAULT_HINT = "Check that the URL is public, served over HTTPS and answers quickly."


def _failure(document: str, what: str, exc: FetchError) -> Finding:
    code = exc.code.removeprefix("outbound.")
    return Finding(
        severity=Severity.ERROR,
        code=f"fetch.{what}.{code}",
        document=document,
        pointer="",
        message=f"Fetching the {what}: {exc.message}",
        hint=_HINTS.get(code, _DEFAULT_HINT),
    )


def _status_finding(document: str, what: str, result: FetchResult) -> Finding:
    return Finding(
        severity=Severity.ERROR,
        code=f"fetch.{what}.http_status",
        document=document,
        pointer="",
        message=f"Fetching the {what} returned HTTP {result.status}.",
        hint="The URL must answer 200 with the document.",
    )


def _get(
    url: str,
    *,
    document: str,
    what: str,
    max_bytes: int,
    redirect_policy: Callable[[str, str], bool] | None = None,
    timeout: float | None = None,
) -> tuple[FetchResult | None, Finding | None]:
    try:
        with metered(DOCUMENT_TIMEOUT if timeout is None else timeout) as allowed:
            result = fetch(
                url,
                max_bytes=max_bytes,
                timeout=allowed,
                redirect_policy=redirect_policy,
                accept_content_types=DOCUMENT_CONTENT_TYPES,
            )
    except FetchError as exc:
        finding = _failure(document, what, exc)
        if exc.transient:
            raise TransientFetchFailure(
                finding, host=host_of(url), timed_out=exc.code == "outbound.timeout"
            ) from None
        return None, finding
    if result.status >= 500 or result.status == 429:
        raise TransientFetchFailure(_status_finding(document, what, result), host=host_of(url))
    if result.status != 200:
        return None, _status_finding(document, what, result)
    return result, None


def fetch_from_manifest_url(manifest_url: str, on_stage: Callable[[str], None]) -> FetchedDocuments:
    on_stage("fetching_manifest")
    host = host_of(manifest_url) or ""
    out = FetchedDocuments(manifest_url=manifest_url, origin=origin_of(manifest_url) or host)
    result, problem = _get(
        manifest_url,
        document="manifest",
        what="manifest",
        max_bytes=MANIFEST_MAX_BYTES,
        redirect_policy=same_site_redirects_only(host),
    )
    if problem:
        out.findings.append(problem)
        return out
    out.manifest, out.manifest_content_type = result.content, _arrived_as(result)
    out.origin = origin_of(result.final_url) or out.origin
    manifest = parse_manifest(result.content)
    if manifest is None:
        return out  # the validator explains what is wrong with the manifest
    return _follow_api_url(out, manifest, result.final_url, on_stage)


def fetch_from_openapi_url(openapi_url: str, on_stage: Callable[[str], None]) -> FetchedDocuments:
    out = FetchedDocuments(origin=origin_of(openapi_url) or "")
    return _fetch_spec(out, openapi_url, on_stage)


def _follow_api_url(
    out: FetchedDocuments, manifest: dict, manifest_url: str, on_stage: Callable[[str], None]
) -> FetchedDocuments:
    """Fetch the manifest's api.url, but only on the manifest's root domain."""
    api_url = manifest_api_url(manifest, manifest_url)
    if api_url is None:
        return out
    if not _on_plugin_domain(api_url, out.origin):
        # Reported here because the validator, which has no spec to model, can't.
        out.findings.append(
            Finding(
                severity=Severity.ERROR,
                code="manifest.api.url.off_domain",
                document="manifest",
                pointer="/api/url",
                message="api.url is not on the manifest's root domain, so it was not fetched.",
                hint=f"Serve the OpenAPI document from {root_domain(out.origin)} or a subdomain.",
            )
        )
        return out
    return _fetch_spec(out, api_url, on_stage)


def _fetch_spec(
    out: FetchedDocuments, url: str, on_stage: Callable[[str], None]
) -> FetchedDocuments:
    on_stage("fetching_spec")
    out.openapi_url = url
    result, problem = _get(url, document="openapi", what="openapi", max_bytes=SPEC_MAX_BYTES)
    if problem:
        out.findings.append(problem)
        return out
    manifest = parse_manifest(result.content) if out.manifest is None else None
    if manifest is not None:
        # The URL given as an OpenAPI document was a manifest after all.
        out.manifest, out.manifest_content_type = result.content, _arrived_as(result)
        out.manifest_url = result.final_url
        return _follow_api_url(out, manifest, result.final_url, on_stage)
    out.openapi, out.openapi_content_type = result.content, _arrived_as(result)
    return out


def _arrived_as(result: FetchResult) -> str:
    """The document's media type as stored on the version: the header's where it names a
    format, the sniffed format where it is vague (text/plain, octet-stream, none)."""
    return document_media_type(result.content_type, result.content)


def fetch_bundled_refs(urls: tuple[str, ...], origin: str) -> tuple[dict[str, str], list[Finding]]:
    """Fetch same-root-domain remote $ref documents within the spec size budget."""
    bundled: dict[str, str] = {}
    findings: list[Finding] = []
    budget = SPEC_MAX_BYTES
    for url in urls[:MAX_BUNDLED_REFS]:
        if not _on_plugin_domain(url, origin):
            continue  # the validator reports off-domain refs; they are never fetched
        try:
            result, problem = _get(
                url, document="openapi", what="ref", max_bytes=budget, timeout=REF_TIMEOUT
            )
        except TransientFetchFailure as failure:
            problem, result = failure.finding, None
        if problem or result is None:
            findings.append(
                Finding(
                    severity=Severity.WARNING,
                    code="fetch.ref.unavailable",
                    document="openapi",
                    pointer="",
                    message=f"A remote $ref document could not be fetched: "
                    f"{problem.message if problem else 'no content'}",
                    hint="Inline the referenced schemas into the document.",
                )
            )
            continue
        budget -= len(result.content)
        bundled[url] = result.content.decode("utf-8", errors="replace")
        if budget <= 0:
            break
    return bundled, findings
