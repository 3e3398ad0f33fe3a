"""Command groups of the ``nurture`` CLI that belong to no one domain's service: checking cadence
files, the store's schema and the Temporal namespace (mounted by ``nurture/cli.py``)."""
