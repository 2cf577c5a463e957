"""A GitHub simulator: REST, webhooks and App auth over an in-memory world.

See the end of this docstring for the surface other modules use; the full description is filled
in with the HTTP layer.

World lookups for GraphQL (prwatch/sim/world.py, class `World`):
- `world.repository(id)`, `world.repository_by_name(owner, name)` → `Repository` (raise
  `NotFoundError` for unknown or deleted ones).
- `world.open_pull_requests_by_updated(repository_id)` → open PRs, newest `updated_at` first.
- `world.pull_requests_sorted(repository_id, state, sort, direction)` → cached per version.
- `world.check_runs_for_sha(repository_id, sha, latest=True)` → latest run per (suite, name)
  (or all runs with `latest=False`), newest id first.
- `world.render` (`Renderer`) turns entities into GitHub-shaped JSON.
"""
