"""Jobs and the queues that run them: arq on Redis in production, in-process when embedded.

Both queues run the same job functions (``prwatch.queue.jobs``) with the same semantics: a
job id is never queued twice at once, transient errors retry with backoff, and nothing a job
needs lives only in the queue — deliveries are in the database first, so a lost queue loses
nothing that recovery cannot find again.
"""
