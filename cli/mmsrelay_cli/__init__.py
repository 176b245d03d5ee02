"""The ``mmsrelay`` command line: send MMS through the relay, follow them, recover failures.

It works on an AWS stack named by ``--stack`` (with ``--profile``/``--region``) or on the local
stack ``make up`` runs; README's "The command line" describes every command and exit code.
It is no part of the Lambda layer: it runs on an operator's or a producer's machine.
"""
