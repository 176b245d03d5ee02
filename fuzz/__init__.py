"""Hostile input at volume: requests generated from schemas/openapi.yaml, sent to the deployed local stack.

``make fuzz`` (``python -m fuzz``) deploys the stack beside the gateway simulator and sends at least
5,000 generated requests to each operation of the document; the system tier runs the same checks on a
few dozen per operation (tests/system/test_fuzz.py). What is checked, for every request:

- no 5xx, and the answer is one the document describes (status, headers, body);
- a request without valid credentials is refused (401 on the webhooks, 403 on the query API);

and after the run:

- no unhandled exception in any deployed function's log;
- nothing stored for a transaction GUID that only refused requests carried.
"""
