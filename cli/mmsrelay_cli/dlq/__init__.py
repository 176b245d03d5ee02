"""``dlq list|show|redrive``: the stack's failure queues, why each entry failed, and moving entries
back without losing or doubling one.

Four queues hold what failed for good: the outbound jobs' dead-letter queue, the media retries'
dead-letter queue, the events function's on-failure destination (stream batches whose events
were not published) and, when the stack receives MM4 reports, the report function's (the S3
events of reports it could not apply). The first two hold messages of a source queue; the other
two hold Lambda's invocation records, which say what to invoke again.

**Redrive: send, then delete; the consumers are idempotent.** An entry is received (and so
hidden from other readers for a while), sent back (to its source queue, or by invoking the
function again on what it failed on and checking the answer), and only then deleted from the
failure queue with the receipt handle of that receive. Standard SQS queues cannot deduplicate a
send, and no pair of calls to two queues is atomic, so a redrive interrupted between the two
steps leaves the entry in the failure queue after it was sent back; the next redrive sends it
again. That second copy changes nothing, because every consumer already treats a repeat as a
no-op: the outbound function's idempotency record (per messageId, or the id derived from the
body, kept ``IdempotencyExpiryHours``) answers the first outcome instead of sending again; a
media retry first checks that the attachment is still pending and writes a deterministic key;
the events function gives a stream record the same ``eventId`` every time (consumers deduplicate
on it, docs/events.md); an MM4 report moves a status forward only. So an entry is never lost
(it leaves the failure queue only after its send succeeded) and its effect is never doubled.
SQS's own StartMessageMoveTask is not used: it moves a whole queue with no count, no dry run and
no per-entry reason, and it cannot move Lambda's invocation records, which are no source queue's
messages.
"""
