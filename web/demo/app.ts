// The demo's state and actions, with no DOM: the views (views.ts, arena.ts)
// render from it and call its actions; window.demo exposes the same actions
// to tests. Every action returns a promise and rejects with the SDK's
// TickwireError when the server refuses.

import { Client, TickwireError, Code, describeCode } from "../src/index";
import type { Call } from "../src/index";

// SDK types, derived from the client's own signatures so the demo follows them.
type Auth = Awaited<ReturnType<typeof Client.guest>>;
export type Room = Awaited<ReturnType<Client["joinRoom"]>>;
export type Friend = Awaited<ReturnType<Client["friends"]>>[number];
export type Group = Awaited<ReturnType<Client["groups"]>>[number];
export type ChatMessage = Awaited<ReturnType<Client["history"]>>["messages"][number];

/** maxMessagesKept bounds the chat messages the page holds, over every conversation. */
const maxMessagesKept = 5000;
export type RoomInfo = Awaited<ReturnType<Client["listRooms"]>>[number];
type RoomTick = Parameters<Room["onTick"]>[0];

export type TransportChoice = "auto" | "webrtc" | "websocket" | "longpoll";
export const transportChoices: TransportChoice[] = ["auto", "webrtc", "websocket", "longpoll"];

export type ConnState = "signed-out" | "connecting" | "connected" | "reconnecting" | "closed";

/** A conversation: a direct one with a friend or a group's. */
export type Conv = { kind: "direct"; userId: string } | { kind: "group"; groupId: number };

/** What changed, so views re-render only their part. */
export type Topic = "session" | "status" | "friends" | "groups" | "chat" | "rooms" | "room" | "tick" | "call";

/** The arena's size in position units; positions travel as Int16 x, y (big-endian). */
export const arenaW = 800;
export const arenaH = 500;

const authKey = "tickwire-demo.auth";
/** the room I am in, so that a reload joins it again */
const roomKey = "tickwire-demo.room";
const historyPage = 50;

/** convKey names a conversation: "d:<userId>" or "g:<groupId>". */
export function convKey(c: Conv): string {
  return c.kind === "direct" ? `d:${c.userId}` : `g:${c.groupId}`;
}

function clamp(v: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, Math.round(v)));
}

/** encodePos is the arena's input: Int16 x, Int16 y, big-endian. */
export function encodePos(x: number, y: number): Uint8Array {
  const b = new Uint8Array(4);
  const v = new DataView(b.buffer);
  v.setInt16(0, x);
  v.setInt16(2, y);
  return b;
}

/** decodePos reads an arena input; null if it is not one. */
export function decodePos(data: Uint8Array): { x: number; y: number } | null {
  if (data.byteLength < 4) return null;
  const v = new DataView(data.buffer, data.byteOffset, data.byteLength);
  return { x: clamp(v.getInt16(0), 0, arenaW - 1), y: clamp(v.getInt16(2), 0, arenaH - 1) };
}

export class App {
  client: Client | null = null;
  auth: Auth | null = null;
  conn: ConnState = "signed-out";
  /** the code name the session closed with (conn "closed") */
  closedCode = "";
  transportChoice: TransportChoice = "auto";
  rttMs = 0;
  /** performance.now() of the last "rtt" event */
  rttAt = 0;

  friends = new Map<string, Friend>();
  groups = new Map<number, Group>();
  /** every message seen, by id */
  messages = new Map<number, ChatMessage>();
  /** conversations whose latest page was loaded; value: older messages exist */
  older = new Map<string, boolean>();
  unread = new Map<string, number>();
  selected: Conv | null = null;
  myPresence: "online" | "away" = "online";
  myStatus = "";

  rooms: RoomInfo[] = [];
  room: Room | null = null;
  /** arena positions by member number, from the room's ticks */
  positions = new Map<number, { x: number; y: number }>();
  /** my own position: what I send */
  myPos = { x: 0, y: 0 };
  lastSentMs = 0;

  /** the call in progress (ringing, active), or the last one, ended; null before any */
  call: Call | null = null;

  /** report shows a failure nobody awaits (background reloads, a room closed by the server); set by demo.ts */
  report: (err: unknown) => void = () => {};

  private listeners = new Set<(t: Topic) => void>();
  private offs: (() => void)[] = [];
  private roomOffs: (() => void)[] = [];
  private sendTimer: ReturnType<typeof setTimeout> | undefined;
  private groupsTimer: ReturnType<typeof setTimeout> | undefined;
  /** bumps on every connect/sign-out so late answers of an old client are dropped */
  private generation = 0;

  constructor() {
    this.transportChoice = parseTransport(new URLSearchParams(location.search).get("transport"));
  }

  // ---- change notification ----

  subscribe(fn: (t: Topic) => void): void {
    this.listeners.add(fn);
  }

  private changed(...topics: Topic[]): void {
    for (const t of topics) for (const fn of this.listeners) fn(t);
  }

  get myUserId(): string {
    return this.client?.userId ?? this.auth?.userId ?? "";
  }

  get isGuest(): boolean {
    return this.auth?.guest ?? true;
  }

  private requireClient(): Client {
    if (!this.client) throw new TickwireError(Code.NotAuthenticated, "not connected");
    return this.client;
  }

  // ---- sign-in and session ----

  /** resume reconnects with the token kept in sessionStorage, if any. */
  async resume(): Promise<void> {
    const saved = sessionStorage.getItem(authKey);
    if (!saved) return;
    try {
      this.auth = JSON.parse(saved) as Auth;
    } catch {
      sessionStorage.removeItem(authKey);
      return;
    }
    await this.connect();
  }

  async guest(name: string): Promise<void> {
    await this.signedIn(await Client.guest(location.origin, name.trim() || "Guest"));
  }

  async register(username: string, password: string, displayName: string): Promise<void> {
    await this.signedIn(await Client.register(location.origin, username.trim(), password, displayName.trim()));
  }

  async login(username: string, password: string): Promise<void> {
    await this.signedIn(await Client.login(location.origin, username.trim(), password));
  }

  private async signedIn(auth: Auth): Promise<void> {
    if (this.client) await this.disconnect();
    this.auth = auth;
    sessionStorage.setItem(authKey, JSON.stringify(auth));
    await this.connect();
  }

  /** logout revokes the token, closes the session and forgets everything. */
  async logout(): Promise<void> {
    const token = this.auth?.token;
    this.forgetToken(); // first, so that the page reads signed out, not closed
    await this.disconnect();
    this.changed("session", "status");
    if (token) await Client.logout(location.origin, token);
  }

  /**
   * pageHidden closes the session when the page goes away (reload,
   * navigation), so that the others see me leave at once rather than after
   * the server's idle timeout; pageShown reconnects a page restored from the
   * back-forward cache.
   */
  pageHidden(): void {
    const c = this.client;
    if (!c) return;
    // Stop listening first: the close must not clear what sessionStorage keeps.
    this.generation++;
    for (const off of [...this.offs, ...this.roomOffs]) off();
    this.offs = [];
    this.roomOffs = [];
    void c.close();
  }

  async pageShown(): Promise<void> {
    if (this.auth && this.client) await this.connect();
  }

  /** setTransport changes the transport choice (and the URL's ?transport=) and reconnects. */
  async setTransport(t: TransportChoice): Promise<void> {
    this.transportChoice = parseTransport(t);
    const url = new URL(location.href);
    if (this.transportChoice === "auto") url.searchParams.delete("transport");
    else url.searchParams.set("transport", this.transportChoice);
    history.replaceState(null, "", url);
    this.changed("status");
    if (this.auth) await this.connect();
  }

  /**
   * connect (re)connects with the current token and transport choice, then
   * loads the lists, rejoins the room I was in (after a transport switch, a
   * reload or a closed session) and reopens the conversation that was open.
   * A room that is gone since is forgotten quietly.
   */
  async connect(): Promise<void> {
    const auth = this.auth;
    if (!auth) throw new TickwireError(Code.NotAuthenticated, "sign in first");
    const saved = sessionStorage.getItem(roomKey);
    const rejoin = this.room?.id ?? (saved && /^\d+$/.test(saved) ? BigInt(saved) : undefined);
    const reopen = this.selected;
    await this.disconnect();
    const gen = ++this.generation;
    this.conn = "connecting";
    this.closedCode = "";
    this.changed("session", "status");
    let c: Client;
    try {
      c = await Client.connect({
        url: location.origin,
        token: auth.token,
        ...(this.transportChoice === "auto" ? {} : { transport: this.transportChoice }),
        clientName: "tickwire-demo",
      });
    } catch (err) {
      if (gen !== this.generation) return;
      this.conn = "closed";
      this.closedCode = err instanceof TickwireError ? describeCode(err.code) : "error";
      if (err instanceof TickwireError && tokenRefused(err.code)) this.forgetToken();
      this.changed("session", "status");
      throw err;
    }
    if (gen !== this.generation) {
      void c.close();
      return;
    }
    this.client = c;
    this.conn = "connected";
    this.rttMs = c.rtt;
    this.listen(c, gen);
    this.changed("session", "status");
    const work: Promise<unknown>[] = [this.refreshRooms()];
    if (!auth.guest) work.push(this.loadFriends(), this.loadGroups());
    if (rejoin !== undefined) work.push(this.rejoin(rejoin));
    if (reopen && !auth.guest) work.push(this.select(reopen));
    await Promise.all(work);
  }

  private async rejoin(id: bigint): Promise<void> {
    try {
      await this.joinRoom(id);
    } catch (err) {
      if (!(err instanceof TickwireError && (err.code === Code.RoomNotFound || err.code === Code.RoomClosed))) throw err;
      sessionStorage.removeItem(roomKey);
    }
  }

  private forgetToken(): void {
    this.auth = null;
    sessionStorage.removeItem(authKey);
    sessionStorage.removeItem(roomKey);
  }

  /** disconnect closes the client and clears everything that came from it. */
  private async disconnect(): Promise<void> {
    this.generation++;
    const c = this.client;
    for (const off of this.offs) off();
    this.offs = [];
    this.clearRoom();
    this.client = null;
    this.call = null;
    this.conn = this.auth ? "closed" : "signed-out";
    this.friends.clear();
    this.friendPatches = [];
    this.groups.clear();
    this.messages.clear();
    this.older.clear();
    this.unread.clear();
    this.selected = null;
    this.rooms = [];
    this.rttMs = 0;
    this.changed("session", "status", "friends", "groups", "chat", "rooms", "room", "call");
    if (c) await c.close();
  }

  private listen(c: Client, gen: number): void {
    const live = () => gen === this.generation;
    const on: (() => void)[] = [
      c.on("transport", () => {
        if (!live()) return;
        this.conn = "connected";
        this.changed("status");
      }),
      c.on("disconnected", ({ codeName, willReconnect }) => {
        if (!live()) return;
        this.conn = willReconnect ? "reconnecting" : "closed";
        this.closedCode = codeName;
        this.changed("status");
      }),
      c.on("resumed", () => {
        // The same session: rooms, positions and lists are as they were.
        if (!live()) return;
        this.conn = "connected";
        this.closedCode = "";
        this.changed("status");
      }),
      c.on("reconnecting", () => {
        if (!live()) return;
        this.conn = "reconnecting";
        this.changed("status");
      }),
      c.on("reconnected", ({ rooms }) => {
        if (!live()) return;
        this.conn = "connected";
        this.closedCode = "";
        const still = this.room && rooms.includes(this.room.id);
        if (this.room && !still) {
          this.clearRoom();
          sessionStorage.removeItem(roomKey);
        }
        this.changed("status", "room");
        // Anything may have changed while we were away: reload the lists.
        if (!this.isGuest) {
          this.loadFriends().catch(this.report);
          this.loadGroups().catch(this.report);
        }
        this.refreshRooms().catch(this.report);
      }),
      c.on("closed", ({ code, codeName }) => {
        if (!live()) return;
        this.conn = "closed";
        this.closedCode = codeName;
        this.clearRoom();
        if (tokenRefused(code)) this.forgetToken();
        this.changed("session", "status", "room");
      }),
      // Errors the server sent with no request to match (a refused input, at most 4 a second).
      c.on("error", (err) => {
        if (live()) this.report(err);
      }),
      c.on("rtt", ({ rttMs }) => {
        if (!live()) return;
        this.rttMs = rttMs;
        this.rttAt = performance.now();
      }),
      c.on("friend", ({ friend }) => {
        if (!live()) return;
        this.patchFriends((fs) => {
          if (friend.state === "none") fs.delete(friend.userId);
          else fs.set(friend.userId, friend);
        });
        if (this.selected?.kind === "direct" && this.selected.userId === friend.userId && friend.state !== "friend") {
          this.selected = null;
          this.changed("chat");
        }
      }),
      c.on("presence", (p) => {
        if (!live()) return;
        this.patchFriends((fs) => {
          const f = fs.get(p.userId);
          if (f) fs.set(p.userId, { ...f, presence: p.presence, statusText: p.statusText, lastSeenUs: p.lastSeenUs });
        });
      }),
      c.on("message", (m) => {
        if (!live()) return;
        this.addMessages([m], true);
      }),
      // A call this session did not start: ringing for me, or one I started elsewhere.
      c.on("call", (call) => {
        if (!live()) return;
        if (this.call && this.call.state !== "ended" && this.call.id !== call.id) return; // one call at a time
        this.follow(call);
      }),
      c.on("group", (g) => {
        if (!live()) return;
        if (g.userId === this.myUserId && (g.event === "removed" || g.event === "left")) {
          this.groups.delete(g.groupId);
          if (this.selected?.kind === "group" && this.selected.groupId === g.groupId) this.selected = null;
          this.changed("groups", "chat");
        }
        // The update names one change; the list says where that leaves us.
        clearTimeout(this.groupsTimer);
        this.groupsTimer = setTimeout(() => {
          if (live()) this.loadGroups().catch(this.report);
        }, 50);
      }),
    ];
    this.offs.push(...on);
  }

  // ---- friends and presence ----

  /**
   * patchFriends applies a push (FriendUpdate, PresenceUpdate) to the
   * friends, and remembers it while a list is being loaded: a list answer
   * may have been taken before the push, so the push is applied again on
   * top of it.
   */
  private patchFriends(fn: (fs: Map<string, Friend>) => void): void {
    fn(this.friends);
    if (this.friendLoads > 0) this.friendPatches.push(fn);
    this.changed("friends");
  }

  private friendLoads = 0;
  private friendPatches: ((fs: Map<string, Friend>) => void)[] = [];

  async loadFriends(): Promise<void> {
    const gen = this.generation;
    this.friendLoads++;
    try {
      const list = await this.requireClient().friends();
      if (gen !== this.generation) return;
      const fs = new Map(list.map((f) => [f.userId, f]));
      for (const fn of this.friendPatches) fn(fs);
      this.friends = fs;
      this.changed("friends");
    } finally {
      if (--this.friendLoads === 0) this.friendPatches = [];
    }
  }

  async addFriend(username: string): Promise<void> {
    await this.requireClient().requestFriend(username.trim());
  }

  async acceptFriend(userId: string): Promise<void> {
    await this.requireClient().acceptFriend(userId);
  }

  async declineFriend(userId: string): Promise<void> {
    await this.requireClient().declineFriend(userId);
  }

  /** removeFriend ends a friendship or cancels my own pending request. */
  async removeFriend(userId: string): Promise<void> {
    await this.requireClient().removeFriend(userId);
  }

  async setPresence(presence: "online" | "away", statusText: string): Promise<void> {
    await this.requireClient().setPresence(presence, statusText.trim());
    this.myPresence = presence;
    this.myStatus = statusText.trim();
    this.changed("friends");
  }

  // ---- groups ----

  async loadGroups(): Promise<void> {
    const gen = this.generation;
    const list = await this.requireClient().groups();
    if (gen !== this.generation) return;
    this.groups = new Map(list.map((g) => [g.id, g]));
    if (this.selected?.kind === "group" && !this.isMemberOf(this.selected.groupId)) this.selected = null;
    this.changed("groups", "chat");
  }

  isMemberOf(groupId: number): boolean {
    const g = this.groups.get(groupId);
    return !!g && g.role !== "invited";
  }

  async createGroup(name: string, open: boolean): Promise<Group> {
    const g = await this.requireClient().createGroup(name.trim(), open);
    this.groups.set(g.id, g);
    this.changed("groups");
    return g;
  }

  async joinGroup(groupId: number): Promise<void> {
    await this.requireClient().joinGroup(groupId);
    await this.loadGroups();
  }

  async invite(groupId: number, userId: string): Promise<void> {
    await this.requireClient().inviteToGroup(groupId, userId);
  }

  async acceptInvite(groupId: number): Promise<void> {
    await this.requireClient().acceptGroupInvite(groupId);
    await this.loadGroups();
  }

  async declineInvite(groupId: number): Promise<void> {
    await this.requireClient().declineGroupInvite(groupId);
    this.groups.delete(groupId);
    this.changed("groups");
  }

  async leaveGroup(groupId: number): Promise<void> {
    await this.requireClient().leaveGroup(groupId);
    this.groups.delete(groupId);
    if (this.selected?.kind === "group" && this.selected.groupId === groupId) this.selected = null;
    this.changed("groups", "chat");
  }

  // ---- chat ----

  /** convOf is the conversation a message belongs to, as seen by me. */
  convOf(m: ChatMessage): Conv {
    if (m.groupId) return { kind: "group", groupId: m.groupId };
    return { kind: "direct", userId: m.fromUserId === this.myUserId ? m.toUserId : m.fromUserId };
  }

  /** conversation returns the messages of c I have, oldest first. */
  conversation(c: Conv): ChatMessage[] {
    const key = convKey(c);
    return [...this.messages.values()].filter((m) => convKey(this.convOf(m)) === key).sort((a, b) => a.id - b.id);
  }

  private addMessages(list: ChatMessage[], live: boolean): void {
    const selected = this.selected && convKey(this.selected);
    for (const m of list) {
      if (this.messages.has(m.id)) continue;
      this.messages.set(m.id, m);
      const key = convKey(this.convOf(m));
      if (live && key !== selected && m.fromUserId !== this.myUserId) {
        this.unread.set(key, (this.unread.get(key) ?? 0) + 1);
      }
    }
    // A page open for days keeps a bounded number: the oldest go first
    // (history brings them back when scrolled to).
    if (this.messages.size > maxMessagesKept) {
      const ids = [...this.messages.keys()].sort((a, b) => a - b);
      for (const id of ids.slice(0, this.messages.size - maxMessagesKept)) this.messages.delete(id);
    }
    this.changed("chat");
    if (live) this.changed("friends", "groups"); // unread badges
  }

  /** select opens a conversation, loading its latest history the first time. */
  async select(c: Conv | null): Promise<void> {
    this.selected = c;
    if (c) this.unread.delete(convKey(c));
    this.changed("chat", "friends", "groups");
    if (c && !this.older.has(convKey(c))) await this.loadHistory(c, 0);
  }

  /** loadOlder loads the page before the oldest message of the open conversation. */
  async loadOlder(): Promise<void> {
    const c = this.selected;
    if (!c) return;
    const first = this.conversation(c)[0];
    await this.loadHistory(c, first ? first.id : 0);
  }

  private async loadHistory(c: Conv, beforeId: number): Promise<void> {
    const gen = this.generation;
    const q = c.kind === "direct" ? { userId: c.userId } : { groupId: c.groupId };
    const page = await this.requireClient().history({ ...q, beforeId, limit: historyPage });
    if (gen !== this.generation) return;
    this.older.set(convKey(c), page.more);
    this.addMessages(page.messages, false);
  }

  async sendDirect(userId: string, body: string): Promise<void> {
    const sent = await this.requireClient().sendDirect(userId, body);
    this.addMessages([{ id: sent.id, groupId: 0, fromUserId: this.myUserId, toUserId: userId, timeUs: sent.timeUs, body, fromName: this.auth?.name ?? "" }], false);
  }

  async sendGroup(groupId: number, body: string): Promise<void> {
    const sent = await this.requireClient().sendGroup(groupId, body);
    this.addMessages([{ id: sent.id, groupId, fromUserId: this.myUserId, toUserId: "", timeUs: sent.timeUs, body, fromName: this.auth?.name ?? "" }], false);
  }

  // ---- lobby ----

  async refreshRooms(): Promise<void> {
    const gen = this.generation;
    const list = await this.requireClient().listRooms({ type: "relay", limit: 50 });
    if (gen !== this.generation) return;
    this.rooms = list;
    this.changed("rooms");
  }

  async createRoom(label: string): Promise<void> {
    await this.enter(() => this.requireClient().createRoom({ type: "relay", label: label.trim(), capacity: 16, tickRate: 30 }));
  }

  async joinRoom(id: bigint): Promise<void> {
    await this.enter(() => this.requireClient().joinRoom(id));
  }

  /** joinArena is matchmaking: the emptiest open relay room labelled "arena", or a new one. */
  async joinArena(): Promise<void> {
    await this.enter(() => this.requireClient().joinOrCreateRoom({ type: "relay", label: "arena", capacity: 16, tickRate: 30 }));
  }

  async leaveRoom(): Promise<void> {
    const r = this.room;
    if (!r) return;
    this.clearRoom();
    sessionStorage.removeItem(roomKey);
    this.changed("room");
    try {
      await r.leave();
    } finally {
      this.refreshRooms().catch(this.report);
    }
  }

  /** enter leaves the current room (one room at a time), joins another and starts following its ticks. */
  private async enter(join: () => Promise<Room>): Promise<void> {
    if (this.room) await this.leaveRoom();
    const gen = this.generation;
    const room = await join();
    if (gen !== this.generation) return;
    this.room = room;
    sessionStorage.setItem(roomKey, String(room.id));
    this.positions.clear();
    this.myPos = { x: 40 + Math.floor(Math.random() * (arenaW - 80)), y: 40 + Math.floor(Math.random() * (arenaH - 80)) };
    this.roomOffs = [
      room.on("tick", (t: RoomTick) => this.onTick(room, t)),
      room.on("member", (ev) => {
        if (this.room !== room) return;
        if (ev.event === "left") this.positions.delete(ev.member);
        else this.schedulePosition(); // show the newcomer where I am
        this.changed("room");
      }),
      room.on("rejoined", () => {
        // After a reconnect: new member numbers, so old positions mean nothing.
        if (this.room !== room) return;
        this.positions.clear();
        this.schedulePosition();
        this.changed("room");
      }),
      room.on("closed", (ev) => {
        if (this.room !== room) return;
        this.clearRoom();
        sessionStorage.removeItem(roomKey);
        this.changed("room");
        if (ev.code !== Code.OK) this.report(new TickwireError(ev.code, ev.message || "the room closed"));
        this.refreshRooms().catch(this.report);
      }),
    ];
    this.changed("room");
    this.schedulePosition();
    this.refreshRooms().catch(this.report);
  }

  private clearRoom(): void {
    for (const off of this.roomOffs) off();
    this.roomOffs = [];
    clearTimeout(this.sendTimer);
    this.sendTimer = undefined;
    this.room = null;
    this.positions.clear();
  }

  private onTick(room: Room, t: RoomTick): void {
    if (this.room !== room) return;
    // In arrival order: the last input of a member in this tick wins.
    for (const input of t.inputs) {
      const p = decodePos(input.data);
      if (p && room.members.has(input.member)) this.positions.set(input.member, p);
    }
    if (t.inputs.length > 0) this.changed("tick");
  }

  /** moveTo sets my position (clamped to the arena) and sends it within a tick. */
  moveTo(x: number, y: number): void {
    const nx = clamp(x, 0, arenaW - 1);
    const ny = clamp(y, 0, arenaH - 1);
    if (nx === this.myPos.x && ny === this.myPos.y) return;
    this.myPos = { x: nx, y: ny };
    this.schedulePosition();
  }

  /** tickMs is the room's tick interval: the least time between two of my inputs. */
  get tickMs(): number {
    return 1000 / (this.room?.tickRate || 30);
  }

  /**
   * schedulePosition sends my position on the unreliable channel, at most
   * once per tick interval: calls in between are folded into one send of
   * the latest position.
   */
  schedulePosition(): void {
    if (!this.room || this.sendTimer !== undefined) return;
    const wait = Math.max(0, this.lastSentMs + this.tickMs - performance.now());
    this.sendTimer = setTimeout(() => {
      this.sendTimer = undefined;
      const room = this.room;
      if (!room) return;
      this.lastSentMs = performance.now();
      try {
        room.send(encodePos(this.myPos.x, this.myPos.y), { reliable: false });
      } catch (err) {
        // A send between a lost connection and the reconnect: the next move or keep-alive resends.
        if (!(err instanceof TickwireError)) throw err;
      }
    }, wait);
  }

  // ---- the snapshot tests read ----

  // ---- calls (docs/VOICE.md; media is not part of the demo) ----

  private follow(call: Call): void {
    this.call = call;
    call.on("state", () => {
      if (this.call === call) this.changed("call");
    });
    this.changed("call");
  }

  /** callFriend rings a friend on every session they have. */
  async callFriend(userId: string): Promise<void> {
    this.follow(await this.requireClient().invite(userId));
  }

  async acceptCall(): Promise<void> {
    if (this.call) await this.call.accept();
  }

  /** hangUp declines, cancels or hangs up the current call. */
  async hangUp(): Promise<void> {
    if (this.call && this.call.state !== "ended") await this.call.hangUp();
  }

  snapshot(): DemoState {
    const room = this.room;
    return {
      connected: this.conn === "connected",
      conn: this.conn,
      closedCode: this.closedCode,
      transport: this.client && this.conn === "connected" ? this.client.transport : null,
      rttMs: this.client && this.conn === "connected" ? this.client.rtt || this.rttMs : 0,
      userId: this.client?.userId ?? null,
      guest: this.auth ? this.auth.guest : null,
      presence: this.myPresence,
      statusText: this.myStatus,
      friends: [...this.friends.values()].map((f) => ({
        userId: f.userId,
        username: f.username,
        displayName: f.displayName,
        state: f.state,
        presence: f.presence,
        statusText: f.statusText,
      })),
      messages: [...this.messages.values()]
        .sort((a, b) => a.id - b.id)
        .map((m) => ({ id: m.id, groupId: m.groupId, fromUserId: m.fromUserId, toUserId: m.toUserId, body: m.body })),
      groups: [...this.groups.values()].map((g) => ({ id: g.id, name: g.name, role: g.role, open: g.open })),
      rooms: this.rooms.map((r) => ({ id: String(r.roomId), label: r.label, members: r.members, capacity: r.capacity })),
      call: this.call
        ? {
            id: this.call.id,
            state: this.call.state,
            reason: this.call.reason,
            incoming: this.call.incoming,
            peerId: this.call.incoming ? this.call.callerId : this.call.calleeId,
            answeredElsewhere: this.call.answeredElsewhere,
          }
        : null,
      room: room
        ? {
            id: String(room.id),
            label: room.label,
            me: room.me,
            members: [...room.members.values()].map((m) => ({ member: m.member, userId: m.userId, displayName: m.displayName })),
            positions: Object.fromEntries([...this.positions].map(([k, p]) => [String(k), { x: p.x, y: p.y }])),
          }
        : null,
    };
  }
}

/** DemoState is window.demo.state(): plain JSON. */
export interface DemoState {
  connected: boolean;
  conn: ConnState;
  closedCode: string;
  transport: string | null;
  rttMs: number;
  userId: string | null;
  guest: boolean | null;
  presence: string;
  statusText: string;
  friends: { userId: string; username: string; displayName: string; state: string; presence: string; statusText: string }[];
  messages: { id: number; groupId: number; fromUserId: string; toUserId: string; body: string }[];
  groups: { id: number; name: string; role: string; open: boolean }[];
  rooms: { id: string; label: string; members: number; capacity: number }[];
  call: null | { id: number; state: string; reason: string; incoming: boolean; peerId: string; answeredElsewhere: boolean };
  room: null | {
    id: string;
    label: string;
    me: number;
    members: { member: number; userId: string; displayName: string }[];
    positions: Record<string, { x: number; y: number }>;
  };
}

export function parseTransport(s: string | null | undefined): TransportChoice {
  return transportChoices.includes(s as TransportChoice) ? (s as TransportChoice) : "auto";
}

/** tokenRefused: codes after which the saved token is useless. */
function tokenRefused(code: number): boolean {
  return code === Code.BadToken || code === Code.TokenExpired || code === Code.TokenRevoked || code === Code.UserNotFound;
}

