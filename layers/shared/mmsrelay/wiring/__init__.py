"""The only modules that join use cases and adapters: each builds its function's use case from
settings, AWS clients and the adapters, once per execution environment (cached). Nothing here
runs beyond that joining; the handlers in ``functions/`` call what these build.
"""
