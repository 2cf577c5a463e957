"""The HTTP face of `POST /graphql`: auth, errors in a 200, limits, headers, statistics."""

from __future__ import annotations

from sim_graphql_support import Client, Sim, checks_query, connect, make_sim

from prwatch.sim.entities import Repository
from prwatch.sim.limits import installation_subject

REPO_NAME = 'query { repository(owner: "%s", name: "%s") { id databaseId name nameWithOwner } }'


def own_repo(sim: Sim, client: Client) -> Repository:
    return sim.world.installation_repositories(client.installation_id)[0]


async def test_requests_without_a_valid_installation_token_get_401(
    sim: Sim, client: Client
) -> None:
    missing = await client.http.post("/graphql", json={"query": "{ rateLimit { cost } }"})
    wrong = await client.post("{ rateLimit { cost } }", token="ghs_not-a-token")
    sim.clock.advance(3600)  # the token expires after an hour
    expired = await client.post("{ rateLimit { cost } }")

    assert missing.status_code == 401
    assert missing.json()["message"] == "This endpoint requires you to be authenticated."
    for response in (wrong, expired):
        assert response.status_code == 401
        assert response.json() == {
            "message": "Bad credentials",
            "documentation_url": "https://docs.github.com/graphql",
        }
        assert "x-ratelimit-remaining" not in response.headers
    assert sim.stats.snapshot()["requests"] == {"POST /graphql": {"401": 3}}


async def test_a_suspended_installation_is_refused(sim: Sim, client: Client) -> None:
    sim.world.suspend_installation(client.installation_id)
    response = await client.post("{ rateLimit { cost } }")
    assert response.status_code == 403


async def test_a_repository_resolves_by_name(sim: Sim, client: Client) -> None:
    repo = own_repo(sim, client)
    result = await client.query(REPO_NAME % (repo.owner.login.upper(), repo.name))
    assert result == {
        "data": {
            "repository": {
                "id": sim.world.render.repository(repo)["node_id"],
                "databaseId": repo.id,
                "name": repo.name,
                "nameWithOwner": repo.full_name,
            }
        }
    }


async def test_unknown_and_foreign_repositories_are_not_found_alike(
    sim: Sim, client: Client
) -> None:
    foreign = next(
        repo
        for repo in sim.world.repositories.values()
        if repo.installation_id not in (None, client.installation_id)
    )
    query = """query { r0: repository(owner: "o", name: "r") { databaseId }
      r1: repository(owner: "%s", name: "%s") { databaseId } }"""

    response = await client.post(query % (foreign.owner.login, foreign.name))

    assert response.status_code == 200
    assert response.json() == {
        "data": {"r0": None, "r1": None},
        "errors": [
            {
                "type": "NOT_FOUND",
                "path": ["r0"],
                "locations": [{"line": 1, "column": 9}],
                "message": "Could not resolve to a Repository with the name 'o/r'.",
            },
            {
                "type": "NOT_FOUND",
                "path": ["r1"],
                "locations": [{"line": 2, "column": 7}],
                "message": f"Could not resolve to a Repository with the name "
                f"'{foreign.full_name}'.",
            },
        ],
    }


async def test_a_renamed_repository_is_followed_unless_told_not_to(
    sim: Sim, client: Client
) -> None:
    repo = own_repo(sim, client)
    old_name = repo.name
    sim.world.rename_repository(repo.id, "renamed")
    query = 'query { repository(owner: "%s", name: "%s"%s) { name } }'

    followed = await client.query(query % (repo.owner.login, old_name, ""))
    refused = await client.query(query % (repo.owner.login, old_name, ", followRenames: false"))

    assert followed == {"data": {"repository": {"name": "renamed"}}}
    assert refused["data"] == {"repository": None}
    assert refused["errors"][0]["type"] == "NOT_FOUND"


async def test_a_deleted_repository_is_not_found(sim: Sim, client: Client) -> None:
    repo = own_repo(sim, client)
    sim.world.delete_repository(repo.id)
    result = await client.query(REPO_NAME % (repo.owner.login, repo.name))
    assert result["data"] == {"repository": None}
    assert result["errors"][0]["type"] == "NOT_FOUND"


async def test_syntax_and_validation_errors_come_in_a_200_and_cost_nothing(
    sim: Sim, client: Client
) -> None:
    syntax = await client.post("query { rateLimit { cost }")
    unknown_field = await client.post("{ rateLimit { costs } }")
    bad_oid = await client.post(
        '{ repository(owner: "o", name: "r") { object(oid: "xyz") { oid } } }'
    )

    assert syntax.status_code == 200
    errors = syntax.json()["errors"]
    assert "data" not in syntax.json()
    assert errors[0]["message"].startswith("Syntax Error")
    assert errors[0]["locations"] == [{"line": 1, "column": 27}]
    assert unknown_field.status_code == 200
    assert (
        "Cannot query field 'costs' on type 'RateLimit'"
        in unknown_field.json()["errors"][0]["message"]
    )
    assert bad_oid.status_code == 200
    assert "GitObjectID" in bad_oid.json()["errors"][0]["message"]
    assert syntax.headers["x-ratelimit-used"] == "0"
    assert syntax.headers["x-ratelimit-resource"] == "graphql"
    assert sim.stats.points["graphql"] == 0


async def test_malformed_bodies_are_refused(client: Client) -> None:
    headers = {"Authorization": f"token {client.token}"}
    not_json = await client.http.post("/graphql", content=b"{", headers=headers)
    no_query = await client.http.post("/graphql", json={"q": "x"}, headers=headers)
    mutation = await client.post(
        'mutation { addStar(input: {starrableId: "x"}) { clientMutationId } }'
    )
    bad_variable = await client.post(
        "query($n: Int!) { rateLimit { cost } }", {"n": "not a number"}
    )

    assert not_json.status_code == 400
    assert not_json.json()["message"] == "Problems parsing JSON"
    assert no_query.json() == {
        "errors": [{"message": "A query attribute must be specified and must be a string."}]
    }
    assert mutation.status_code == 200
    assert "errors" in mutation.json()
    assert bad_variable.status_code == 200
    assert "$n" in bad_variable.json()["errors"][0]["message"]


async def test_rate_limit_headers_report_the_graphql_budget(sim: Sim, client: Client) -> None:
    response = await client.post("{ rateLimit { remaining } }")
    assert response.json() == {"data": {"rateLimit": {"remaining": 4999}}}
    assert {k: v for k, v in response.headers.items() if k.startswith("x-ratelimit")} == {
        "x-ratelimit-limit": "5000",
        "x-ratelimit-remaining": "4999",
        "x-ratelimit-used": "1",
        "x-ratelimit-reset": str(sim.clock.now() + 3600),
        "x-ratelimit-resource": "graphql",
    }


async def test_an_exhausted_budget_answers_rate_limited_without_data() -> None:
    sim = make_sim(graphql_rate_limit=3)
    async with connect(sim) as client:
        repo = own_repo(sim, client)
        shas = ([pr.head_sha for pr in repo.pulls] * 3)[:200]  # costs 2
        assert (await client.query(checks_query([(repo.full_name, shas)])))["data"]
        refused = await client.post(checks_query([(repo.full_name, shas)]))
        cheap = await client.post("{ rateLimit { remaining used } }")
        now = sim.clock.advance(3600)
        client.token = sim.tokens.issue(client.installation_id, now, 3600).token
        renewed = await client.post(checks_query([(repo.full_name, shas)]))

    assert refused.status_code == 200
    assert refused.json() == {
        "errors": [
            {
                "type": "RATE_LIMITED",
                "message": f"API rate limit exceeded for installation ID {client.installation_id}.",
            }
        ]
    }
    assert refused.headers["x-ratelimit-remaining"] == "1"
    assert cheap.json() == {"data": {"rateLimit": {"remaining": 0, "used": 3}}}
    assert renewed.json()["data"]["rateLimit"]["used"] == 2
    assert sim.stats.snapshot()["requests"] == {"POST /graphql": {"200": 3, "rate_limited": 1}}
    assert sim.stats.points["graphql"] == 5


async def test_more_than_2000_queries_a_minute_hit_the_secondary_limit(
    sim: Sim, client: Client
) -> None:
    """The secondary limit counts a query as 1 point, whatever its primary cost."""
    commits = " ".join(
        f'c{i}: object(oid: "{i:040x}") {{ ... on Commit {{ checkSuites(first: 100) {{ '
        f"nodes {{ checkRuns(first: 40) {{ nodes {{ name }} }} }} }} }} }}"
        for i in range(99)
    )
    query = f'{{ repository(owner: "o", name: "r") {{ {commits} }} }}'  # 99 * 101 requests: 100
    for _ in range(21):  # 2,100 primary points, 21 secondary ones
        assert (await client.post(query)).status_code == 200
    subject = installation_subject(client.installation_id)
    client.endpoint.points_per_minute.record(subject, 2000 - 22, sim.clock.now())
    assert (await client.post(query)).status_code == 200  # the 2,000th query
    sim.clock.advance(15)
    blocked = await client.post(query)
    sim.config.secondary_limits = False
    unlimited = await client.post(query)
    sim.config.secondary_limits = True
    sim.clock.advance(45)
    later = await client.post(query)

    assert blocked.status_code == 403
    assert "secondary rate limit" in blocked.json()["message"]
    assert blocked.headers["retry-after"] == "45"
    assert unlimited.status_code == 200
    assert later.status_code == 200
    assert sim.stats.points["graphql"] == 2400


async def test_too_many_concurrent_requests_hit_the_secondary_limit(
    sim: Sim, client: Client
) -> None:
    sim.secondary.in_flight = sim.config.max_concurrent
    response = await client.post("{ rateLimit { cost } }")
    sim.secondary.in_flight = 0
    assert response.status_code == 403
    assert response.headers["retry-after"] == "60"
