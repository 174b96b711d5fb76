"""Every write on the people of an organization, one topic a module, each with its audit
row in the transaction of the change (Zulip's `actions/`): membership, signup, invitations,
groups, two-factor, single sign-on."""
