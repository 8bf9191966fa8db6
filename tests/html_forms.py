"""Read a rendered form the way a browser would submit it, so a test can "press save again"."""

from html.parser import HTMLParser


class _FormReader(HTMLParser):
    def __init__(self, action: str | None) -> None:
        super().__init__(convert_charrefs=True)
        self.action = action
        self.forms: list[dict] = []
        self._form: dict | None = None
        self._textarea: str | None = None
        self._select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self._form = {"action": a.get("action", ""), "fields": {}}
            self.forms.append(self._form)
            return
        if self._form is None or not a.get("name"):
            if tag == "option" and self._form is not None and self._select and "selected" in a:
                self._form["fields"][self._select] = a.get("value", "")
            return
        fields, name = self._form["fields"], a["name"]
        if tag == "input":
            kind = a.get("type", "text")
            if kind in ("submit", "button", "file"):
                return
            if kind in ("checkbox", "radio"):
                if "checked" in a:
                    fields[name] = a.get("value", "on")
                return
            fields[name] = a.get("value", "")
        elif tag == "textarea":
            self._textarea = name
            fields[name] = ""
        elif tag == "select":
            self._select = name
            fields.setdefault(name, "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None
        elif tag == "textarea":
            self._textarea = None
        elif tag == "select":
            self._select = None

    def handle_data(self, data: str) -> None:
        if self._form is not None and self._textarea:
            # A browser drops the one newline that follows <textarea>.
            value = self._form["fields"][self._textarea] + data
            self._form["fields"][self._textarea] = value.removeprefix("\n")


def form_values(html: str, action: str | None = None, *, has: str | None = None) -> dict[str, str]:
    """The fields (name → value) of the first form posting to ``action`` (any action when
    None) that has a field named ``has`` (any when None)."""
    reader = _FormReader(action)
    reader.feed(html)
    for form in reader.forms:
        if (action is None or form["action"] == action) and (has is None or has in form["fields"]):
            return form["fields"]
    raise AssertionError(f"no form posting to {action!r} with a field {has!r} in the page")
