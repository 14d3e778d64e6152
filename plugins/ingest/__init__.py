"""Ingest: turning a submission into a validated, immutable plugin version.

- `queue.py`: a run row, and its Celery message once the transaction commits (by task name).
- `run.py`: one validation run, stage by stage: fetch, check, check links, record.
- `fetch.py`: the fetch stage (manifest, `api.url` on the root domain, bundled `$ref`s) through
  the one outbound client.
- `links.py`: the link stage: logo (kept, its bytes checked) and legal page, as warnings.
- `maintenance.py`: the reaper for runs a dead worker or a lost message left behind, and the
  daily re-validation of published versions. Celery tasks in `plugins/tasks.py` call these.
"""
