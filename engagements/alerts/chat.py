"""Chat and paging channels through Apprise (one library, many services): which URLs are
allowed, how they are shown without their secrets, the messages, and the guarded send.

An Apprise URL names a service and carries its credentials (``slack://T…/B…/…``, a Teams
Workflows URL, ``tgram://BOT_TOKEN/CHAT_ID``…). Only the services in ``SERVICES`` are
allowed: chat and paging services that Apprise reaches over HTTP(S) with ``requests``, so
every connection passes the SSRF guard (``ssrf.guarded_connections``). Schemes that write
files, run local programs, talk to the desktop, or send mail through a server the URL names
(``file://``, ``mailto://``, ``syslog://``, ``windows://``…) are refused, and so are URLs
that ask Apprise to load a message template (``template=``: a file or a URL of the user's).

Slack and Microsoft Teams get a message built for them (Block Kit attachment, Adaptive
Card: level, engagement, vendor, health, the top signals, a button to the alert), from the
JSON templates beside this module; the other services get a title and a Markdown body that
Apprise converts to each service's own format.
"""

import logging
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from apprise import Apprise, AppriseAsset, NotifyFormat, NotifyType
from apprise.manager_plugins import NotificationManager
from apprise.plugins import url_to_dict
from apprise.plugins.custom_form import NotifyForm
from apprise.plugins.custom_json import NotifyJSON
from apprise.plugins.discord import NotifyDiscord
from apprise.plugins.google_chat import NotifyGoogleChat
from apprise.plugins.gotify import NotifyGotify
from apprise.plugins.matrix import NotifyMatrix
from apprise.plugins.mattermost import NotifyMattermost
from apprise.plugins.ntfy import NotifyNtfy
from apprise.plugins.opsgenie import NotifyOpsgenie
from apprise.plugins.pagerduty import NotifyPagerDuty
from apprise.plugins.pushover import NotifyPushover
from apprise.plugins.rocketchat import NotifyRocketChat
from apprise.plugins.slack import NotifySlack
from apprise.plugins.telegram import NotifyTelegram
from apprise.plugins.workflows import NotifyWorkflows
from django.conf import settings
from django.core.exceptions import ValidationError

from engagements.alerts import ssrf
from engagements.watch import rules

FIELD = "apprise_url"
TEMPLATES = Path(__file__).with_name("chat_templates")
MAX_URL_LENGTH = 2000  # NotificationChannel.apprise_url
TOP_SIGNALS = 3  # a chat message names the most severe signals; the alert page has them all


@dataclass(frozen=True)
class Service:
    plugin: type
    label: str
    example: str


# The allow-list, in the order the channel form's help shows it (docs/alerts-and-notifications.md
# lists the same). Each is a chat or paging service Apprise reaches with ``requests``.
SERVICES = (
    Service(NotifySlack, "Slack", "https://hooks.slack.com/services/T…/B…/… or slack://T…/B…/…"),
    Service(
        NotifyWorkflows,
        "Microsoft Teams",
        "the Workflows webhook URL (https://….logic.azure.com/…/workflows/…) "
        "or workflows://HOST/WORKFLOW_ID/SIGNATURE",
    ),
    Service(NotifyDiscord, "Discord", "https://discord.com/api/webhooks/ID/TOKEN"),
    Service(NotifyMattermost, "Mattermost", "mmosts://chat.example.com/HOOK_TOKEN"),
    Service(NotifyMatrix, "Matrix", "matrixs://user:password@matrix.example.com/#room"),
    Service(NotifyTelegram, "Telegram", "tgram://BOT_TOKEN/CHAT_ID"),
    Service(NotifyRocketChat, "Rocket.Chat", "rockets://user:password@chat.example.com/#channel"),
    Service(NotifyGoogleChat, "Google Chat", "gchat://WORKSPACE/KEY/TOKEN"),
    Service(NotifyNtfy, "ntfy", "ntfys://ntfy.sh/your-topic"),
    Service(NotifyGotify, "Gotify", "gotifys://gotify.example.com/APP_TOKEN"),
    Service(NotifyPushover, "Pushover", "pover://USER_KEY@APP_TOKEN"),
    Service(NotifyPagerDuty, "PagerDuty", "pagerduty://INTEGRATION_KEY@API_KEY"),
    Service(NotifyOpsgenie, "Opsgenie", "opsgenie://API_KEY"),
    Service(NotifyJSON, "JSON POST", "jsons://hooks.example.com/path"),
    Service(NotifyForm, "Form POST", "forms://hooks.example.com/path"),
)
_BY_PLUGIN = {s.plugin: s for s in SERVICES}


def schemes(service: Service) -> list[str]:
    """The URL schemes Apprise reads for ``service`` (besides the services' own https URLs)."""
    names: list[str] = []
    for attr in ("protocol", "secure_protocol"):
        value = getattr(service.plugin, attr, None) or ()
        names += [value] if isinstance(value, str) else list(value)
    return names


# --- checking and masking a URL ----------------------------------------------------------------


@dataclass(frozen=True)
class Checked:
    """A URL Apprise reads, of an allowed service, past the SSRF guard."""

    service: Service
    masked: str  # for people, the audit trail and exports: no credentials


def _asset() -> AppriseAsset:
    # In memory only: Apprise may cache per-service state (logins, discovery) on disk.
    return AppriseAsset(
        app_id="Vendorwatch",
        app_desc="Vendorwatch health alerts",
        app_url=settings.SITE_URL,
        storage_mode="memory",
        secure_logging=True,
    )


def _refuse(message: str) -> ValidationError:
    return ValidationError({FIELD: message})


# Apprise's registry of schemes → plugin classes (a singleton, shared with Apprise itself).
_registry = NotificationManager()


def _malformed(service: Service) -> ValidationError:
    return _refuse(
        f"Apprise cannot use this {service.label} URL: a token or part is missing or "
        f"malformed. It should look like {service.example}."
    )


def _parse(url: str) -> tuple[Service, dict]:
    url = url.strip()
    if not url:
        raise _refuse("Paste the service's Apprise URL (examples below).")
    if len(url) > MAX_URL_LENGTH:
        raise _refuse(f"At most {MAX_URL_LENGTH} characters.")
    if "://" not in url:
        raise _refuse("An Apprise URL starts with its service, e.g. slack:// or https://.")
    scheme = url.split("://", 1)[0].lower()
    known = scheme in _registry
    service = _BY_PLUGIN.get(_registry[scheme]) if known else None
    if service is None and scheme not in ("http", "https"):
        raise _refuse(
            f"{scheme}:// is not allowed: Vendorwatch sends only to the chat and paging services "
            "listed below (no e-mail servers, files, programs or desktop notifications)."
        )
    results = url_to_dict(url, secure_logging=True)
    if results is None and service is not None:
        raise _malformed(service)
    if results is None:
        raise _refuse(
            "Apprise does not recognise this web address as a Slack, Teams or Discord "
            "webhook. For a plain signed JSON POST, add a Webhook channel instead."
        )
    # An https:// URL is the service's own webhook address (hooks.slack.com…): its plugin.
    service = _BY_PLUGIN.get(_registry[results["schema"]])
    if service is None:
        raise _refuse(f"{results['schema']}:// is not allowed here.")
    if "template" in results or "template" in results.get("qsd", {}):
        raise _refuse("Remove template=: Vendorwatch formats the message itself.")
    return service, results


def _instantiate(results: dict, **extra):
    """The Apprise plugin for parsed ``results``, with our transport rules: certificates
    verified, redirects not followed (as webhooks), our timeout."""
    plugin = Apprise.instantiate({**results, **extra}, asset=_asset(), suppress_exceptions=True)
    if plugin is None:
        return None
    timeout = float(settings.HEALTH_WEBHOOK_TIMEOUT)
    plugin.socket_connect_timeout = timeout
    plugin.socket_read_timeout = timeout
    plugin.verify_certificate = True
    plugin.redirects = False
    return plugin


_LONG_SEGMENT = re.compile(r"^[^.]{13,}$")


def mask(plugin) -> str:
    """The URL as Apprise prints it in privacy mode (tokens ``T...2``, passwords ``****``),
    without its options and with any other long path segment shortened the same way: a
    generic receiver's path may hold a token Apprise does not know is one."""
    masked = plugin.url(privacy=True).split("?", 1)[0]
    scheme, rest = masked.split("://", 1)
    host, _, path = rest.partition("/")
    parts = [
        f"{p[0]}...{p[-1]}" if _LONG_SEGMENT.match(p) and "..." not in p else p
        for p in path.split("/")
    ]
    return f"{scheme}://{host}/" + "/".join(parts).rstrip("/") + ("/" if path else "")


def check_url(url: str) -> Checked:
    """Save time: an allowed service whose URL Apprise can use, and whose host (for the
    services whose URL names one: Teams Workflows, Mattermost, ntfy, JSON…) is no private
    address. ``ValidationError`` on ``apprise_url`` says what is wrong, never the secret."""
    service, results = _parse(url)
    plugin = _instantiate(results)
    if plugin is None:
        raise _malformed(service)
    if "host" in plugin.template_tokens and plugin.host:
        port = plugin.port or (443 if plugin.secure or service.plugin is NotifyWorkflows else 80)
        ssrf.check_host(plugin.host, port, field=FIELD)
    return Checked(service=service, masked=mask(plugin)[:500])


def service_label(masked_url: str) -> str:
    """The service of a stored (masked) URL, by its scheme: "Slack", "Microsoft Teams"…"""
    scheme = masked_url.split("://", 1)[0].lower()
    for service in SERVICES:
        if scheme in schemes(service):
            return service.label
    return "Apprise"


# --- the message ---------------------------------------------------------------------------------

LEVEL_LABELS = {"watch": "Watch", "warning": "Warning", "cut_losses": "Cut your losses"}
NOTIFY_TYPES = {
    "watch": NotifyType.INFO,
    "warning": NotifyType.WARNING,
    "cut_losses": NotifyType.FAILURE,
}
SLACK_COLORS = {"watch": "#8a6d00", "warning": "#b25e09", "cut_losses": "#7a1020", "": "#1f5fbf"}
# Adaptive Card container styles and text colours (the named ones Teams themes recolour).
TEAMS_STYLES = {"watch": "accent", "warning": "warning", "cut_losses": "attention", "": "emphasis"}
TEAMS_COLORS = {"watch": "Accent", "warning": "Warning", "cut_losses": "Attention", "": "Default"}


@dataclass(frozen=True)
class Message:
    """What a chat message says; ``level`` "" is a channel's test message."""

    level: str
    engagement: str = ""
    vendor: str = ""
    score: int | None = None
    signals: list = field(default_factory=list)
    link: str = ""
    reminder: int = 0
    # A contract's decide-by reminder: its words, written when it was queued.
    subject: str = ""
    text: str = ""

    @property
    def level_label(self) -> str:
        return LEVEL_LABELS.get(self.level, "Test")

    @property
    def title(self) -> str:
        if self.subject:
            return self.subject
        if not self.level:
            return "Vendorwatch test notification"
        again = f" (reminder {self.reminder})" if self.reminder else ""
        return f"{self.level_label}: {self.engagement}{again}"

    @property
    def notify_type(self) -> NotifyType:
        return NOTIFY_TYPES.get(self.level, NotifyType.INFO)

    def top_signals(self) -> list[tuple[str, str]]:
        """(label, evidence) of the most severe signals, most severe first."""
        ranked = sorted(self.signals, key=lambda s: -int(s.get("severity") or 0))[:TOP_SIGNALS]
        return [
            (
                s.get("label") or rules.LABELS.get(s["kind"], s["kind"]),
                " ".join(str(s.get("evidence") or "").split()),
            )
            for s in ranked
        ]

    @property
    def link_text(self) -> str:
        if self.subject:
            return "Open the contract"
        return "Open the alert" if self.level else "Notification settings"

    def _lines(self, bullet: str, bold: str, escape) -> str:
        if self.subject:
            return escape(self.text)
        if not self.level:
            return "This channel works: Vendorwatch alerts will arrive here."
        top = self.top_signals()
        lines = [f"{bullet}{bold}{escape(label)}{bold}: {escape(text)}" for label, text in top]
        if (more := len(self.signals) - len(top)) > 0:
            lines.append(f"{bullet}and {more} more")
        return "\n".join(lines) or "No signal recorded."

    def markdown(self) -> str:
        """The body for every service but Slack and Teams (Apprise converts it)."""
        if not self.level or self.subject:
            return f"{self._lines('', '', str)}\n\n[{self.link_text}]({self.link})"
        head = f"**{self.level_label}** · {self.engagement}"
        head += f" ({self.vendor})" if self.vendor else ""
        head += f" · health {self.score}/100" if self.score is not None else ""
        body = self._lines("- ", "**", str)
        return f"{head}\n\n{body}\n\n[{self.link_text}]({self.link})"

    def tokens(self, *, bullet: str, bold: str, escape) -> dict[str, str]:
        """The ``{{vw_*}}`` values of the Slack and Teams templates; ``escape`` is the
        service's own escaping of text (Apprise then escapes the values for JSON)."""
        return {
            "vw_title": escape(self.title)[:150],
            "vw_level": self.level_label,
            "vw_engagement": escape(self.engagement or "—")[:300],
            "vw_vendor": escape(self.vendor or "—")[:300],
            "vw_score": f"{self.score}/100" if self.score is not None else "—",
            "vw_signals": self._lines(bullet, bold, escape)[:2900],
            "vw_link": self.link,
            "vw_link_text": self.link_text,
            "vw_color": SLACK_COLORS.get(self.level, SLACK_COLORS[""]),
            "vw_style": TEAMS_STYLES.get(self.level, TEAMS_STYLES[""]),
            "vw_text_color": TEAMS_COLORS.get(self.level, TEAMS_COLORS[""]),
        }


def _slack_escape(text: str) -> str:
    # Slack's mrkdwn: these three are control characters in any text object.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _teams_escape(text: str) -> str:
    # Adaptive Card TextBlocks read a Markdown subset: keep names literal.
    return re.sub(r"([\\*_\[\]()#>`~])", r"\\\1", text)


# --- sending -------------------------------------------------------------------------------------


class NotDelivered(Exception):
    """The service did not take the message; the text says why (never a credential)."""


class _Capture(logging.Handler):
    """Apprise reports failures by logging; this keeps the records of the threads that are
    sending right now (one dispatch run per thread), each for its own delivery."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.active: dict[int, list[logging.LogRecord]] = {}

    def emit(self, record: logging.LogRecord) -> None:
        records = self.active.get(record.thread or 0)
        if records is not None:
            records.append(record)

    @contextmanager
    def records(self) -> Iterator[list[logging.LogRecord]]:
        logger = logging.getLogger("apprise")
        if self not in logger.handlers:  # a later logging setup (Django's, Celery's) drops it
            logger.addHandler(self)
        if not logger.propagate and logger.getEffectiveLevel() > logging.DEBUG:
            # The connection error behind a failure is logged at DEBUG; kept here only
            # (settings.LOGGING: no propagation), so it costs no noise in the logs.
            logger.setLevel(logging.DEBUG)
        ident = threading.get_ident()
        self.active[ident] = records = []
        try:
            yield records
        finally:
            self.active.pop(ident, None)


_capture = _Capture()


def _why(records: list[logging.LogRecord], url: str, *, host_is_token: bool) -> str:
    """Apprise's warnings and the connection error behind them, without the URL's secrets."""
    lines = [
        r.getMessage()
        for r in records
        if r.levelno >= logging.WARNING or r.getMessage().startswith("Socket Exception")
    ]
    text = " ".join(dict.fromkeys(" ".join(line.split()) for line in lines))[:800]
    for piece in _secret_pieces(url, host_is_token=host_is_token):
        text = text.replace(piece, f"{piece[0]}...{piece[-1]}")
    return text or "the service did not accept the message"


# Path words of the services' own URLs: not secrets, and the errors read better with them.
_PLAIN_WORDS = {"services", "webhooks", "workflows", "triggers", "manual", "invoke", "message"}


def _secret_pieces(url: str, *, host_is_token: bool = False) -> list[str]:
    """The parts of an Apprise URL that may be credentials: the user and password, and the
    path's and query's longer pieces, longest first; the host and port too where the
    service's URL puts a token there (``slack://TOKEN_A/…``, ``tgram://BOT_TOKEN/…``)."""
    rest = url.split("://", 1)[-1]
    netloc, _, tail = rest.partition("/")
    userinfo, _, host = netloc.rpartition("@")
    pieces = re.split(r"[:]", userinfo) if userinfo else []
    pieces += re.split(r"[:]", host) if host_is_token else []
    pieces += [p for p in re.split(r"[/?&=#+:,]", tail) if len(p) >= 6 and p not in _PLAIN_WORDS]
    return sorted({p for p in pieces if len(p) >= 3}, key=len, reverse=True)


def deliver(*, apprise_url: str, message: Message, idempotency_key: str) -> None:
    """Send ``message`` to the channel's service; ``NotDelivered`` if it did not take it.

    Every connection (redirects refused; hosts a plugin finds on its own, such as Matrix's
    discovery, too) passes the SSRF guard. A generic JSON or form receiver gets the
    ``Idempotency-Key`` header; chat services have no such header, so a message sent just
    before a worker died may show twice there (see docs/alerts-and-notifications.md)."""
    if not apprise_url:
        raise NotDelivered("the channel has no Apprise URL (exports withhold it): enter it again")
    try:
        service, results = _parse(apprise_url)
    except ValidationError as exc:  # allowed when saved; a newer check refuses it now
        raise NotDelivered(" ".join(exc.messages)) from None
    if service.plugin is NotifySlack:
        extra = {
            "template": str(TEMPLATES / "slack.json"),
            "tokens": message.tokens(bullet="• ", bold="*", escape=_slack_escape),
        }
    elif service.plugin is NotifyWorkflows:
        extra = {
            "template": str(TEMPLATES / "teams.json"),
            "tokens": message.tokens(bullet="- ", bold="**", escape=_teams_escape),
        }
    else:
        extra = {}
    plugin = _instantiate(results, **extra)
    if plugin is None:
        raise NotDelivered(f"Apprise can no longer read this {service.label} URL; correct it")
    if service.plugin in (NotifyJSON, NotifyForm):
        plugin.headers["Idempotency-Key"] = idempotency_key
    with ssrf.guarded_connections(), _capture.records() as records:
        delivered = plugin.notify(
            title=message.title,
            body=message.markdown(),
            body_format=NotifyFormat.MARKDOWN,
            notify_type=message.notify_type,
        )
    if not delivered:
        why = _why(records, apprise_url, host_is_token="host" not in plugin.template_tokens)
        raise NotDelivered(f"{service.label}: {why}")
