"""Membership news for the layers above members, which it may not import."""

from django.dispatch import Signal

# Sent inside the transaction that removes a member, or that takes away their right to manage
# the organization, with `actor` (who did it; None for the identity provider's SCIM client, which
# `actor_label` names) and `member`. What the member vouched for with
# that right stops with it: receivers revoke it (the api app: the keys the member made) and
# return how many things they revoked.
member_authority_withdrawn = Signal()
