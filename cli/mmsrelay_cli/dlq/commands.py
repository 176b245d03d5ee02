"""``dlq list``, ``dlq show`` and ``dlq redrive``."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from mmsrelay_cli.dlq.explain import explain
from mmsrelay_cli.dlq.movers import EntryNotMoved, mover_for
from mmsrelay_cli.dlq.queues import Entry, QueueReader, queue_named, queues_of
from mmsrelay_cli.errors import Failed
from mmsrelay_cli.query_api import MessageReader
from mmsrelay_cli.render import Output, Progress, block, table
from mmsrelay_cli.stack import Stack


def list_entries(stack: Stack, api: MessageReader, kinds: Sequence[str], limit: int, output: Output) -> None:
    documents, sections = [], []
    for queue in queues_of(stack, kinds):
        reader = QueueReader(stack, queue)
        entries = reader.peek(limit)
        listed = [_listed(entry, api) for entry in entries]
        documents.append({"queue": queue.kind, "url": reader.url, "holds": queue.holds, "entries": listed})
        rows = [[e["id"], e["failedAt"], e["what"], e["why"]] for e in listed]
        shown = f" (first {limit})" if len(entries) == limit else ""
        sections.append(
            f"{queue.kind}: {queue.holds}: {len(entries)} {_entries(len(entries))}{shown}\n"
            + table(["id", "failed at", "what", "why"], rows, width=72)
        )
    output.emit({"queues": documents}, "\n\n".join(sections))


def show(stack: Stack, api: MessageReader, kind: str, entry_id: str, output: Output) -> None:
    queue = queue_named(kind)
    entry = QueueReader(stack, queue).find(entry_id)
    listed = _listed(entry, api)
    try:
        body: Any = json.loads(entry.body)
    except ValueError:
        body = entry.body
    document = {**listed, "queue": queue.kind, "attributes": entry.attributes, "body": body}
    text = block(
        [
            ("entry", entry.id),
            ("queue", f"{queue.kind} ({queue.holds})"),
            ("failed at", listed["failedAt"]),
            ("what", listed["what"]),
            ("why", listed["why"]),
            ("goes back to", queue.goes_back_to),
        ]
    )
    read_more = f"\n\nmore: mmsrelay status {listed['subject']}" if listed.get("subject") else ""
    output.emit(document, f"{text}{read_more}\n\nbody\n{json.dumps(body, indent=2)}")


def redrive(
    stack: Stack, api: MessageReader, kind: str, limit: int | None, dry_run: bool, output: Output, progress: Progress
) -> None:
    """Each entry sent back, then deleted (the package's docstring); ``Failed`` if any stayed."""
    queue = queue_named(kind)
    reader = QueueReader(stack, queue)
    mover = mover_for(stack, queue)
    results: list[dict[str, Any]] = []
    kept: list[Entry] = []  # left in the queue: made visible again when the run is over
    try:
        for batch in reader.batches(limit):
            for entry in batch:
                listed = _listed(entry, api)
                progress.update(f"{queue.kind}: entry {len(results) + 1}: {listed['what']}")
                if dry_run:
                    kept.append(entry)
                    results.append({**listed, "result": f"would go back to {queue.goes_back_to}", "moved": False})
                    continue
                try:
                    done = mover.move(entry)
                    reader.delete(entry)
                except EntryNotMoved as error:
                    kept.append(entry)
                    results.append({**listed, "result": f"left in the queue: {error}", "moved": False})
                    continue
                except BaseException:
                    # Interrupted (Ctrl-C, an error) before the delete: the entry stays, visible again
                    # at once (after HOLD_SECONDS if the process is killed); sent or not, a rerun is safe.
                    kept.append(entry)
                    raise
                results.append({**listed, "result": done, "moved": True})
    finally:
        reader.release(kept)
        progress.done()
    moved = sum(1 for result in results if result["moved"])
    count = f"{len(results) if dry_run else moved} of {len(results)} {_entries(len(results))}"
    text = f"{queue.kind}: {'would move' if dry_run else 'moved'} {count} back to {queue.goes_back_to}\n" + table(
        ["id", "what", "result"], [[r["id"], r["what"], r["result"]] for r in results], width=72
    )
    output.emit({"queue": queue.kind, "dryRun": dry_run, "moved": moved, "entries": results}, text)
    left = [r for r in results if not r["moved"]]
    if left and not dry_run:
        raise Failed(
            f"{len(left)} entr{'y' if len(left) == 1 else 'ies'} could not be moved back and stay in the queue"
        )


def _listed(entry: Entry, api: MessageReader) -> dict[str, Any]:
    explanation = explain(entry, api)
    return {
        "id": entry.id,
        "failedAt": entry.failed_at,
        "receives": entry.receives,
        "what": explanation.what,
        "why": explanation.why,
        "subject": explanation.subject,
    }


def _entries(count: int) -> str:
    return "entry" if count == 1 else "entries"
