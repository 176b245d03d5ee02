"""Settings every tier shares.

The handlers build Powertools' Logger, Metrics and Tracer when imported, reading these variables
as Lambda would find them (template.yaml gives the functions the same values).
"""

import os

os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "mms-relay")
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "MmsRelay")
os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
