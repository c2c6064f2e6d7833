// The arena: a canvas with one dot per room member. Keys move my own
// position (App.moveTo, which sends it at most once per tick); every dot,
// mine included, is drawn where the server's last tick put it.

import { App, arenaH, arenaW } from "./app";
import { byTest } from "./dom";
import { memberColour } from "./views";

/** Position units per second while a key is held. */
const speed = 240;

const keyDirs: Record<string, [number, number]> = {
  ArrowLeft: [-1, 0],
  ArrowRight: [1, 0],
  ArrowUp: [0, -1],
  ArrowDown: [0, 1],
  KeyA: [-1, 0],
  KeyD: [1, 0],
  KeyW: [0, -1],
  KeyS: [0, 1],
};

/** Keep-alive: with no move, my position is resent this often (lost datagrams, newcomers). */
const resendMs = 1000;

export function startArena(app: App): void {
  const canvas = byTest<HTMLCanvasElement>("arena-canvas");
  const ctx = canvas.getContext("2d");
  const held = new Set<string>();
  let drawQueued = false;
  let stepTimer: ReturnType<typeof setInterval> | undefined;
  let lastStep = 0;

  // Typing in a text box never moves the dot.
  const typing = (t: EventTarget | null) =>
    t instanceof HTMLInputElement || t instanceof HTMLTextAreaElement || t instanceof HTMLSelectElement;

  window.addEventListener("keydown", (e) => {
    if (!app.room || !(e.code in keyDirs) || typing(e.target) || e.altKey || e.ctrlKey || e.metaKey) return;
    e.preventDefault(); // no page scrolling with the arrows
    held.add(e.code);
  });
  window.addEventListener("keyup", (e) => held.delete(e.code));
  window.addEventListener("blur", () => held.clear());

  // One step per tick interval: move by speed × elapsed for the keys held.
  const step = () => {
    const now = performance.now();
    const dt = Math.min(0.1, (now - lastStep) / 1000);
    lastStep = now;
    let dx = 0;
    let dy = 0;
    for (const k of held) {
      const d = keyDirs[k];
      if (d) {
        dx += d[0];
        dy += d[1];
      }
    }
    if (dx || dy) {
      const n = Math.hypot(dx, dy);
      app.moveTo(app.myPos.x + (dx / n) * speed * dt, app.myPos.y + (dy / n) * speed * dt);
    } else if (now - app.lastSentMs > resendMs) {
      app.schedulePosition();
    }
  };

  const draw = () => {
    drawQueued = false;
    const room = app.room;
    if (!ctx || !room) return;
    ctx.setTransform(canvas.width / arenaW, 0, 0, canvas.height / arenaH, 0, 0);
    ctx.fillStyle = "#10151f";
    ctx.fillRect(0, 0, arenaW, arenaH);
    ctx.strokeStyle = "#1e2737";
    ctx.lineWidth = 1;
    for (let x = 50; x < arenaW; x += 50) line(ctx, x, 0, x, arenaH);
    for (let y = 50; y < arenaH; y += 50) line(ctx, 0, y, arenaW, y);

    ctx.font = "600 17px system-ui, sans-serif";
    ctx.textAlign = "center";
    for (const m of room.members.values()) {
      const p = app.positions.get(m.member);
      if (!p) continue;
      const mine = m.member === room.me;
      ctx.beginPath();
      ctx.arc(p.x, p.y, 14, 0, Math.PI * 2);
      ctx.fillStyle = memberColour(m.member);
      ctx.fill();
      if (mine) {
        ctx.lineWidth = 3;
        ctx.strokeStyle = "#ffffff";
        ctx.stroke();
      }
      ctx.fillStyle = "#e6edf7";
      ctx.fillText(`${m.displayName || "#" + m.member}${mine ? " (me)" : ""}`, p.x, p.y - 22);
    }
  };

  const queueDraw = () => {
    if (drawQueued) return;
    drawQueued = true;
    requestAnimationFrame(draw);
  };

  app.subscribe((t) => {
    if (t === "tick") {
      queueDraw();
      return;
    }
    if (t !== "room") return;
    queueDraw();
    if (app.room && stepTimer === undefined) {
      lastStep = performance.now();
      stepTimer = setInterval(step, app.tickMs);
      canvas.focus({ preventScroll: true });
    } else if (!app.room && stepTimer !== undefined) {
      clearInterval(stepTimer);
      stepTimer = undefined;
      held.clear();
    }
  });
}

function line(ctx: CanvasRenderingContext2D, x0: number, y0: number, x1: number, y1: number): void {
  ctx.beginPath();
  ctx.moveTo(x0, y0);
  ctx.lineTo(x1, y1);
  ctx.stroke();
}
