// The tab's one WebSocket: connection, heartbeat, backoff, the outbox and resume. Feature modules
// subscribe with on(type, handler) and write with send(frame); none of them sees the socket.
//
// The promises it keeps:
// - One live socket per tab. A socket that is replaced or given up is detached first: nothing it
//   says afterwards reaches a handler, and its late close never schedules another connection.
// - A dead connection is noticed. A path can die without a close (a NAT entry dropped, a laptop
//   asleep): every ping must be answered, by a pong or any frame, within ANSWER_MS, and a socket
//   must say hello within CONNECT_MS; otherwise it is given up and a new one opened at once.
// - Sends are not lost. Each waits in a persistent outbox (per user, shared by the tabs) until the
//   server acknowledges or refuses it, and the outbox is replayed after every hello (the server
//   stores a retried client_id once).
// - Resume is unconditional and complete. After every hello, every followed conversation asks for
//   everything after the last seq it holds, follows `more` page by page, retries a refused or
//   unanswered request, and asks again if a gap was seen while a request was out. A history only
//   counts as the answer when it matches the request, so late or repeated pages are harmless (the
//   timeline places each message once, by seq).

const HEARTBEAT_MS = 25000; // a ping this often while open (the server counts it for presence)
const ANSWER_MS = 10000; // an unanswered ping or hello after this long: the connection is dead
const CONNECT_MS = 10000;
const PROBE_MS = 5000; // after "online" or a return to the tab: a quicker check of the same socket
const RESUME_ANSWER_MS = 15000; // a resume left unanswered this long on a live socket is sent again
const RETRY_BASE_MS = 500;
const RETRY_MAX_MS = 10000;
const TOO_MANY_SOCKETS_MS = 30000; // close code 4429: the contract says wait 30 s
const FINAL_RESUME_ERRORS = new Set(["not_member", "not_found", "forbidden", "invalid", "bad_frame"]);

const handlers = new Map(); // event type -> Set of handlers
const followed = new Map(); // conversation id -> resume state
let url = null;
let outboxKey = null;
let current = null; // { ws, ready, wasReady, timers }
let failures = 0; // connections in a row that never said hello
let retryTimer = null;
let everReady = false;
let stopped = false; // signed out (4401) or the page is going away
let leaving = false;
let holdUntil = 0; // after 4429: no connection before this time

// ---------------------------------------------------------------- subscribing and sending

export function on(type, handler) {
  if (!handlers.has(type)) handlers.set(type, new Set());
  handlers.get(type).add(handler);
  return () => handlers.get(type).delete(handler);
}

function emit(event) {
  for (const handler of handlers.get(event.type) || []) {
    try { handler(event); } catch (error) { console.error(error); } // one feature's bug must not deafen the others
  }
}

export function isOpen() { return Boolean(current && current.ready); }

// Sends now or not at all (false): a frame is never queued behind a dead connection. What must
// survive a reconnect goes through the outbox or follow().
export function send(frame) {
  if (!isOpen() || current.ws.readyState !== WebSocket.OPEN) return false;
  current.ws.send(JSON.stringify(frame));
  return true;
}

// ---------------------------------------------------------------- the outbox

export const outbox = {
  items() {
    try { return JSON.parse(localStorage.getItem(outboxKey) || "[]"); } catch (e) { return []; }
  },
  save(items) { localStorage.setItem(outboxKey, JSON.stringify(items)); },
  // Stores a message.send frame and sends it if the socket is open; false: it waits for the next hello.
  add(frame) {
    outbox.save(outbox.items().filter((i) => i.client_id !== frame.client_id).concat([frame]));
    return send({ ...frame, type: "message.send" });
  },
  drop(clientId) {
    if (!clientId) return;
    const items = outbox.items();
    const rest = items.filter((i) => i.client_id !== clientId);
    if (rest.length !== items.length) outbox.save(rest);
  },
};

function replayOutbox() {
  for (const item of outbox.items()) send({ ...item, type: "message.send" });
}

// ---------------------------------------------------------------- resume

// Keeps one conversation caught up: afterSeq() is the seq the page holds everything up to, and
// behind() whether it knows of a message missing above that. Returns a function that stops
// following (a chat the person left).
export function follow(conversation, afterSeq, behind = () => true) {
  const state = { conversation, afterSeq, behind, inFlight: null, again: false, floor: 0, refusals: 0, retryTimer: null, answerTimer: null };
  followed.set(conversation, state);
  if (isOpen()) startResume(state);
  return () => unfollow(conversation);
}

function unfollow(conversation) {
  const state = followed.get(conversation);
  if (!state) return;
  clearTimeout(state.retryTimer);
  clearTimeout(state.answerTimer);
  followed.delete(conversation);
}

// Something suggests messages are missing (a seq gap, a send whose broadcast went astray).
export function resume(conversation) {
  const state = followed.get(conversation);
  if (!state) return;
  if (state.inFlight) state.again = true; // the answer in flight may predate the gap: ask once more after it
  else startResume(state);
}

function startResume(state) {
  state.floor = 0;
  requestPage(state);
}

function requestPage(state) {
  clearTimeout(state.retryTimer);
  clearTimeout(state.answerTimer);
  state.retryTimer = null;
  state.again = false;
  if (!isOpen()) { state.inFlight = null; return; } // the next hello starts it again
  const afterSeq = Math.max(Number(state.afterSeq()) || 0, state.floor);
  state.inFlight = { afterSeq, socket: current };
  if (!send({ type: "resume", conversation: state.conversation, after_seq: afterSeq })) { state.inFlight = null; return; }
  const asked = state.inFlight;
  state.answerTimer = setTimeout(() => { if (state.inFlight === asked) requestPage(state); }, RESUME_ANSWER_MS);
}

function onHistory(event) {
  const state = followed.get(event.conversation);
  if (!state || !state.inFlight || state.inFlight.socket !== current || Number(event.after_seq) !== state.inFlight.afterSeq) return;
  clearTimeout(state.answerTimer);
  const asked = state.inFlight;
  state.inFlight = null;
  state.refusals = 0;
  // The next page starts after this one even if the page could not place it (afterSeq unchanged).
  const seqs = (event.messages || []).map((m) => Number(m.seq) || 0);
  state.floor = Math.max(state.floor, asked.afterSeq, ...seqs);
  if (event.more || (state.again && state.behind())) requestPage(state);
}

function onResumeRefused(event) {
  // An error without a conversation (the server's own failure) answers every request out.
  const states = event.conversation != null ? [followed.get(event.conversation)].filter(Boolean) : Array.from(followed.values());
  for (const state of states) {
    if (!state.inFlight) continue;
    clearTimeout(state.answerTimer);
    state.inFlight = null;
    if (FINAL_RESUME_ERRORS.has(event.code)) { unfollow(state.conversation); continue; }
    // Rate-limited or failed: ask again later, later each time, until answered.
    const delay = Math.min(RETRY_BASE_MS * 2 ** state.refusals, 30000) * (1 + Math.random());
    state.refusals += 1;
    state.retryTimer = setTimeout(() => requestPage(state), delay);
  }
}

function resumeAll() {
  for (const state of followed.values()) startResume(state);
}

function forgetRequests() {
  for (const state of followed.values()) {
    clearTimeout(state.answerTimer);
    clearTimeout(state.retryTimer);
    state.inFlight = null;
    state.again = false;
  }
}

// ---------------------------------------------------------------- the connection

function socketUrl() {
  const address = new URL(url, location.href);
  address.protocol = address.protocol === "https:" ? "wss:" : "ws:";
  return address.href;
}

function setState(state, detail) { emit({ type: "socket.state", state, ...detail }); }

function connect() {
  clearTimeout(retryTimer);
  retryTimer = null;
  if (stopped || leaving) return;
  if (current) abandon(current, "replaced");
  const ws = new WebSocket(socketUrl());
  const connection = { ws, ready: false, connectTimer: null, answerTimer: null, heartbeat: null };
  current = connection;
  connection.connectTimer = setTimeout(() => giveUp(connection), CONNECT_MS);
  ws.addEventListener("message", (message) => {
    if (current !== connection) return;
    heard(connection);
    let event;
    try { event = JSON.parse(message.data); } catch (e) { return; }
    if (!event || typeof event.type !== "string") return;
    if (event.type === "hello") becomeReady(connection);
    emit(event);
    if (event.type === "history") onHistory(event);
    else if (event.type === "message.ack") outbox.drop(event.client_id);
    else if (event.type === "error") {
      if (event.client_id && event.for === "message.send") outbox.drop(event.client_id); // refused for good: the page shows why
      if (event.for === "resume") onResumeRefused(event);
    }
  });
  ws.addEventListener("close", (event) => { if (current === connection) closed(connection, event.code); });
}

function becomeReady(connection) {
  if (connection.ready) return;
  clearTimeout(connection.connectTimer);
  connection.ready = true;
  failures = 0;
  const first = !everReady;
  everReady = true;
  connection.heartbeat = setInterval(() => ping(connection, ANSWER_MS), HEARTBEAT_MS);
  setState("open", { first });
  replayOutbox();
  emit({ type: "socket.ready", first });
  resumeAll();
}

// Any frame proves the connection alive: the ping's answer need not be the pong itself.
function heard(connection) {
  clearTimeout(connection.answerTimer);
  connection.answerTimer = null;
}

function ping(connection, within) {
  if (current !== connection || !connection.ready || connection.answerTimer) return;
  if (!send({ type: "ping" })) return;
  connection.answerTimer = setTimeout(() => giveUp(connection), within);
}

// Detach, then close: the old socket can say nothing more, and a close that never completes on a
// dead path (the browser waits a long time for the closing handshake) holds nothing up.
function abandon(connection, reason = "given up") {
  clearTimeout(connection.connectTimer);
  clearTimeout(connection.answerTimer);
  clearInterval(connection.heartbeat);
  if (current === connection) current = null;
  try { connection.ws.close(1000, reason); } catch (e) { /* already closing */ }
}

function giveUp(connection) {
  if (current !== connection) return;
  const wasReady = connection.ready;
  abandon(connection);
  lost(wasReady, wasReady); // the path of that one socket died: a new one may well get through at once
}

function closed(connection, code) {
  const wasReady = connection.ready;
  abandon(connection);
  if (code === 4401) { // signed out: asking again would only be refused
    stopped = true;
    forgetRequests();
    setState("signed-out");
    return;
  }
  if (code === 4429) { // too many sockets for this person: wait before trying again
    forgetRequests();
    setState("too-many");
    holdUntil = Date.now() + TOO_MANY_SOCKETS_MS;
    scheduleRetry(TOO_MANY_SOCKETS_MS);
    return;
  }
  // 4000 (the session is checked again) and 4001 (this socket fell behind) mean "come back now";
  // anything else is a lost connection. A socket that never said hello counts as a failure either way.
  lost(wasReady, wasReady && (code === 4000 || code === 4001));
}

function lost(wasReady, now = false) {
  forgetRequests();
  if (!wasReady) failures += 1;
  if (leaving || stopped) return;
  setState("reconnecting");
  if (now) { connect(); return; }
  const delay = Math.min(RETRY_BASE_MS * 2 ** Math.max(failures - 1, 0), RETRY_MAX_MS);
  scheduleRetry(delay * (0.5 + Math.random() / 2));
}

function scheduleRetry(delay) {
  clearTimeout(retryTimer);
  retryTimer = setTimeout(connect, delay);
}

// The network may be back, or the socket may have died while the tab slept: check, do not guess.
function checkNow() {
  if (stopped || leaving || Date.now() < holdUntil) return;
  if (!current) { if (retryTimer) connect(); return; } // waiting out a backoff: try now
  if (current.ready) ping(current, PROBE_MS);
  // Still connecting: CONNECT_MS decides.
}

export function start(options) {
  url = options.url;
  outboxKey = "chat-outbox-" + options.userId;
  window.addEventListener("online", checkNow);
  document.addEventListener("visibilitychange", () => { if (document.visibilityState === "visible") checkNow(); });
  // Leaving the page closes the socket at once (the server learns we are gone right away), and a
  // page restored from the back-forward cache connects again.
  window.addEventListener("pagehide", () => {
    leaving = true;
    clearTimeout(retryTimer);
    if (current) abandon(current, "page hidden");
    forgetRequests();
  });
  window.addEventListener("pageshow", (event) => {
    if (!event.persisted) return;
    leaving = false;
    connect();
  });
  connect();
}
