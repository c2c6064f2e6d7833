// Toasts: short notices in the corner. SDK errors show their code name.

import { Code, TickwireError, describeCode } from "../src/index";
import { byTest, h } from "./dom";

const shownMs = 6000;
const maxToasts = 5;

/** toast shows text for a few seconds; kind "error" or "info"; code is a code name or "". */
export function toast(text: string, kind: "error" | "info" = "info", code = ""): void {
  const box = byTest("toasts");
  const t = h(
    "div",
    { class: `toast toast-${kind}`, "data-test": "toast", "data-code": code || undefined, role: kind === "error" ? "alert" : "status" },
    code ? h("strong", { text: code }) : null,
    h("span", { text: text }),
  );
  t.addEventListener("click", () => t.remove());
  box.append(t);
  while (box.children.length > maxToasts) box.firstElementChild?.remove();
  setTimeout(() => t.remove(), shownMs);
}

/**
 * showError reports a failure. A TickwireError is an expected refusal
 * (room_full, not_friends...): a toast with its code name is all it needs.
 * Anything else is a bug or a broken environment and also goes to
 * console.error.
 */
export function showError(err: unknown): void {
  if (err instanceof TickwireError) {
    // Code 0: a request cut short because the page closed its own client
    // (log out, transport switch): nothing failed.
    if (err.code === Code.OK) return;
    // The message starts with the code name (once or more, when wrapped), which the toast shows apart.
    const name = describeCode(err.code);
    let text = err.message;
    while (text.startsWith(`${err.codeName}: `)) text = text.slice(err.codeName.length + 2);
    if (text === err.codeName) text = "";
    toast(text, "error", name);
    return;
  }
  console.error("tickwire demo:", err);
  toast(err instanceof Error ? err.message : String(err), "error", "error");
}
