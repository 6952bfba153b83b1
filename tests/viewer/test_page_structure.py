"""The viewer page's HTML nests as written: each sidebar panel is its own <details>."""

from html.parser import HTMLParser

# Elements the page closes explicitly (void and optional-end tags left out).
CLOSED = {"aside", "details", "div", "footer", "form", "header", "label", "main", "p", "summary"}


class Outline(HTMLParser):
    def __init__(self):
        super().__init__()
        self.stack: list[tuple[str, str | None]] = []
        self.mismatches: list[str] = []
        self.panels: list[tuple[str | None, tuple]] = []

    def handle_starttag(self, tag, attrs):
        if tag not in CLOSED:
            return
        attributes = dict(attrs)
        if tag == "details" and "panel" in (attributes.get("class") or "").split():
            self.panels.append((attributes.get("id"), tuple(self.stack)))
        self.stack.append((tag, attributes.get("id")))

    def handle_endtag(self, tag):
        if tag not in CLOSED:
            return
        opened, _ = self.stack.pop()
        if opened != tag:
            self.mismatches.append(f"<{opened}> closed by </{tag}> at line {self.getpos()[0]}")


def test_every_sidebar_panel_is_a_child_of_the_sidebar(client, db):
    outline = Outline()
    outline.feed(client.get("/").content.decode())
    assert outline.mismatches == []
    assert outline.stack == []
    parents = {panel: stack[-1] for panel, stack in outline.panels}
    assert len(parents) >= 7
    assert set(parents.values()) == {("aside", "sidebar")}
