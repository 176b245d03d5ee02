"""What the command line exits with, and the errors that carry each code.

Scripts may rely on these codes (README, "The command line"):

== ============================================================================================
0  done: the job was put on the queue (and, with ``--wait``, sent and delivered), the entries were
   listed or moved, the message was found
1  done, and what it reports failed: the message failed or a receipt says it was not delivered,
   an entry could not be moved back, the webhook refused the simulated MO
2  usage: a bad argument, a job the schema refuses, a number that cannot exist (nothing was sent)
3  not found: no such message, DLQ entry, queue or stack
4  timed out waiting (``--wait``, ``inbound simulate``): the outcome is not known yet
5  unavailable: the stack or AWS could not be reached, or refused the credentials or the call
130 interrupted (Ctrl-C)
== ============================================================================================
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    FAILED = 1
    USAGE = 2
    NOT_FOUND = 3
    TIMED_OUT = 4
    UNAVAILABLE = 5
    INTERRUPTED = 130


class CliError(Exception):
    """An outcome the command reports with its exit code and one line on stderr."""

    exit_code = ExitCode.FAILED


class Failed(CliError):
    exit_code = ExitCode.FAILED


class UsageError(CliError):
    exit_code = ExitCode.USAGE


class NotFound(CliError):
    exit_code = ExitCode.NOT_FOUND


class TimedOut(CliError):
    exit_code = ExitCode.TIMED_OUT


class Unavailable(CliError):
    exit_code = ExitCode.UNAVAILABLE
