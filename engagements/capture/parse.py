"""Reading one raw message: headers, addresses, the new text, attachments, invites.

Pure functions over bytes (no database): ``parse(raw)`` never raises for bad input; what it
could not read is listed in ``problems`` so the caller can record a reason. The standard
library's parser with the ``compat32`` policy splits the message; the few headers we read
are decoded here (RFC 2047 encoded words, undecodable bytes and unknown charsets replaced,
never dropped). ``policy.default`` builds a structured header object for every header read,
the Content-Type ones many times a message: that was half of a message's time in the
pipeline (docs/capture.md, "Measured").
"""

import hashlib
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import message_from_bytes
from email.header import decode_header
from email.message import Message
from email.policy import compat32
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


def _text(value: str) -> str:
    """A raw header value as text: unfolded, 8-bit bytes read as UTF-8 (else replaced)."""
    value = value.replace("\r\n", "").replace("\n", "")
    if not value.isascii():
        value = value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return value


def decode_words(value: str) -> str:
    """RFC 2047 encoded words decoded; an unknown charset or bad bytes replaced, never raised."""
    if "=?" not in value:
        return value
    try:
        chunks = decode_header(value)
    except Exception:
        return value
    out = []
    for data, charset in chunks:
        if isinstance(data, str):
            out.append(data)
            continue
        try:
            # decode_header gives the text between encoded words as raw-unicode-escape bytes.
            out.append(data.decode(charset or "raw-unicode-escape", "replace"))
        except LookupError:
            out.append(data.decode("utf-8", "replace"))
    return "".join(out)


class _Headers:
    """The message's headers by lower-case name, as raw text (read once, decoded on demand)."""

    def __init__(self, msg: Message) -> None:
        self.raw: dict[str, list[str]] = {}
        for name, value in msg.raw_items():
            self.raw.setdefault(name.lower(), []).append(
                value if isinstance(value, str) else str(value)
            )

    def first(self, name: str) -> str:
        values = self.raw.get(name.lower())
        return _text(values[0]) if values else ""

    def decoded(self, name: str) -> str:
        return decode_words(self.first(name))

    def all(self, name: str) -> list[str]:
        return [_text(v) for v in self.raw.get(name.lower(), [])]

    def count(self, name: str) -> int:
        return len(self.raw.get(name.lower(), []))


def _ids(value: str) -> list[str]:
    return _ID.findall(value or "")


def _addresses(values: list[str]) -> list[tuple[str, str]]:
    out = []
    for name, address in getaddresses(values):
        address = address.strip().lower()
        if "@" in address and len(address) <= 320:
            out.append((decode_words(name).strip()[:200], address))
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


def _content(part: Message) -> str:
    """A text part's content as text: transfer encoding undone, its charset (UTF-8 when
    none is named or the named one is unknown), undecodable bytes replaced."""
    try:
        payload = part.get_payload(decode=True)
    except Exception:
        return ""
    if not isinstance(payload, bytes):
        return ""
    try:
        return payload.decode(part.get_content_charset() or "utf-8", "replace")
    except LookupError:
        return payload.decode("utf-8", "replace")


def _find_body(part: Message, preferences: tuple[str, ...]):
    """The candidates for the body, as ``EmailMessage.get_body`` finds them: text parts that
    are not attachments, inside multiparts (a multipart/related through its start)."""
    if part.get_content_disposition() == "attachment":
        return
    maintype, _, subtype = part.get_content_type().partition("/")
    if maintype == "text":
        if subtype in preferences:
            yield preferences.index(subtype), part
        return
    if maintype != "multipart" or not part.is_multipart():
        return
    parts = part.get_payload()
    if subtype == "related":
        start = part.get_param("start")
        found = [p for p in parts if p.get("content-id") == start] if start else []
        parts = found[:1] or parts[:1]
    for sub in parts:
        yield from _find_body(sub, preferences)


def _body(msg: Message, preferences: tuple[str, ...] = ("plain", "html")) -> Message | None:
    best, body = len(preferences), None
    for rank, part in _find_body(msg, preferences):
        if rank < best:
            best, body = rank, part
            if rank == 0:
                break
    return body


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
        msg = message_from_bytes(raw, policy=compat32)
    except Exception as exc:
        p.problems.append(f"unreadable message ({exc.__class__.__name__})")
        return p
    for defect in getattr(msg, "defects", [])[:3]:
        p.problems.append(f"malformed: {defect.__class__.__name__}")
    problems = p.problems
    h = _Headers(msg)
    p.message_id = (_ids(h.first("Message-ID")) or [""])[0]
    p.in_reply_to = (_ids(h.first("In-Reply-To")) or [""])[0]
    p.references = _ids(h.first("References"))[-20:]
    p.subject = " ".join(h.decoded("Subject").split())[:300]
    senders = _addresses(h.all("From"))
    if senders:
        p.from_name, p.from_address = senders[0]
    else:
        problems.append("no sender address")
    recipients = []
    for name in ("To", "Cc", "Delivered-To", "X-Original-To"):
        recipients += [a for _, a in _addresses(h.all(name))]
    p.to = list(dict.fromkeys(recipients))
    p.participants = list(dict.fromkeys([p.from_address, *p.to] if p.from_address else p.to))
    date = h.first("Date").strip()
    if date:
        try:
            sent = parsedate_to_datetime(date)
            p.sent_at = sent if sent.tzinfo else sent.replace(tzinfo=UTC)
        except (TypeError, ValueError, IndexError):
            problems.append("the Date header is not a date")
    p.auto_reply = _auto_reply(h, p)
    p.loop = _loop(h)
    if headers_only:
        return p
    try:
        body = _body(msg)
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
        try:
            filename = decode_words(_text(part.get_filename() or ""))
        except Exception:
            filename = ""
        if filename or part.get_content_disposition() == "attachment":
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                p.attachments.append(
                    Attachment(
                        name=(filename or "attachment")[:255], content_type=ctype, data=payload
                    )
                )
    return p


def _auto_reply(h: _Headers, p: Parsed) -> str:
    auto = h.decoded("Auto-Submitted").strip().lower()
    if auto and auto != "no":
        return f"Auto-Submitted: {auto}"
    precedence = h.decoded("Precedence").strip().lower()
    if precedence in ("bulk", "junk", "list", "auto_reply"):
        return f"Precedence: {precedence}"
    for name in ("X-Autoreply", "X-Autorespond"):
        if h.first(name).strip():
            return name
    if AUTO_SUBJECT.match(p.subject):
        return "an out-of-office subject"
    if p.from_address.startswith(("mailer-daemon@", "postmaster@")):
        return "a delivery report"
    return ""


def _loop(h: _Headers) -> str:
    if h.first(LOOP_HEADER).strip():
        return f"it carries our own {LOOP_HEADER} header"
    hops = h.count("Received")
    if hops > MAX_RECEIVED_HOPS:
        return f"{hops} Received headers"
    return ""


def is_closing(new_text: str) -> bool:
    """A short "thanks"/"will do" without a question: it answers, and expects no answer."""
    text = new_text.strip()
    return bool(text) and len(text) <= CLOSING_MAX and "?" not in text and bool(CLOSING.match(text))
