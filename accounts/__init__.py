"""Organizations (tenants), members and their roles, invitations, log-in.

A separate app because every other app depends on it and it depends on none: vendors and
engagements both need "the current organization" and "may this member write?", and the
tenant-scoping mechanism (``accounts.tenancy``) must live below both of them.
"""
