"""Reading one raw message: headers, addresses, the new text, attachments, invites.

Pure functions over bytes (no database): ``parse(raw)`` never raises for bad input; what it
could not read is listed in ``problems`` so the caller can record a reason. The standard
library's parser with ``policy.default`` decodes RFC 2047 headers; a header it cannot decode
is read raw with undecodable bytes replaced, never dropped.
"""

import hashlib
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import getaddresses, parsedate_to_datetime
from html.parser import HTMLParser

from mailparser_reply import EmailReplyParser

MAX_TEXT = 20_000  # characters of new text kept per message
LANGUAGES = ["en", "de", "fr", "es", "it", "nl", "pl", "sv", "da", "cs"]
MAX_RECEIVED_HOPS = 25  # more Received headers than this: the message is going round in circles
LOOP_HEADER = "X-Vendorwatch-Loop"
AUTO_SUBJECT = re.compile(
    r"^\s*(out of (the )?office|automatic reply|auto[- ]?reply|autoreply|abwesenheitsnotiz|"
    r"réponse automatique|respuesta automática|vacation|away from the office)\b",
    re.IGNORECASE,
)
_ID = re.compile(r"<([^<>\s]{1,250})>")
CLOSING = re.compile(
    r"^\s*(many thanks|thanks|thank you|thx|great|perfect|ok|okay|sounds good|will do|noted|"
    r"got it|cheers|danke|merci|gracias)\b",
    re.IGNORECASE,
)
CLOSING_MAX = 160  # characters: a longer message says more than "thanks"


@dataclass
class Attachment:
    name: str
    content_type: str
    data: bytes


@dataclass
class Parsed:
    message_id: str = ""
    in_reply_to: str = ""
    references: list[str] = field(default_factory=list)
    subject: str = ""
    from_address: str = ""
    from_name: str = ""
    to: list[str] = field(default_factory=list)  # To, Cc and the delivery headers, lower-case
    participants: list[str] = field(default_factory=list)  # From + to, lower-case, unique
    sent_at: datetime | None = None
    text: str = ""  # the whole plain text (from HTML when there is no plain part)
    new_text: str = ""  # the reply without quotes and signature
    attachments: list[Attachment] = field(default_factory=list)
    calendars: list[bytes] = field(default_factory=list)
    auto_reply: str = ""  # why it is an auto-reply, else empty
    loop: str = ""  # why it looks like a mail loop, else empty
    problems: list[str] = field(default_factory=list)


def _header(msg: EmailMessage, name: str, problems: list[str]) -> str:
    try:
        value = msg.get(name)
        return "" if value is None else str(value)
    except Exception:
        problems.append(f"the {name} header could not be decoded")
        for key, raw in msg.raw_items():
            if key.lower() == name.lower():
                return str(raw).encode("utf-8", "replace").decode("utf-8", "replace")
        return ""


def _all(msg: EmailMessage, name: str, problems: list[str]) -> list[str]:
    try:
        return [str(v) for v in msg.get_all(name, [])]
    except Exception:
        problems.append(f"a {name} header could not be decoded")
        return [str(raw) for key, raw in msg.raw_items() if key.lower() == name.lower()]


def _ids(value: str) -> list[str]:
    return _ID.findall(value or "")


def _addresses(values: list[str]) -> list[tuple[str, str]]:
    out = []
    for name, address in getaddresses(values):
        address = address.strip().lower()
        if "@" in address and len(address) <= 320:
            out.append((name.strip()[:200], address))
    return out


class _Text(HTMLParser):
    """The visible text of HTML: tags dropped, script and style dropped with their content."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style", "head"):
            self._skip += 1
        elif tag in ("br", "p", "div", "tr", "li", "blockquote"):
            self.parts.append("\n")

    def handle_endtag(self, tag):
        if tag in ("script", "style", "head") and self._skip:
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    parser = _Text()
    try:
        parser.feed(html)
        parser.close()
    except Exception:
        pass
    return re.sub(r"\n{3,}", "\n\n", "".join(parser.parts)).strip()


def _content(part: EmailMessage) -> str:
    try:
        content = part.get_content()
    except Exception:
        payload = part.get_payload(decode=True) or b""
        content = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""
    if isinstance(content, bytes):
        content = content.decode("utf-8", "replace")
    return content if isinstance(content, str) else ""


def new_text_of(text: str) -> str:
    """The reply itself: quoted history and signature removed by a maintained reply parser."""
    if not text.strip():
        return ""
    try:
        reply = EmailReplyParser(languages=LANGUAGES).read(text)
        body = reply.replies[0].body if reply.replies else text
    except Exception:
        body = text
    return (body or text).strip()[:MAX_TEXT]


def sha256(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def parse(raw: bytes, *, headers_only: bool = False) -> Parsed:
    """Everything the pipeline needs from one message; problems listed, never raised."""
    p = Parsed()
    try:
        msg = message_from_bytes(raw, policy=policy.default)
    except Exception as exc:
        p.problems.append(f"unreadable message ({exc.__class__.__name__})")
        return p
    for defect in getattr(msg, "defects", [])[:3]:
        p.problems.append(f"malformed: {defect.__class__.__name__}")
    problems = p.problems
    p.message_id = (_ids(_header(msg, "Message-ID", problems)) or [""])[0]
    p.in_reply_to = (_ids(_header(msg, "In-Reply-To", problems)) or [""])[0]
    p.references = _ids(_header(msg, "References", problems))[-20:]
    p.subject = " ".join(_header(msg, "Subject", problems).split())[:300]
    senders = _addresses(_all(msg, "From", problems))
    if senders:
        p.from_name, p.from_address = senders[0]
    else:
        problems.append("no sender address")
    recipients = []
    for name in ("To", "Cc", "Delivered-To", "X-Original-To"):
        recipients += [a for _, a in _addresses(_all(msg, name, problems))]
    p.to = list(dict.fromkeys(recipients))
    p.participants = list(dict.fromkeys([p.from_address, *p.to] if p.from_address else p.to))
    date = _header(msg, "Date", problems)
    if date:
        try:
            sent = parsedate_to_datetime(date)
            p.sent_at = sent if sent.tzinfo else sent.replace(tzinfo=UTC)
        except (TypeError, ValueError, IndexError):
            problems.append("the Date header is not a date")
    p.auto_reply = _auto_reply(msg, p, problems)
    p.loop = _loop(msg, problems)
    if headers_only:
        return p
    try:
        body = msg.get_body(preferencelist=("plain", "html"))
    except Exception:
        body = None
        problems.append("the body could not be read")
    if body is not None:
        content = _content(body)
        p.text = html_to_text(content) if body.get_content_subtype() == "html" else content
    p.new_text = new_text_of(p.text)
    try:
        parts = list(msg.walk())
    except Exception:
        parts = []
        problems.append("the MIME structure could not be walked")
    for part in parts:
        if part.is_multipart() or part is body:
            continue
        ctype = part.get_content_type()
        if ctype == "text/calendar":
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                p.calendars.append(payload)
            continue
        filename = part.get_filename()
        if filename or part.get_content_disposition() == "attachment":
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                p.attachments.append(
                    Attachment(
                        name=(filename or "attachment")[:255], content_type=ctype, data=payload
                    )
                )
    return p


def _auto_reply(msg: EmailMessage, p: Parsed, problems: list[str]) -> str:
    auto = _header(msg, "Auto-Submitted", problems).strip().lower()
    if auto and auto != "no":
        return f"Auto-Submitted: {auto}"
    precedence = _header(msg, "Precedence", problems).strip().lower()
    if precedence in ("bulk", "junk", "list", "auto_reply"):
        return f"Precedence: {precedence}"
    for name in ("X-Autoreply", "X-Autorespond", "X-Auto-Response-Suppress"):
        if name != "X-Auto-Response-Suppress" and _header(msg, name, problems):
            return name
    if AUTO_SUBJECT.match(p.subject):
        return "an out-of-office subject"
    if p.from_address.startswith(("mailer-daemon@", "postmaster@")):
        return "a delivery report"
    return ""


def _loop(msg: EmailMessage, problems: list[str]) -> str:
    if _header(msg, LOOP_HEADER, problems):
        return f"it carries our own {LOOP_HEADER} header"
    hops = len(_all(msg, "Received", problems))
    if hops > MAX_RECEIVED_HOPS:
        return f"{hops} Received headers"
    return ""


def is_closing(new_text: str) -> bool:
    """A short "thanks"/"will do" without a question: it answers, and expects no answer."""
    text = new_text.strip()
    return bool(text) and len(text) <= CLOSING_MAX and "?" not in text and bool(CLOSING.match(text))
