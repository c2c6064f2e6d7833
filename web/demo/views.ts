// The page's panels: each render function redraws one part of the page from
// the App's state; wire() connects the static controls of index.html to the
// App's actions. A list is rendered whole and patched in (dom.ts patch), so
// rows that did not change stay the same nodes; inputs are never rebuilt,
// so typing is never interrupted. Text goes in as text only.

import { Code, TickwireError } from "../src/index";
import { App, convKey, parseTransport, type ChatMessage, type Friend, type Group, type Topic } from "./app";
import { byTest, button, formatTime, h, patch } from "./dom";
import { showError } from "./toast";

/** run calls an action from a control: failures become toasts. */
function run(p: () => Promise<unknown>): void {
  p().catch(showError);
}

function input(name: string): HTMLInputElement {
  return byTest<HTMLInputElement>(name);
}

/**
 * submitting takes a text box's value and empties the box at once, so that
 * what is typed while the request runs is kept; on failure the value comes
 * back (unless something new was typed meanwhile).
 */
async function submitting<T>(box: HTMLInputElement, fn: (value: string) => Promise<T>): Promise<T> {
  const value = box.value;
  box.value = "";
  try {
    return await fn(value);
  } catch (err) {
    if (box.value === "") box.value = value;
    throw err;
  }
}

function onSubmit(form: string, fn: () => void): void {
  byTest<HTMLFormElement>(form).addEventListener("submit", (e) => {
    e.preventDefault();
    fn();
  });
}

function friendName(f: Friend): string {
  return f.displayName && f.displayName !== f.username ? `${f.displayName} (@${f.username})` : `@${f.username}`;
}

export function wire(app: App): void {
  // Status bar.
  const picker = byTest<HTMLSelectElement>("transport-picker");
  picker.value = app.transportChoice;
  picker.addEventListener("change", () => run(() => app.setTransport(parseTransport(picker.value))));
  byTest("reconnect").addEventListener("click", () => run(() => app.connect()));
  byTest("logout").addEventListener("click", () => run(() => app.logout()));

  // Sign-in.
  const user = input("username");
  const pass = input("password");
  const display = input("display-name");
  // Empty fields are caught here rather than sent for a refusal.
  const filled = () => {
    if (!user.value.trim() || !pass.value) throw new TickwireError(Code.BadRequest, "enter a username and a password");
  };
  onSubmit("signin-form", () =>
    run(async () => {
      filled();
      await app.login(user.value, pass.value);
    }),
  );
  byTest("register").addEventListener("click", () =>
    run(async () => {
      filled();
      await app.register(user.value, pass.value, display.value || user.value);
    }),
  );
  byTest("guest").addEventListener("click", () => run(() => app.guest(display.value || user.value)));

  // Presence.
  const presence = byTest<HTMLSelectElement>("presence-select");
  const status = input("status-text");
  onSubmit("presence-form", () => run(() => app.setPresence(presence.value === "away" ? "away" : "online", status.value)));

  // Friends.
  const friendAdd = input("friend-add-name");
  onSubmit("friend-add-form", () =>
    run(() => submitting(friendAdd, (name) => app.addFriend(name))),
  );

  // Groups.
  const groupName = input("group-name");
  const groupOpen = input("group-open");
  onSubmit("group-create-form", () =>
    run(async () => {
      const g = await submitting(groupName, (name) => app.createGroup(name, groupOpen.checked));
      await app.select({ kind: "group", groupId: g.id });
    }),
  );
  const groupJoin = input("group-join-id");
  onSubmit("group-join-form", () =>
    run(() =>
      submitting(groupJoin, async (text) => {
        const id = Number(text.trim().replace(/^#/, ""));
        if (!Number.isSafeInteger(id) || id <= 0) throw new TickwireError(Code.BadRequest, "a group id is a positive number");
        await app.joinGroup(id);
      }),
    ),
  );
  const inviteUser = byTest<HTMLSelectElement>("group-invite-user");
  onSubmit("group-invite-form", () =>
    run(async () => {
      const c = app.selected;
      if (c?.kind !== "group" || !inviteUser.value) return;
      await app.invite(c.groupId, inviteUser.value);
    }),
  );

  // Chat.
  const chatInput = input("chat-input");
  onSubmit("chat-form", () =>
    run(async () => {
      const c = app.selected;
      if (!c || !chatInput.value.trim()) return;
      await submitting(chatInput, (body) => (c.kind === "direct" ? app.sendDirect(c.userId, body) : app.sendGroup(c.groupId, body)));
    }),
  );
  byTest("chat-older").addEventListener("click", () => run(() => app.loadOlder()));

  // Lobby.
  byTest("room-join-or-create").addEventListener("click", () => run(() => app.joinArena()));
  byTest("rooms-refresh").addEventListener("click", () => run(() => app.refreshRooms()));
  const roomLabel = input("room-label");
  onSubmit("room-create-form", () => run(() => app.createRoom(roomLabel.value)));
  byTest("arena-leave").addEventListener("click", () => run(() => app.leaveRoom()));

  app.subscribe((t: Topic) => render(app, t));
  byTest("call-accept").addEventListener("click", () => run(() => app.acceptCall()));
  byTest("call-hangup").addEventListener("click", () => run(() => app.hangUp()));
  for (const t of ["session", "status", "friends", "groups", "chat", "rooms", "room", "call"] as Topic[]) render(app, t);
}

function render(app: App, t: Topic): void {
  switch (t) {
    case "session":
      return renderSession(app);
    case "status":
      return renderStatus(app);
    case "friends":
      return renderFriends(app);
    case "groups":
      return renderGroups(app);
    case "chat":
      return renderChat(app);
    case "rooms":
      return renderRooms(app);
    case "room":
      return renderRoom(app);
    case "call":
      return renderCall(app);
  }
}

/** renderCall shows the call bar: who, the state, and the buttons that apply. */
function renderCall(app: App): void {
  const bar = byTest("call-bar");
  const c = app.call;
  bar.hidden = !c;
  if (!c) return;
  const peerId = c.incoming ? c.callerId : c.calleeId;
  const f = app.friends.get(peerId);
  const who = c.incoming ? c.callerName || (f ? friendName(f) : peerId) : f ? friendName(f) : peerId;
  let text: string;
  if (c.state === "ringing") text = c.incoming ? `${who} is calling…` : `calling ${who}…`;
  else if (c.state === "active") text = c.answeredElsewhere ? `answered on another device` : `in a call with ${who}`;
  else text = `call with ${who} ended (${c.reason.replace("_", " ")})`;
  bar.dataset.state = c.state;
  bar.dataset.reason = c.reason;
  byTest("call-text").textContent = text;
  byTest("call-accept").hidden = !(c.state === "ringing" && c.incoming);
  byTest("call-hangup").hidden = c.state === "ended" || c.answeredElsewhere;
  byTest("call-hangup").textContent = c.state === "ringing" ? (c.incoming ? "Decline" : "Cancel") : "Hang up";
}

function renderSession(app: App): void {
  const main = byTest("main");
  main.dataset.view = !app.auth ? "signed-out" : app.isGuest ? "guest" : "user";
  byTest("signin-panel").hidden = !!app.auth;
  byTest("social-panel").hidden = !app.auth || app.isGuest;
  byTest("chat-panel").hidden = !app.auth || app.isGuest;
  byTest("guest-note").hidden = !app.auth || !app.isGuest;
  byTest("lobby-panel").hidden = !app.auth;
  byTest("logout").hidden = !app.auth;
  const me = app.auth;
  byTest("me").textContent = me ? `${me.name}${me.username ? ` (@${me.username})` : ""}${me.guest ? " · guest" : ""}` : "";
  if (!me) input("password").value = "";
}

const connText: Record<string, string> = {
  "signed-out": "signed out",
  connecting: "connecting…",
  connected: "connected",
  reconnecting: "reconnecting…",
  closed: "closed",
};

function renderStatus(app: App): void {
  const conn = byTest("conn-state");
  conn.dataset.state = app.conn;
  const why = (app.conn === "closed" || app.conn === "reconnecting") && app.closedCode ? ` (${app.closedCode})` : "";
  conn.textContent = connText[app.conn] + why;
  const c = app.client;
  byTest("transport").textContent = c && app.conn === "connected" ? c.transport : "–";
  renderRtt(app);
  byTest<HTMLSelectElement>("transport-picker").value = app.transportChoice;
  byTest("reconnect").hidden = !(app.auth && app.conn === "closed");
}

/** renderRtt shows the smoothed RTT; demo.ts calls it every second. */
export function renderRtt(app: App): void {
  const c = app.client;
  const rtt = c && app.conn === "connected" ? c.rtt || app.rttMs : 0;
  byTest("rtt").textContent = rtt > 0 ? `${rtt < 10 ? rtt.toFixed(2) : rtt.toFixed(0)} ms` : "–";
}

function presenceDot(p: string): HTMLElement {
  return h("span", { class: `dot ${p}`, title: p, "data-test": "presence-dot" });
}

function unreadBadge(n: number | undefined): HTMLElement | null {
  return n ? h("span", { class: "badge", text: String(n), "data-test": "unread" }) : null;
}

// The presence form holds what the user sets: it is filled from the app's
// state once per signed-in user (sign-in, a reload), never on a re-render,
// so that a push or a reply arriving meanwhile cannot overwrite an edit the
// user is about to submit.
let formFilledFor: string | undefined;

function renderFriends(app: App): void {
  if (formFilledFor !== app.myUserId) {
    formFilledFor = app.myUserId;
    byTest<HTMLSelectElement>("presence-select").value = app.myPresence;
    input("status-text").value = app.myStatus;
  }

  const all = [...app.friends.values()].sort((a, b) => friendName(a).localeCompare(friendName(b)));
  const selectedKey = app.selected && convKey(app.selected);

  patch(
    byTest("requests-incoming"),
    all
      .filter((f) => f.state === "incoming")
      .map((f) =>
        h(
          "li",
          { "data-test": `request-in-${f.userId}` },
          h("span", { class: "grow", text: `${friendName(f)} wants to be friends` }),
          button(`friend-accept-${f.userId}`, "Accept", () => run(() => app.acceptFriend(f.userId))),
          button(`friend-decline-${f.userId}`, "Decline", () => run(() => app.declineFriend(f.userId)), "secondary"),
        ),
      ),
  );
  patch(
    byTest("requests-outgoing"),
    all
      .filter((f) => f.state === "outgoing")
      .map((f) =>
        h(
          "li",
          { "data-test": `request-out-${f.userId}` },
          h("span", { class: "grow muted", text: `asked ${friendName(f)}` }),
          button(`friend-cancel-${f.userId}`, "Cancel", () => run(() => app.removeFriend(f.userId)), "secondary"),
        ),
      ),
  );
  patch(
    byTest("friend-list"),
    all
      .filter((f) => f.state === "friend")
      .map((f) => {
        const key = `d:${f.userId}`;
        const open = h(
          "button",
          { type: "button", class: "link grow", "data-test": `friend-chat-${f.userId}`, title: "chat" },
          h("span", { class: "name", text: friendName(f) }),
          f.statusText ? h("span", { class: "status", "data-test": "friend-status", text: f.statusText }) : null,
        );
        open.addEventListener("click", () => run(() => app.select({ kind: "direct", userId: f.userId })));
        return h(
          "li",
          { "data-test": `friend-${f.userId}`, "data-presence": f.presence, class: key === selectedKey ? "selected" : "" },
          presenceDot(f.presence),
          open,
          unreadBadge(app.unread.get(key)),
          withTitle(button(`friend-call-${f.userId}`, "📞", () => run(() => app.callFriend(f.userId)), "icon"), "call"),
          withTitle(button(`friend-remove-${f.userId}`, "×", () => run(() => app.removeFriend(f.userId)), "icon"), "remove friend"),
        );
      }),
  );
  renderInviteChoices(app);
}

function withTitle<T extends HTMLElement>(el: T, title: string): T {
  el.title = title;
  el.setAttribute("aria-label", title);
  return el;
}

function groupLabel(g: Group): string {
  return `${g.name} #${g.id}`;
}

function renderGroups(app: App): void {
  const all = [...app.groups.values()].sort((a, b) => a.id - b.id);
  const selectedKey = app.selected && convKey(app.selected);
  patch(
    byTest("group-invitations"),
    all
      .filter((g) => g.role === "invited")
      .map((g) =>
        h(
          "li",
          { "data-test": `invitation-${g.id}` },
          h("span", { class: "grow", text: `invited to ${groupLabel(g)}` }),
          button(`group-accept-${g.id}`, "Accept", () => run(() => app.acceptInvite(g.id))),
          button(`group-decline-${g.id}`, "Decline", () => run(() => app.declineInvite(g.id)), "secondary"),
        ),
      ),
  );
  patch(
    byTest("group-list"),
    all
      .filter((g) => g.role !== "invited")
      .map((g) => {
        const key = `g:${g.id}`;
        const open = h(
          "button",
          { type: "button", class: "link grow", "data-test": `group-chat-${g.id}`, title: "chat" },
          h("span", { class: "name", text: groupLabel(g) }),
          h("span", { class: "status", text: `${g.open ? "open" : "invite-only"} · ${g.role}` }),
        );
        open.addEventListener("click", () => run(() => app.select({ kind: "group", groupId: g.id })));
        return h(
          "li",
          { "data-test": `group-${g.id}`, class: key === selectedKey ? "selected" : "" },
          open,
          unreadBadge(app.unread.get(key)),
          button(`group-leave-${g.id}`, "Leave", () => run(() => app.leaveGroup(g.id)), "secondary small"),
        );
      }),
  );
  renderChatHead(app);
}

/** The invite box: shown for an open group, listing friends not asked yet. */
function renderInviteChoices(app: App): void {
  const c = app.selected;
  const form = byTest("group-invite-form");
  form.hidden = c?.kind !== "group";
  if (form.hidden) return;
  const sel = byTest<HTMLSelectElement>("group-invite-user");
  const keep = sel.value;
  const friends = [...app.friends.values()].filter((f) => f.state === "friend");
  sel.replaceChildren(
    h("option", { value: "", text: friends.length ? "invite a friend…" : "no friends to invite" }),
    ...friends.map((f) => h("option", { value: f.userId, text: friendName(f) })),
  );
  sel.value = friends.some((f) => f.userId === keep) ? keep : "";
}

function renderChatHead(app: App): void {
  const c = app.selected;
  let title = "Chat";
  if (c?.kind === "direct") {
    const f = app.friends.get(c.userId);
    title = `Chat with ${f ? friendName(f) : c.userId}`;
  } else if (c?.kind === "group") {
    const g = app.groups.get(c.groupId);
    title = g ? `Group ${groupLabel(g)}` : `Group #${c.groupId}`;
  }
  byTest("chat-title").textContent = title;
  renderInviteChoices(app);
}

function renderChat(app: App): void {
  renderChatHead(app);
  const c = app.selected;
  const list = byTest("chat-messages");
  const chatInput = input("chat-input");
  chatInput.disabled = !c;
  byTest<HTMLButtonElement>("chat-send").disabled = !c;
  byTest("chat-older").hidden = !c || !app.older.get(convKey(c));

  const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 24;
  const fromBottom = list.scrollHeight - list.scrollTop;
  const me = app.myUserId;
  const items = c ? app.conversation(c) : [];
  patch(list, items.map((m) => messageItem(m, me, app)));
  // Stay at the bottom for new messages; keep the view still when older ones are prepended.
  list.scrollTop = atBottom ? list.scrollHeight : list.scrollHeight - fromBottom;
}

function messageItem(m: ChatMessage, me: string, app: App): HTMLElement {
  const mine = m.fromUserId === me;
  const from = mine ? "me" : m.fromName || app.friends.get(m.fromUserId)?.displayName || m.fromUserId;
  return h(
    "li",
    { class: mine ? "msg mine" : "msg", "data-test": "chat-message", "data-key": `m${m.id}`, "data-id": String(m.id), "data-from": m.fromUserId },
    h("span", { class: "meta", text: `${from} · ${formatTime(m.timeUs)}` }),
    h("span", { class: "body", text: m.body }),
  );
}

function renderRooms(app: App): void {
  const current = app.room ? String(app.room.id) : "";
  patch(
    byTest("room-list"),
    app.rooms.map((r) => {
      const id = String(r.roomId);
      const here = id === current;
      return h(
        "li",
        { "data-test": `room-${id}`, class: here ? "selected" : "" },
        h("span", { class: "grow name", text: r.label || "(no label)", title: `room ${id}` }),
        h("span", { class: "muted", text: `#…${id.slice(-4)} · ${r.members}/${r.capacity}` }),
        here
          ? h("span", { class: "muted", text: "joined" })
          : button(`room-join-${id}`, "Join", () => run(() => app.joinRoom(r.roomId))),
      );
    }),
  );
}

function renderRoom(app: App): void {
  const room = app.room;
  byTest("arena-panel").hidden = !room;
  renderRooms(app);
  if (!room) {
    patch(byTest("arena-members"), []);
    return;
  }
  byTest("arena-title").textContent = `Room ${room.label || "(no label)"} · ${room.members.size}/${room.capacity}`;
  patch(
    byTest("arena-members"),
    [...room.members.values()].map((m) => {
      // The swatch colour comes from the member number, like the dots.
      const swatch = h("span", { class: "swatch" });
      swatch.style.background = memberColour(m.member);
      return h(
        "li",
        { "data-test": `arena-member-${m.member}`, class: m.member === room.me ? "me" : "" },
        swatch,
        // away: the member's connection was lost; its seat is kept while it resumes
        `${m.displayName || m.userId}${m.member === room.me ? " (me)" : ""}${room.away.has(m.member) ? " (away)" : ""}`,
      );
    }),
  );
}

/** memberColour: a stable, well-spread hue per member number. */
export function memberColour(member: number): string {
  return `hsl(${Math.round((member * 137.508) % 360)} 70% 50%)`;
}
