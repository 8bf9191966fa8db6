"""What the sweep tells the concerns built on the watcher, without importing them.

Registered from ``EngagementsConfig.ready()`` (see ``engagements.delivery.hooks``).
"""

from engagements.delivery.hooks import Hook

# ``facts``, ``levels``, ``signals``, ``at``, ``result``, ``engagement_ids``, ``id_range``: one
# chunk's verdicts (of active engagements only; ``engagement_ids`` as asked), written; a
# receiver acts on them (opens, escalates, resolves alerts) and records
# what it did in ``result`` (``result.changed(org_id, …)``, ``result.notifications``).
evaluated = Hook("evaluated")
