// Small DOM helpers for the demo page. Nothing here ever parses HTML: text
// always goes in through textContent, so user data cannot inject markup.

/** byTest returns the element with data-test=name; the page's skeleton must have it. */
export function byTest<T extends HTMLElement = HTMLElement>(name: string): T {
  const el = document.querySelector<T>(`[data-test="${name}"]`);
  if (!el) throw new Error(`demo: no element with data-test="${name}"`);
  return el;
}

type Attrs = Record<string, string | boolean | undefined>;

/**
 * h creates an element. attrs: "text" sets textContent, "class" the class
 * list, booleans toggle the attribute, anything else is set with
 * setAttribute (data-test, title...). Children are nodes or plain text.
 */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: (Node | string | null | undefined)[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === false) continue;
    if (k === "text") el.textContent = String(v);
    else if (k === "class") el.className = String(v);
    else if (v === true) el.setAttribute(k, "");
    else el.setAttribute(k, v);
  }
  for (const c of children) {
    if (c === null || c === undefined) continue;
    el.append(typeof c === "string" ? document.createTextNode(c) : c);
  }
  return el;
}

/**
 * patch makes list's children the given fresh ones, but keeps every
 * existing child (matched by data-key, else data-test) that is equal to its fresh replacement (isEqualNode: same
 * tag, attributes and text) and never moves a child already in place. A
 * re-render that changes one row leaves the others untouched: their focus
 * survives, and a test that found a button can still click it. (Rows'
 * listeners depend only on ids that are in their attributes, so an equal
 * old row acts like the new one.)
 */
export function patch(list: HTMLElement, fresh: HTMLElement[]): void {
  const key = (e: Element) => e.getAttribute("data-key") ?? e.getAttribute("data-test");
  const old = new Map<string, Element>();
  for (const c of list.children) {
    const k = key(c);
    if (k) old.set(k, c);
  }
  fresh.forEach((f, i) => {
    const k = key(f);
    const prev = k ? old.get(k) : undefined;
    const want = prev && prev.isEqualNode(f) ? prev : f;
    const at = list.children[i];
    if (at !== want) list.insertBefore(want, at ?? null);
  });
  while (list.children.length > fresh.length) list.lastElementChild!.remove();
}

/** button creates a <button type=button> that runs onClick. */
export function button(test: string, label: string, onClick: () => void, cls = ""): HTMLButtonElement {
  const b = h("button", { type: "button", "data-test": test, text: label, class: cls });
  b.addEventListener("click", onClick);
  return b;
}

/** formatTime shows a µs timestamp as local hh:mm. */
export function formatTime(timeUs: number | bigint): string {
  const ms = Number(timeUs) / 1000;
  if (!ms) return "";
  return new Date(ms).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}
