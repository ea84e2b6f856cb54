"""What the accessibility checks of the browser tests read: accessible names, text contrast (WCAG)."""

from __future__ import annotations

# [tag, role, accessible name (aria-label, aria-labelledby, <label>, a button's text, title), inside the nbflow sidebar]
ACCESSIBLE_NAME = """el => {
  const byIds = (el.getAttribute('aria-labelledby') || '').split(/\\s+/).filter(Boolean)
    .map((id) => document.getElementById(id)?.textContent || '').join(' ');
  const labels = [...(el.labels || [])].map((l) => l.textContent).join(' ');
  return [el.tagName.toLowerCase(), el.getAttribute('role') || '', (el.getAttribute('aria-label') || byIds || labels
    || (el.tagName === 'BUTTON' ? el.textContent : '') || el.getAttribute('title') || '').replace(/\\s+/g, ' ').trim(),
    !!el.closest('#nbflow-workflows')];
}"""


# Text colour on its effective background (the first opaque one up the tree).
COLOURS = """el => {
  const parse = (c) => (c.match(/[\\d.]+/g) || []).map(Number);
  let bg = null;
  for (let n = el; n; n = n.parentElement) {
    const c = parse(getComputedStyle(n).backgroundColor);
    if (c.length === 3 || (c.length === 4 && c[3] > 0.9)) { bg = c.slice(0, 3); break; }
  }
  return [parse(getComputedStyle(el).color), bg || [255, 255, 255]];
}"""


def contrast(fg: list[float], bg: list[float]) -> float:
    """WCAG contrast ratio of ``fg`` (rgb or rgba, blended over ``bg``) against ``bg``."""
    alpha = fg[3] if len(fg) == 4 else 1.0
    rgb = [alpha * f + (1 - alpha) * b for f, b in zip(fg[:3], bg, strict=True)]

    def lum(c: list[float]) -> float:
        lin = [(v / 255) / 12.92 if v / 255 <= 0.03928 else ((v / 255 + 0.055) / 1.055) ** 2.4 for v in c]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]

    hi, lo = sorted((lum(rgb), lum(bg)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def low_contrast(*roots) -> list[tuple[str, str, float]]:
    """(class, text, ratio) of every visible text under ``roots`` below 4.5:1 against its background."""
    low = []
    for root in roots:
        for el in root.locator("span, button, code, label, time, li, pre, p, dt, dd, textarea, h2, div").all():
            if not el.is_visible() or not el.evaluate(
                    "el => [...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim())"):
                continue
            fg, bg = el.evaluate(COLOURS)
            ratio = contrast(fg, bg)
            if ratio < 4.5:
                low.append((el.evaluate("el => String(el.className || el.tagName)"), el.inner_text()[:30],
                            round(ratio, 2)))
    return low
