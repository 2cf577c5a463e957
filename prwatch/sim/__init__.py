"""A GitHub simulator: App auth, REST, webhooks and an admin API over an in-memory world.

Runs standalone (`prwatch sim`, see `main.add_arguments` / `main.run`) or in-process:

    sim = create_simulator(SimConfig(repos=3, prs=20), clock=ManualClock(),
                           webhook_transport=httpx.ASGITransport(app=prwatch_app))
    async with sim:                      # starts/stops the background webhook sender
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=sim.app), base_url=...)
        ...
        await sim.webhooks.drain()       # every queued delivery attempted

Public surface:
- `app.create_simulator(config=None, *, world=None, clock=None, webhook_transport=None)` →
  `Simulator` with `.app` (Starlette), `.world`, `.webhooks` (`WebhookSender`), `.stats`,
  `.limiter`, `.tokens`, `.config`, `.configure(dict)`, `.private_key_pem`, `.clock`.
- `config.SimConfig`: every knob (limits, latency, faults, webhook drop/duplicate/delay/reorder).
- `clock.ManualClock` / `SystemClock`: epoch seconds; tests move time with `advance()`.
- `signing.sign(secret, body) -> "sha256=…"`.
- `world.World`: state + mutations (each emits the webhook GitHub would send);
  `World.generate(repos=, prs=, open_ratio=, seed=, installations=, checks_per_open_pr=,
  fork_ratio=)`; `world.truth()` → plain dicts (also `GET /_sim/truth`).
- `churn.churn(world, seed=, pr_fraction=, check_fraction=, close_fraction=, new_prs=)`.
- Admin HTTP API under `/_sim` (see `admin.ADMIN_ROUTES`).

World lookups (for the GraphQL layer):
- `world.repository(id)`, `world.repository_by_name(owner, name)` → `Repository` (raise
  `events.NotFoundError` for unknown or deleted ones); `repo.installation_id` for access checks.
- `world.open_pull_requests_by_updated(repository_id)` → open PRs, newest `updated_at` first.
- `world.pull_requests_sorted(repository_id, state, sort, direction)` → cached per version.
- `world.check_runs_for_sha(repository_id, sha, latest=True)` → latest run per (suite, name)
  (or all runs with `latest=False`), newest id first; `world.suites_for_sha(...)`.
- `world.check_prs(suite)` → the PRs a check run/suite lists (empty for forks).
- `world.render` (`render.Renderer`) turns entities into GitHub-shaped JSON.

Rate-limit accounting for GraphQL (`limits.RateLimiter`, at `sim.limiter`):
- `sim.limiter.charge(installation_subject(installation_id), "graphql", points, now)` → False
  (nothing spent) when the hour's budget cannot cover it; `sim.limiter.status(subject,
  "graphql", now)` → `Budget` whose `.headers("graphql")` are the `x-ratelimit-*` headers.
  Record spending with `sim.stats.spend("graphql", points)` and the request with
  `sim.stats.count("POST /graphql", "200")`. The limit is `SimConfig.graphql_rate_limit`.
- Installation tokens: `sim.tokens.lookup(token, now)` → `InstallationToken | None`.

Permissions (`permissions`): a REST route declares what it needs with
`endpoint(..., permission="checks")` (repository routes: the third element of
`rest_repos.REPO_ROUTES`); a GraphQL resolver calls `context.require("statuses")`. An
installation's grants are `inst.permissions`: what the App's manifest (`world.app_grants`)
asked for when it was installed, plus what `world.accept_new_permissions` added.

Deliberate simplifications: URLs inside JSON bodies use `SimConfig.api_url`
(https://api.github.com by default) while `Link`/`Location` headers use the request's base URL;
a repository's `open_issues_count` is computed when its cached JSON is built.
"""
