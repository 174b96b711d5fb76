"""Signals the knowledge base sends to the rooms above it, which it may not import."""

from django.dispatch import Signal

# Sent once the transaction that made documents searchable has committed, with
# `workspace_ids`: the workspaces that gained or changed passages. Receivers run in the
# process that indexed them (the ingestion worker), with the organization's schema in force.
documents_indexed = Signal()
