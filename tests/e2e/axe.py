"""axe-core (Deque, MPL-2.0; vendored unmodified in tests/e2e/vendor/axe.min.js, only for the browser suite: the
app never serves it) run in the page under test for the WCAG 2.x A and AA rules, up to WCAG 2.2."""

from __future__ import annotations

from pathlib import Path

AXE_SOURCE = (Path(__file__).parent / "vendor" / "axe.min.js").read_text(encoding="utf-8")
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa"]


def violations(page) -> list[str]:
    """Each WCAG A/AA violation on the page as one readable line (rule, element, axe's summary), [] when none.

    The script is evaluated through the browser's debugging protocol, which the page's Content-Security-Policy
    does not govern, so the page is checked with its real policy on."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(AXE_SOURCE)
    found = page.evaluate("""async (tags) => {
        const r = await window.axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']});
        return r.violations.flatMap(v => v.nodes.map(n => `${v.id}: ${n.target.join(' ')} — ${
            (n.failureSummary || '').replace(/\\s+/g, ' ').slice(0, 240)}`));
    }""", WCAG_TAGS)
    return list(found)
