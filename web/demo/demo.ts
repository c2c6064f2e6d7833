// tickwire demo page: sign-in, friends and presence, direct and group chat,
// a lobby of relay rooms and an arena where each member is a dot. Plain DOM
// and the @tickwire/client SDK; served at / with /web/demo.js and
// /web/demo.css under a strict CSP (no inline script or style, no external
// resources, connections to the page's origin only).
//
// Modules: app.ts (state and actions, no DOM), views.ts (panels),
// arena.ts (canvas and keys), toast.ts (errors), dom.ts (helpers).
//
// ---------------------------------------------------------------------------
// For end-to-end tests (keep stable):
//
// data-test names (forms submit with Enter as well as with their button)
//   layout       main (data-view = signed-out | guest | user), signin-panel,
//                social-panel, chat-panel, guest-note (shown to guests
//                instead of friends and chat), lobby-panel, arena-panel
//                (hidden outside a room); hidden panels have the hidden
//                attribute
//   status bar   conn-state (text "connected", "reconnecting… (code)",
//                "closed (code)"...; data-state = signed-out | connecting |
//                connected | reconnecting | closed), transport (the
//                transport in use, "–" when not connected), rtt ("0.42 ms"),
//                transport-picker (select: auto, webrtc, websocket,
//                longpoll; starts from ?transport= in the URL and writes it
//                back; a change reconnects), reconnect (shown when closed),
//                me, logout
//   sign-in      signin-form, username, password, display-name, login,
//                register, guest (uses display-name, else username)
//   presence     presence-form, presence-select (online | away),
//                status-text, presence-set
//   friends      friend-add-form, friend-add-name, friend-add;
//                requests-incoming with request-in-<userId> rows holding
//                friend-accept-<userId> and friend-decline-<userId>;
//                requests-outgoing with request-out-<userId> rows holding
//                friend-cancel-<userId>; friend-list with friend-<userId>
//                rows (data-presence = online | away | offline) holding
//                presence-dot, friend-chat-<userId> (opens the chat; holds
//                friend-status), unread (a count badge),
//                friend-call-<userId> (rings the friend), friend-remove-<userId>
//   call         call-bar (hidden before any call; data-state = ringing |
//                active | ended, data-reason = the end reason), call-text,
//                call-accept (shown for a ringing incoming call),
//                call-hangup (Decline / Cancel / Hang up; hidden once ended
//                or when answered on another device)
//   groups       group-create-form, group-name, group-open (checkbox,
//                checked = open), group-create; group-join-form,
//                group-join-id, group-join; group-invitations with
//                invitation-<groupId> rows holding group-accept-<groupId>
//                and group-decline-<groupId>; group-list with
//                group-<groupId> rows holding group-chat-<groupId>, unread,
//                group-leave-<groupId>
//   chat         chat-title, group-invite-form (shown for a group),
//                group-invite-user (select of friends, value = user id),
//                group-invite, chat-older (shown while older messages
//                exist), chat-messages with chat-message items (data-id,
//                data-from = sender's user id; oldest first), chat-form,
//                chat-input, chat-send (disabled until a chat is open)
//   lobby        room-join-or-create (the relay room labelled "arena"),
//                rooms-refresh (also every 5 s), room-create-form,
//                room-label, room-create, room-list with room-<roomId> rows
//                holding room-join-<roomId> (absent for the room I am in)
//   arena        arena-title, arena-canvas (arrow keys / WASD anywhere but
//                in a text box; a click glides there), arena-members with
//                arena-member-<member> items, arena-leave
//   voice        voice-panel: voice-join (joins the "lounge" voice room
//                with the microphone), voice-mute (Mute / Unmute),
//                voice-leave; voice-members with voice-member-<member>
//                items (data-speaking = true | false); voice-audio holds
//                voice-slot-<i> audio elements
//   errors       toasts with toast items (data-code = the code name; a
//                click dismisses, 6 s otherwise)
//
// window.demo
//   client            the SDK Client (null when not connected)
//   app               the App (app.ts), for debugging
//   state()           a JSON snapshot:
//     connected       true while the session is up (conn === "connected")
//     conn            "signed-out" | "connecting" | "connected" |
//                     "reconnecting" | "closed"; closedCode: the code name it
//                     closed or was lost with ("" otherwise)
//     transport       "webrtc" | "websocket" | "longpoll" | null; rttMs: the
//                     smoothed RTT shown in the status bar (0 when unknown)
//     userId, guest   null when signed out; presence, statusText: mine as set
//     friends         [{userId, username, displayName, state (none is never
//                     listed: incoming | outgoing | friend | blocked),
//                     presence (online | away | offline), statusText}]
//     messages        [{id, groupId (0 = direct), fromUserId, toUserId ("" for
//                     a group), body}] every message seen, by id (numbers)
//     groups          [{id (number), name, role (invited = an invitation |
//                     member | admin | owner), open}]
//     call            null | {id, state (ringing | active | ended), reason
//                     (none | declined | cancelled | no_answer | hung_up |
//                     disconnected), incoming, peerId, answeredElsewhere}:
//                     the current call, or the last one once ended
//     rooms           the lobby: [{id (string), label, members, capacity}]
//     room            null | {id (string), label, me, members: [{member,
//                     userId, displayName}], positions: {[member]: {x, y}}}
//   actions (each returns a promise; rejects with a TickwireError on refusal;
//   guest, register, login and connect resolve once the session is up and
//   the friends, groups and lobby are loaded)
//     guest(name) register(username, password, displayName) login(username,
//     password) logout() connect() setTransport("auto"|"webrtc"|"websocket"|
//     "longpoll")
//     addFriend(username) accept(userId) decline(userId) cancel(userId)
//     removeFriend(userId) setPresence("online"|"away", text)
//     createGroup(name, open) → {id, name, role, open}; joinGroup(groupId)
//     invite(groupId, userId) acceptInvite(groupId) declineInvite(groupId)
//     leaveGroup(groupId)
//     callFriend(userId) acceptCall() hangUp()  (calls; no media)
//     openDirect(userId) openGroup(groupId) loadOlder()
//     sendDirect(userId, body) sendGroup(groupId, body)
//     refreshRooms() createRoom(label) joinRoom(roomId string|bigint)
//     joinVoice() muteVoice() leaveVoice() voiceState() (null | {me, muted,
//     speaking: [member], slots: [member per slot, 0 = none], members})
//     joinArena() leaveRoom() moveTo(x, y) (my position, clamped; the
//     server's tick then shows it in state().room.positions)
//   A failing action also shows its toast, as the control would. The
//   session's token and room are in sessionStorage ("tickwire-demo.auth",
//   "tickwire-demo.room"), so a reload reconnects and rejoins the room; log
//   out forgets them. Leaving the page closes the session (pagehide).
//   Arena positions are Int16 x, Int16 y big-endian in 0..799 × 0..499, sent
//   unreliably at most once per tick interval (and again each second when
//   idle, and when someone joins).
// ---------------------------------------------------------------------------

import { App, parseTransport } from "./app";
import { startArena } from "./arena";
import { showError } from "./toast";
import { renderRtt, wire } from "./views";
import { startVoicePanel } from "./voicepanel";
import type { VoicePanel } from "./voicepanel";

const app = new App();
app.report = showError;
let voice: VoicePanel | null = null;

/** act runs an action for window.demo as a control would: a failure shows its toast, and the promise still rejects. */
function act<T>(p: () => Promise<T>): Promise<T> {
  return (async () => p())().catch((err: unknown) => {
    showError(err);
    throw err;
  });
}

function group(g: { id: number; name: string; role: string; open: boolean }) {
  return { id: g.id, name: g.name, role: g.role, open: g.open };
}

const demo = Object.freeze({
  get client() {
    return app.client;
  },
  app,
  state: () => app.snapshot(),

  guest: (name: string) => act(() => app.guest(name)),
  register: (username: string, password: string, displayName = "") =>
    act(() => app.register(username, password, displayName || username)),
  login: (username: string, password: string) => act(() => app.login(username, password)),
  logout: () => act(() => app.logout()),
  connect: () => act(() => app.connect()),
  setTransport: (t: string) => act(() => app.setTransport(parseTransport(t))),

  addFriend: (username: string) => act(() => app.addFriend(username)),
  accept: (userId: string) => act(() => app.acceptFriend(userId)),
  decline: (userId: string) => act(() => app.declineFriend(userId)),
  cancel: (userId: string) => act(() => app.removeFriend(userId)),
  removeFriend: (userId: string) => act(() => app.removeFriend(userId)),
  setPresence: (p: string, text = "") => act(async () => app.setPresence(p === "away" ? "away" : "online", text)),

  createGroup: (name: string, open = true) => act(async () => group(await app.createGroup(name, open))),
  joinGroup: (groupId: number | string) => act(() => app.joinGroup(Number(groupId))),
  invite: (groupId: number | string, userId: string) => act(() => app.invite(Number(groupId), userId)),
  acceptInvite: (groupId: number | string) => act(() => app.acceptInvite(Number(groupId))),
  declineInvite: (groupId: number | string) => act(() => app.declineInvite(Number(groupId))),
  leaveGroup: (groupId: number | string) => act(() => app.leaveGroup(Number(groupId))),

  callFriend: (userId: string) => act(() => app.callFriend(userId)),
  acceptCall: () => act(() => app.acceptCall()),
  hangUp: () => act(() => app.hangUp()),

  openDirect: (userId: string) => act(() => app.select({ kind: "direct", userId })),
  openGroup: (groupId: number | string) => act(() => app.select({ kind: "group", groupId: Number(groupId) })),
  loadOlder: () => act(() => app.loadOlder()),
  sendDirect: (userId: string, body: string) => act(() => app.sendDirect(userId, body)),
  sendGroup: (groupId: number | string, body: string) => act(() => app.sendGroup(Number(groupId), body)),

  refreshRooms: () => act(() => app.refreshRooms()),
  createRoom: (label: string) => act(() => app.createRoom(label)),
  joinRoom: (roomId: string | bigint) => act(() => app.joinRoom(BigInt(roomId))),
  joinArena: () => act(() => app.joinArena()),
  leaveRoom: () => act(() => app.leaveRoom()),
  moveTo: (x: number, y: number) => act(async () => app.moveTo(x, y)),

  joinVoice: () => act(async () => voice?.join()),
  muteVoice: () => act(async () => voice?.mute()),
  leaveVoice: () => act(async () => voice?.leave()),
  voiceState: () => voice?.snapshot() ?? null,
});

declare global {
  interface Window {
    demo: typeof demo;
  }
}
window.demo = demo;

function start(): void {
  wire(app);
  startArena(app);
  voice = startVoicePanel(app);
  // Live RTT, shown every second. The SDK pings every heartbeat (1 s by
  // default) and emits "rtt" on each Pong; should a slower server
  // heartbeat leave a gap, the page pings itself.
  setInterval(() => {
    const c = app.client;
    if (c && app.conn === "connected" && performance.now() - app.rttAt > 1500) {
      c.ping().catch(() => {}); // a lost ping shows as reconnecting, not as an error
    }
    renderRtt(app);
  }, 1000);
  // The lobby follows other players' rooms.
  setInterval(() => {
    if (app.client && app.conn === "connected") app.refreshRooms().catch(() => {});
  }, 5000);
  window.addEventListener("pagehide", () => app.pageHidden());
  window.addEventListener("pageshow", (e) => {
    if (e.persisted) app.pageShown().catch(showError);
  });
  app.resume().catch(showError);
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
else start();
