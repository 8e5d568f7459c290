"""What a browser would send with a page's form, read from the page itself."""

from html.parser import HTMLParser

from werkzeug.datastructures import MultiDict


class PostForm(HTMLParser):
    """The values a browser would send with the page's main form (the one posting to the page)."""

    def __init__(self, action):
        super().__init__()
        self.action, self.inside, self.values, self.select, self.textarea = action, False, [], None, None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.inside = a.get("method", "").lower() == "post" and a.get("action", "") in self.action
        elif not self.inside or not a.get("name") and tag != "option":
            return
        elif tag == "input" and a.get("type") not in ("submit", "button", "file"):
            if a.get("type") not in ("checkbox", "radio") or "checked" in a:
                self.values.append((a["name"], a.get("value", "on" if a.get("type") == "checkbox" else "")))
        elif tag == "select":
            self.select = a["name"]
        elif tag == "option" and self.select and "selected" in a:
            self.values.append((self.select, a.get("value", "")))
        elif tag == "textarea":
            self.textarea = [a["name"], ""]

    def handle_data(self, data):
        if self.textarea is not None:
            self.textarea[1] += data

    def handle_endtag(self, tag):
        if tag == "form":
            self.inside = False
        elif tag == "select":
            self.select = None
        elif tag == "textarea" and self.textarea is not None:
            self.values.append(tuple(self.textarea))
            self.textarea = None


def form_data(page, path, **changes):
    """The fields of ``page``'s form that posts to ``path`` (or to itself), as a browser would send them,
    with ``changes`` in place of what the page held."""
    parser = PostForm(("", path))
    parser.feed(page if isinstance(page, str) else page.get_data(as_text=True))
    return MultiDict([(k, v) for k, v in parser.values if k not in changes] + list(changes.items()))
