"""The subset of GitHub's public GraphQL schema the simulator serves, in SDL.

Names, types, arguments and nullability as in https://docs.github.com/graphql/reference; only
the fields prwatch can use are present. Resolvers live in `graphql_schema`.
"""

SDL = """
scalar DateTime
scalar GitObjectID
scalar URI

type Query {
  repository(owner: String!, name: String!, followRenames: Boolean = true): Repository
  rateLimit(dryRun: Boolean = false): RateLimit
}

type RateLimit {
  cost: Int!
  limit: Int!
  nodeCount: Int!
  remaining: Int!
  resetAt: DateTime!
  used: Int!
}

type Repository {
  id: ID!
  databaseId: Int
  name: String!
  nameWithOwner: String!
  object(oid: GitObjectID, expression: String): GitObject
  pullRequest(number: Int!): PullRequest
  pullRequests(
    states: [PullRequestState!], first: Int, after: String, last: Int, before: String,
    orderBy: IssueOrder
  ): PullRequestConnection!
}

interface GitObject { oid: GitObjectID! }

type Commit implements GitObject {
  oid: GitObjectID!
  statusCheckRollup: StatusCheckRollup
  checkSuites(first: Int, after: String, last: Int, before: String): CheckSuiteConnection
}

type StatusCheckRollup {
  state: StatusState!
  contexts(first: Int, after: String, last: Int, before: String):
    StatusCheckRollupContextConnection!
}

union StatusCheckRollupContext = CheckRun | StatusContext

type StatusContext {
  id: ID! context: String! state: StatusState! description: String targetUrl: URI
  createdAt: DateTime!
}

type CheckRun {
  id: ID!
  databaseId: Int
  name: String!
  status: CheckStatusState!
  conclusion: CheckConclusionState
  startedAt: DateTime
  completedAt: DateTime
  checkSuite: CheckSuite!
}

type CheckSuite {
  id: ID!
  databaseId: Int
  app: App
  status: CheckStatusState!
  conclusion: CheckConclusionState
  checkRuns(first: Int, after: String, last: Int, before: String): CheckRunConnection
}

type App { id: ID! databaseId: Int slug: String! name: String! }

interface Actor { login: String! }
type User implements Actor { login: String! }
type Organization implements Actor { login: String! }
type Bot implements Actor { login: String! }

type Label { name: String! }

type PullRequest {
  id: ID!
  databaseId: Int
  number: Int!
  title: String!
  state: PullRequestState!
  isDraft: Boolean!
  merged: Boolean!
  author: Actor
  labels(first: Int, after: String, last: Int, before: String): LabelConnection
  headRefOid: GitObjectID!
  headRefName: String!
  baseRefOid: GitObjectID!
  baseRefName: String!
  isCrossRepository: Boolean!
  createdAt: DateTime!
  updatedAt: DateTime!
  closedAt: DateTime
  mergedAt: DateTime
  reviewDecision: PullRequestReviewDecision
  latestReviews(first: Int, after: String, last: Int, before: String):
    PullRequestReviewConnection
}

type PageInfo {
  hasNextPage: Boolean!
  hasPreviousPage: Boolean!
  startCursor: String
  endCursor: String
}

type PullRequestConnection {
  totalCount: Int! pageInfo: PageInfo! nodes: [PullRequest] edges: [PullRequestEdge]
}
type PullRequestEdge { cursor: String! node: PullRequest }
type StatusCheckRollupContextConnection {
  totalCount: Int! pageInfo: PageInfo! nodes: [StatusCheckRollupContext]
  edges: [StatusCheckRollupContextEdge]
}
type StatusCheckRollupContextEdge { cursor: String! node: StatusCheckRollupContext }
type CheckSuiteConnection {
  totalCount: Int! pageInfo: PageInfo! nodes: [CheckSuite] edges: [CheckSuiteEdge]
}
type CheckSuiteEdge { cursor: String! node: CheckSuite }
type CheckRunConnection {
  totalCount: Int! pageInfo: PageInfo! nodes: [CheckRun] edges: [CheckRunEdge]
}
type CheckRunEdge { cursor: String! node: CheckRun }
type LabelConnection { totalCount: Int! pageInfo: PageInfo! nodes: [Label] edges: [LabelEdge] }
type LabelEdge { cursor: String! node: Label }
type PullRequestReview {
  id: ID! databaseId: Int author: Actor state: PullRequestReviewState! submittedAt: DateTime
  commit: Commit
}
type PullRequestReviewConnection {
  totalCount: Int! pageInfo: PageInfo! nodes: [PullRequestReview]
  edges: [PullRequestReviewEdge]
}
type PullRequestReviewEdge { cursor: String! node: PullRequestReview }

enum CheckStatusState { QUEUED IN_PROGRESS COMPLETED WAITING PENDING REQUESTED }
enum CheckConclusionState {
  ACTION_REQUIRED TIMED_OUT CANCELLED FAILURE SUCCESS NEUTRAL SKIPPED STARTUP_FAILURE STALE
}
enum StatusState { EXPECTED ERROR FAILURE PENDING SUCCESS }
enum PullRequestState { OPEN CLOSED MERGED }
enum PullRequestReviewState { PENDING COMMENTED APPROVED CHANGES_REQUESTED DISMISSED }
enum PullRequestReviewDecision { CHANGES_REQUESTED APPROVED REVIEW_REQUIRED }
enum IssueOrderField { CREATED_AT UPDATED_AT COMMENTS }
enum OrderDirection { ASC DESC }
input IssueOrder { field: IssueOrderField! direction: OrderDirection! }
"""
