"""The checks a page must pass on a phone and for everyone, run in a chromium tab.

``audit(tab, url)`` narrows the tab to a phone's width (390 CSS px), then asserts the page
does not scroll sideways, that every id an ARIA or ``for`` attribute names exists, and runs
axe-core (vendored under tests/vendor/axe-core, see its README) for WCAG 2.0/2.1 A and AA;
it returns one line per problem, naming the page, the rule and the node.
"""

from __future__ import annotations

from pathlib import Path

AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}

# Elements that stick out of the viewport, outermost first (their parent does not), outside
# any box that scrolls or clips on its own: what makes the page scroll sideways.
OVERFLOW = """
() => {
  const root = document.documentElement;
  const width = root.clientWidth;
  if (root.scrollWidth <= width) return [];
  const clipped = (el) => {
    for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
      if (getComputedStyle(p).overflowX !== "visible") return true;
    }
    return false;
  };
  const out = (el) => el.getBoundingClientRect().right > width + 0.5;
  const name = (el) => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "")
    + [...el.classList].map((c) => "." + c).join("");
  const found = [...document.body.querySelectorAll("*")]
    .filter((el) => out(el) && !clipped(el) && !(el.parentElement && out(el.parentElement)))
    .slice(0, 5)
    .map((el) => `${name(el)} ends at ${Math.round(el.getBoundingClientRect().right)}px`);
  return [`document ${root.scrollWidth}px wide in a ${width}px viewport: ${found.join("; ")}`];
}
"""

# Every id an attribute points at exists in the document (<template> content aside).
IDREFS = """
() => {
  const missing = [];
  const name = (el) => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "")
    + (el.name ? `[name=${el.name}]` : "");
  const attrs = ["aria-describedby", "aria-labelledby", "aria-controls", "aria-errormessage",
                 "aria-owns", "for", "list", "form"];
  for (const attr of attrs) {
    for (const el of document.querySelectorAll(`[${attr}]`)) {
      if (attr === "for" && el.tagName !== "LABEL") continue;
      for (const id of el.getAttribute(attr).split(/\\s+/).filter(Boolean)) {
        if (!document.getElementById(id)) missing.push(`${name(el)} ${attr}="${id}": no such id`);
      }
    }
  }
  return missing;
}
"""

AXE_RUN = """
async (tags) => {
  const result = await axe.run(document, {
    runOnly: {type: "tag", values: tags},
    resultTypes: ["violations"],
  });
  return result.violations.flatMap((v) => v.nodes.map((n) =>
    `${v.id} (${v.impact}) at ${n.target.join(" ")}: ${v.help} — ${n.html.slice(0, 160)}`));
}
"""


def load_axe(context) -> None:
    """Every document the context opens gets axe-core before its own scripts (an init script
    is not subject to the page's Content-Security-Policy, which allows no injected tag)."""
    context.add_init_script(path=str(AXE))


def is_document(html: str) -> bool:
    """A whole page, not an htmx fragment (the crawl meets those at their own URLs)."""
    return "<html" in html[:400].lower()


def axe_violations(tab, url: str) -> list[str]:
    """axe-core's WCAG 2.1 A/AA violations of the page at the tab's current width."""
    width = tab.viewport_size["width"]
    return [f"{url} [{width} px]: axe {p}" for p in tab.evaluate(AXE_RUN, AXE_TAGS)]


def audit(tab, url: str) -> list[str]:
    """The page's problems at a phone's width; the tab is left at the desktop width."""
    tab.set_viewport_size(PHONE)
    try:
        found = [f"{url} [390 px]: sideways scroll: {p}" for p in tab.evaluate(OVERFLOW)]
        found += [f"{url} [390 px]: missing id: {p}" for p in tab.evaluate(IDREFS)]
        found += axe_violations(tab, url)
    finally:
        tab.set_viewport_size(DESKTOP)
    return found
