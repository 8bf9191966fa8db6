"""Every model of the app, re-exported so Django finds them; each lives with its concern.

``delivery``: what we asked for, what came back, what it cost, how it felt.
``watch``: each engagement's health, its daily trend and the record of each sweep.
``alerts``: alerts, notification channels, the escalation policy, the outbox, the digest.
``postmortems``: post-mortems, lessons, acknowledgements and checklist items.
``portal``: the vendor contacts' private links to an engagement's brief.
``capture``: mail and calendar invites captured, routed and turned into interactions.
``forges``: code-forge webhook connections, repository mapping and the deliveries log.
"""

from .alerts.models import *  # noqa: F403
from .capture.models import *  # noqa: F403
from .delivery.models import *  # noqa: F403
from .forges.models import *  # noqa: F403
from .portal.models import *  # noqa: F403
from .postmortems.models import *  # noqa: F403
from .watch.models import *  # noqa: F403
