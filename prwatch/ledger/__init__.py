"""The delivery ledger: GitHub's own log of webhook attempts, checked against what was stored.

GitHub never redelivers on its own
(https://docs.github.com/en/webhooks/using-webhooks/handling-failed-webhook-deliveries): a
delivery that failed (our endpoint was down, slow, or the network dropped it) is lost unless it
is redelivered within 3 days. ``check_delivery_ledger`` (``prwatch.ledger.check``) reads the
App's delivery log back to its last check, and redelivers each failed delivery prwatch never
stored, once. The decision is pure (``prwatch.ledger.decisions``).
"""
