// The arena: a canvas with one dot per room member. Keys (or a click or tap
// on the canvas, which glides there) move my own position (App.moveTo, which
// sends it at most once per tick); every dot, mine included, is drawn where
// the server's last tick put it.

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
  let target: { x: number; y: number } | null = null;

  // Typing in a text box never moves the dot.
  const typing = (t: EventTarget | null) =>
    t instanceof HTMLInputElement || t instanceof HTMLTextAreaElement || t instanceof HTMLSelectElement;

  window.addEventListener("keydown", (e) => {
    if (!app.room || !(e.code in keyDirs) || typing(e.target) || e.altKey || e.ctrlKey || e.metaKey) return;
    e.preventDefault(); // no page scrolling with the arrows
    held.add(e.code);
    target = null;
  });
  window.addEventListener("keyup", (e) => held.delete(e.code));
  window.addEventListener("blur", () => held.clear());
  canvas.addEventListener("pointerdown", (e) => {
    if (!app.room) return;
    const r = canvas.getBoundingClientRect();
    target = { x: ((e.clientX - r.left) / r.width) * arenaW, y: ((e.clientY - r.top) / r.height) * arenaH };
  });

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
    if (!dx && !dy && target) {
      dx = target.x - app.myPos.x;
      dy = target.y - app.myPos.y;
      if (Math.hypot(dx, dy) <= speed * dt) {
        app.moveTo(target.x, target.y);
        target = null;
        return;
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

    // Dots and names keep a readable size on a small canvas.
    const px = Math.max(1, canvas.clientWidth) / arenaW;
    const radius = Math.max(14, 7 / px);
    ctx.font = `600 ${Math.round(Math.max(17, 11 / px))}px system-ui, sans-serif`;
    ctx.textAlign = "center";
    for (const m of room.members.values()) {
      const p = app.positions.get(m.member);
      if (!p) continue;
      const mine = m.member === room.me;
      ctx.beginPath();
      ctx.arc(p.x, p.y, radius, 0, Math.PI * 2);
      ctx.fillStyle = memberColour(m.member);
      ctx.fill();
      if (mine) {
        ctx.lineWidth = 3;
        ctx.strokeStyle = "#ffffff";
        ctx.stroke();
      }
      ctx.fillStyle = "#e6edf7";
      ctx.fillText(`${m.displayName || "#" + m.member}${mine ? " (me)" : ""}`, p.x, p.y - radius - 8);
    }
  };

  const queueDraw = () => {
    if (drawQueued) return;
    drawQueued = true;
    requestAnimationFrame(draw);
  };

  // Sizes depend on the canvas's size on screen: redraw when it changes.
  new ResizeObserver(() => queueDraw()).observe(canvas);

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
      target = null;
    }
  });
}

function line(ctx: CanvasRenderingContext2D, x0: number, y0: number, x1: number, y1: number): void {
  ctx.beginPath();
  ctx.moveTo(x0, y0);
  ctx.lineTo(x1, y1);
  ctx.stroke();
}
