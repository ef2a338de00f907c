// Audio and video calls: the chat header's call buttons, the incoming-call dialog (every tab of the
// person rings; an answer in one stops the others), the in-call view with its tiles and controls,
// the minimised call bar, and the WebRTC peer connections (full mesh).
//
// Signalling goes through the one socket (socket.js): call.offer / call.answer / call.ice to one
// other person in the call, call.media (mute, camera, screen) to all of them. The newcomer to a
// call makes the offers, to everyone already in it; the others only answer. So two people never
// offer to each other at once, and a person who comes back (a reload) simply offers again.
//
// Pages are server-rendered: going to another chat loads a new page and ends this one's peer
// connections. The call itself survives: the tab remembers it (sessionStorage), the server keeps
// the person in the call for CALL_RECONNECT_SECONDS, and the next page rejoins at once, minimised
// to the call bar, while the others' tiles say "Reconnecting…" for the second it takes.
import * as socket from "./socket.js";
import { toast } from "./util.js";

const STORE = "chat.call"; // this tab's call, for the next page: { id, audio, video }
let myId = 0;
let iceServers = [];
let ringSeconds = 30;
let active = null; // the call this tab is in
let incoming = null; // { call, dialog } ringing in this tab
let pendingStart = false;
const groupCalls = new Map(); // conversation -> ongoing call this tab may join
const versions = new Map(); // call id -> the newest version seen (events may arrive out of order)

function isStale(call) {
  if ((versions.get(call.id) || 0) > call.version) return true;
  versions.set(call.id, call.version);
  return false;
}

// ---------------------------------------------------------------- helpers

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "text") node.textContent = value;
    else if (key === "className") node.className = value;
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children) if (child) node.append(child);
  return node;
}

function openConversation() {
  return Number(document.getElementById("chat")?.dataset.conversationId || 0) || null;
}

function mine(call) { return call.participants.find((p) => p.id === myId); }
function person(call, id) { return call.participants.find((p) => p.id === id); }
function isLive(call) { return call.status === "ringing" || call.status === "ongoing"; }

function callTitle(call) {
  if (call.group) return call.title;
  const other = call.participants.find((p) => p.id !== myId);
  return other ? other.name : "";
}

function avatar(who) {
  const box = el("span", { className: "avatar avatar-lg", "aria-hidden": "true" });
  if (who && who.avatar) box.append(el("img", { src: who.avatar, alt: "", width: 64, height: 64 }));
  else box.textContent = who ? who.initials : "?";
  return box;
}

function remember() {
  if (!active) sessionStorage.removeItem(STORE);
  else sessionStorage.setItem(STORE, JSON.stringify({ id: active.id, audio: active.audioOn, video: active.videoOn,
    kind: active.kind }));
}

function recalled() {
  try { return JSON.parse(sessionStorage.getItem(STORE) || "null"); } catch (e) { return null; }
}

// ---------------------------------------------------------------- the ring tone (WebAudio, no file)

let ringContext = null;
let ringTimer = null;

function ringOnce() {
  if (!ringContext) return;
  const now = ringContext.currentTime;
  const gain = ringContext.createGain();
  gain.gain.setValueAtTime(0, now);
  gain.gain.linearRampToValueAtTime(0.12, now + 0.05);
  gain.gain.setValueAtTime(0.12, now + 0.9);
  gain.gain.linearRampToValueAtTime(0, now + 1);
  gain.connect(ringContext.destination);
  for (const frequency of [440, 480]) { // the North American ring-back pair
    const tone = ringContext.createOscillator();
    tone.frequency.value = frequency;
    tone.connect(gain);
    tone.start(now);
    tone.stop(now + 1);
  }
}

function startRinging() {
  stopRinging();
  try {
    ringContext = new AudioContext();
    ringContext.resume().catch(() => {}); // a tab nobody touched yet may stay silent: the dialog still shows
  } catch (e) { ringContext = null; }
  ringOnce();
  ringTimer = setInterval(ringOnce, 3000);
}

function stopRinging() {
  clearInterval(ringTimer);
  ringTimer = null;
  if (ringContext) ringContext.close().catch(() => {});
  ringContext = null;
}

// ---------------------------------------------------------------- the incoming-call dialog

function showIncoming(call) {
  if (incoming && incoming.call.id === call.id) { incoming.call = call; return; }
  closeIncoming();
  const caller = person(call, call.initiator);
  const kindText = call.kind === "video" ? "video call" : "audio call";
  const heading = el("h2", { id: "incoming-call-title", text: `Incoming ${kindText}` });
  const who = el("p", { className: "incoming-who", text: call.group
    ? `${caller ? caller.name : "Someone"} is calling ${call.title}`
    : `${caller ? caller.name : "Someone"} is calling you` });
  const acceptAudio = el("button", { type: "button", className: "button button-secondary", text: "Accept audio" });
  const acceptVideo = el("button", { type: "button", className: "button button-primary", text: "Accept video" });
  const decline = el("button", { type: "button", className: "button button-danger", text: "Decline" });
  const dialog = el("section", { className: "incoming-call", role: "alertdialog", "aria-labelledby": "incoming-call-title",
    "aria-describedby": "incoming-call-who" },
  avatar(caller), el("div", { className: "incoming-text" }, heading, who),
  el("div", { className: "incoming-actions" }, acceptAudio, acceptVideo, decline));
  who.id = "incoming-call-who";
  acceptAudio.addEventListener("click", () => answer(call, false));
  acceptVideo.addEventListener("click", () => answer(call, true));
  decline.addEventListener("click", () => { socket.send({ type: "call.decline", call: call.id }); closeIncoming(); });
  document.body.append(dialog);
  incoming = { call, dialog };
  (call.kind === "video" ? acceptVideo : acceptAudio).focus();
  startRinging();
}

function closeIncoming() {
  stopRinging();
  if (incoming) incoming.dialog.remove();
  incoming = null;
}

// ---------------------------------------------------------------- local media

async function localMedia({ audio, video }) {
  try {
    return await navigator.mediaDevices.getUserMedia({ audio: true, video: Boolean(video) });
  } catch (error) {
    if (video) { // no camera (or refused): the call goes on with the microphone
      toast("The camera is not available: joining with audio only.");
      return localMedia({ audio, video: false });
    }
    toast("The microphone is not available. Check the browser's permission for this site.");
    return null;
  }
}

async function answer(call, withVideo) {
  closeIncoming();
  if (active) { toast("You are already in a call."); return; }
  const stream = await localMedia({ audio: true, video: withVideo });
  if (!stream) { socket.send({ type: "call.decline", call: call.id }); return; }
  prepare(call, stream, { audio: true, video: withVideo });
  socket.send({ type: "call.accept", call: call.id });
}

async function startCall(conversation, kind) {
  if (active || pendingStart) { toast("You are already in a call."); return; }
  pendingStart = true;
  const stream = await localMedia({ audio: true, video: kind === "video" });
  if (!stream) { pendingStart = false; return; }
  prepare({ id: 0, conversation, kind, status: "ringing", participants: [], group: false, title: "" }, stream,
    { audio: true, video: kind === "video" });
  if (!socket.send({ type: "call.start", conversation, kind })) {
    toast("Not connected. Try again in a moment.");
    teardown();
  }
}

async function joinCall(callId, kind, wanted = { audio: true, video: kind === "video" }) {
  if (active) return;
  const stream = await localMedia({ audio: true, video: wanted.video });
  if (!stream) return;
  prepare({ id: callId, conversation: 0, kind, status: "ongoing", participants: [], group: true, title: "" }, stream, wanted);
  active.rejoining = true;
  socket.send({ type: "call.join", call: callId });
}

// ---------------------------------------------------------------- the call this tab is in

function prepare(call, stream, { audio, video }) {
  pendingStart = false;
  active = {
    id: call.id, conversation: call.conversation, kind: call.kind, call, stream, peers: new Map(),
    audioOn: audio !== false, videoOn: Boolean(video) && stream.getVideoTracks().length > 0, screen: null,
    answeredAt: null, timer: null, minimised: false, view: null, ringTimer: null,
  };
  stream.getAudioTracks().forEach((t) => { t.enabled = active.audioOn; });
  stream.getVideoTracks().forEach((t) => { t.enabled = active.videoOn; });
  buildView();
}

function joinedState(e) {
  // The answer to call.start / call.accept / call.join.
  iceServers = e.ice_servers || [];
  ringSeconds = e.ring_seconds || 30;
  const call = e.call;
  if (!active) return;
  if (call.status === "busy") {
    toast(`${callTitle(call)} is in another call.`);
    teardown();
    return;
  }
  const reattaching = active.reattaching;
  if (active.rejoining) active.minimised = call.conversation !== openConversation();
  active.id = call.id;
  active.conversation = call.conversation;
  active.rejoining = false;
  active.reattaching = false;
  remember();
  if (!isStale(call)) applyCall(call); // else a newer call.updated is already applied
  if (!active) return;
  // The newcomer offers to everyone already in the call (after a socket drop: to those whose
  // connection did not survive it).
  for (const p of active.call.participants) {
    if (p.id === myId || p.status !== "joined") continue;
    const pc = active.peers.get(p.id)?.pc;
    if (!reattaching || !pc || pc.connectionState !== "connected") {
      offerTo(p.id).catch((error) => console.warn("call offer failed", error));
    }
  }
  sendMedia();
  if (call.status === "ringing") {
    clearTimeout(active.ringTimer);
    active.ringTimer = setTimeout(() => socket.send({ type: "call.sync" }), (ringSeconds + 1) * 1000);
  }
}

function applyCall(call) {
  active.call = call;
  active.kind = call.kind;
  if (call.answered_at && !active.answeredAt) active.answeredAt = Date.parse(call.answered_at);
  if (!isLive(call)) {
    const text = { missed: "No answer.", declined: "The call was declined.", cancelled: "Call cancelled.",
      ended: "Call ended.", busy: "Busy." }[call.status];
    teardown();
    if (text) toast(text);
    return;
  }
  const me = mine(call);
  if (me && me.status !== "joined") { teardown(); return; } // hung up from another tab, or dropped
  for (const [id, peer] of active.peers) {
    const p = person(call, id);
    if (!p || p.status !== "joined") closePeer(id);
    else peer.tile.dataset.connected = p.connected ? "true" : "false";
  }
  for (const p of call.participants) {
    if (p.id !== myId && p.status === "joined" && !active.peers.has(p.id)) ensureTile(p.id);
  }
  renderView();
}

function teardown() {
  if (!active) { pendingStart = false; return; }
  for (const id of Array.from(active.peers.keys())) closePeer(id);
  for (const track of active.stream.getTracks()) track.stop();
  if (active.screen) active.screen.stop();
  clearInterval(active.timer);
  clearTimeout(active.ringTimer);
  active.view?.remove();
  active = null;
  pendingStart = false;
  remember();
  document.body.classList.remove("in-call");
  renderJoinButtons();
}

function hangUp() {
  if (!active) return;
  if (active.id) socket.send({ type: "call.hangup", call: active.id });
  teardown();
}

// ---------------------------------------------------------------- peer connections

function tileFor(id) {
  const who = active.call && person(active.call, id);
  const name = who ? who.name : "Someone";
  const video = el("video", { autoplay: true, playsinline: true });
  const state = el("span", { className: "tile-state" });
  const tile = el("figure", { className: "call-tile", "aria-label": name, "data-connected": "true", "data-peer": "connecting" },
    avatar(who), video, el("figcaption", {}, el("span", { className: "tile-name", text: name }), state));
  return { tile, video, state };
}

function ensureTile(id) {
  let peer = active.peers.get(id);
  if (!peer) {
    const { tile, video, state } = tileFor(id);
    peer = { id, pc: null, tile, video, state, pending: [], media: { audio: true, video: active.kind === "video", screen: false } };
    active.peers.set(id, peer);
    active.grid?.append(tile);
  }
  return peer;
}

function newConnection(id) {
  const peer = ensureTile(id);
  if (peer.pc) peer.pc.close();
  const pc = new RTCPeerConnection({ iceServers });
  peer.pc = pc;
  peer.pending = [];
  peer.remote = new MediaStream();
  peer.video.srcObject = peer.remote;
  pc.addEventListener("icecandidate", (event) => {
    if (event.candidate && active) {
      const c = event.candidate.toJSON();
      const candidate = { candidate: c.candidate };
      if (c.sdpMid != null) candidate.sdpMid = c.sdpMid;
      if (c.sdpMLineIndex != null) candidate.sdpMLineIndex = c.sdpMLineIndex;
      if (c.usernameFragment != null) candidate.usernameFragment = c.usernameFragment;
      socket.send({ type: "call.ice", call: active.id, to: id, candidate });
    }
  });
  pc.addEventListener("track", (event) => {
    peer.remote.addTrack(event.track);
    peer.video.play().catch(() => {}); // played on the next gesture if the browser holds it back
  });
  pc.addEventListener("connectionstatechange", () => {
    peer.tile.dataset.peer = pc.connectionState;
    renderTile(peer);
  });
  return { peer, pc };
}

function localTrack(kind) {
  if (kind === "video" && active.screen) return active.screen;
  return active.stream.getTracks().find((t) => t.kind === kind) || null;
}

// Every connection carries one audio and one video transceiver, whatever the call's kind: a screen
// share, or a camera turned on later, is then a replaceTrack, never a new negotiation.
async function offerTo(id) {
  const { pc } = newConnection(id);
  for (const kind of ["audio", "video"]) {
    const track = localTrack(kind);
    pc.addTransceiver(track || kind, { direction: "sendrecv", streams: [active.stream] });
  }
  const offer = await pc.createOffer();
  await pc.setLocalDescription(offer);
  socket.send({ type: "call.offer", call: active.id, to: id, sdp: pc.localDescription.sdp });
}

async function onOffer(e) {
  if (!active || e.call !== active.id) return;
  const { peer, pc } = newConnection(e.from); // a second offer from someone: they came back
  await pc.setRemoteDescription({ type: "offer", sdp: e.sdp });
  for (const transceiver of pc.getTransceivers()) {
    const kind = transceiver.receiver.track.kind;
    transceiver.direction = "sendrecv";
    await transceiver.sender.replaceTrack(localTrack(kind));
    if (transceiver.sender.setStreams) transceiver.sender.setStreams(active.stream);
  }
  await flushCandidates(peer);
  const reply = await pc.createAnswer();
  await pc.setLocalDescription(reply);
  socket.send({ type: "call.answer", call: active.id, to: e.from, sdp: pc.localDescription.sdp });
  sendMedia();
}

async function onAnswer(e) {
  const peer = active && e.call === active.id && active.peers.get(e.from);
  if (!peer || !peer.pc || peer.pc.signalingState !== "have-local-offer") return;
  await peer.pc.setRemoteDescription({ type: "answer", sdp: e.sdp });
  await flushCandidates(peer);
}

async function flushCandidates(peer) {
  const waiting = peer.pending;
  peer.pending = [];
  for (const candidate of waiting) await peer.pc.addIceCandidate(candidate).catch(() => {});
}

async function onIce(e) {
  const peer = active && e.call === active.id && active.peers.get(e.from);
  if (!peer || !peer.pc) return;
  if (!peer.pc.remoteDescription) { peer.pending.push(e.candidate); return; }
  await peer.pc.addIceCandidate(e.candidate).catch(() => {});
}

function onMedia(e) {
  const peer = active && e.call === active.id && active.peers.get(e.from);
  if (!peer) return;
  peer.media = { audio: e.audio, video: e.video, screen: e.screen };
  renderTile(peer);
}

function closePeer(id) {
  const peer = active.peers.get(id);
  if (!peer) return;
  if (peer.pc) peer.pc.close();
  peer.tile.remove();
  active.peers.delete(id);
}

function sendMedia() {
  if (!active || !active.id) return;
  socket.send({ type: "call.media", call: active.id, audio: active.audioOn, video: active.videoOn || Boolean(active.screen),
    screen: Boolean(active.screen) });
}

// ---------------------------------------------------------------- controls

function toggleMute() {
  active.audioOn = !active.audioOn;
  active.stream.getAudioTracks().forEach((t) => { t.enabled = active.audioOn; });
  remember(); sendMedia(); renderView();
}

async function toggleCamera() {
  if (!active.stream.getVideoTracks().length) {
    try { // an audio call (or an audio answer) turns the camera on: one more track, same transceivers
      const camera = (await navigator.mediaDevices.getUserMedia({ video: true })).getVideoTracks()[0];
      active.stream.addTrack(camera);
      if (!active.screen) await replaceVideo(camera);
    } catch (e) { toast("The camera is not available."); return; }
    active.videoOn = true;
  } else {
    active.videoOn = !active.videoOn;
    active.stream.getVideoTracks().forEach((t) => { t.enabled = active.videoOn; });
  }
  remember(); sendMedia(); renderView();
}

async function replaceVideo(track) {
  for (const peer of active.peers.values()) {
    const sender = peer.pc?.getTransceivers().find((t) => t.receiver.track.kind === "video")?.sender;
    if (sender) await sender.replaceTrack(track);
  }
  active.preview.srcObject = track ? new MediaStream([track]) : null;
}

async function toggleScreen() {
  if (active.screen) { await stopScreen(); return; }
  let track;
  try {
    track = (await navigator.mediaDevices.getDisplayMedia({ video: true })).getVideoTracks()[0];
  } catch (e) { return; } // the person cancelled the picker
  active.screen = track;
  track.addEventListener("ended", () => { if (active && active.screen === track) stopScreen(); });
  await replaceVideo(track);
  sendMedia(); renderView();
}

async function stopScreen() {
  const track = active.screen;
  active.screen = null;
  if (track) track.stop();
  await replaceVideo(active.stream.getVideoTracks()[0] || null);
  sendMedia(); renderView();
}

// ---------------------------------------------------------------- the view

function button(text, handler, className = "button button-secondary") {
  const b = el("button", { type: "button", className, text });
  b.addEventListener("click", handler);
  return b;
}

function buildView() {
  const title = el("h2", { className: "call-title", id: "call-title" });
  const status = el("p", { className: "call-status muted" });
  const timer = el("span", { className: "call-timer", role: "timer", "aria-label": "Call duration", text: "0:00" });
  const preview = el("video", { autoplay: true, playsinline: true, muted: true });
  preview.muted = true;
  preview.srcObject = active.stream;
  const self = el("figure", { className: "call-tile call-self", "aria-label": "You" }, preview,
    el("figcaption", {}, el("span", { className: "tile-name", text: "You" })));
  const grid = el("div", { className: "call-grid" }, self);
  const mute = button("Mute microphone", toggleMute);
  const camera = button("Turn camera off", toggleCamera, "button button-secondary call-extra");
  const screen = button("Share screen", toggleScreen, "button button-secondary call-extra");
  const size = button("Minimise", () => { active.minimised = !active.minimised; renderView(); });
  const open = el("a", { className: "button button-secondary call-open", text: "Open chat" });
  const hang = button("Hang up", hangUp, "button button-danger");
  const view = el("section", { className: "call-view", "aria-labelledby": "call-title" },
    el("header", { className: "call-head" }, el("div", {}, title, status), timer), grid,
    el("div", { className: "call-controls", role: "group", "aria-label": "Call controls" }, mute, camera, screen, size, open, hang));
  if (!navigator.mediaDevices.getDisplayMedia) screen.hidden = true;
  Object.assign(active, { view, grid, title, status, timerEl: timer, preview, controls: { mute, camera, screen, size, open } });
  active.minimised = active.conversation !== openConversation() && Boolean(active.conversation);
  document.body.append(view);
  document.body.classList.add("in-call");
  active.timer = setInterval(tick, 1000);
  renderView();
}

function tick() {
  if (!active || !active.answeredAt) return;
  const seconds = Math.max(0, Math.floor((Date.now() - active.answeredAt) / 1000));
  const h = Math.floor(seconds / 3600), m = Math.floor((seconds % 3600) / 60), s = seconds % 60;
  active.timerEl.textContent = (h ? `${h}:${String(m).padStart(2, "0")}` : String(m)) + ":" + String(s).padStart(2, "0");
}

function renderTile(peer) {
  const words = [];
  const connected = peer.tile.dataset.connected !== "false";
  if (!connected) words.push("Reconnecting…");
  else if (peer.tile.dataset.peer !== "connected") words.push("Connecting…");
  if (!peer.media.audio) words.push("Muted");
  if (peer.media.screen) words.push("Sharing screen");
  else if (!peer.media.video) words.push("Camera off");
  peer.state.textContent = words.join(" · ");
  peer.tile.dataset.muted = String(!peer.media.audio);
  peer.tile.dataset.video = String(peer.media.video || peer.media.screen);
  peer.tile.dataset.screen = String(peer.media.screen);
}

function renderView() {
  if (!active || !active.view) return;
  const call = active.call;
  const name = call && call.participants.length ? callTitle(call) : "";
  const kind = active.kind === "video" ? "Video call" : "Audio call";
  active.title.textContent = name ? `${kind} with ${name}` : kind;
  const ringing = !call || call.status === "ringing";
  const others = call ? call.participants.filter((p) => p.id !== myId && p.status === "joined").length : 0;
  active.status.textContent = ringing ? "Calling…" : (others ? "" : "Waiting for others…");
  active.view.dataset.minimised = String(active.minimised);
  active.view.dataset.count = String(active.peers.size + 1);
  const { mute, camera, screen, size, open } = active.controls;
  mute.textContent = active.audioOn ? "Mute microphone" : "Unmute microphone";
  mute.setAttribute("aria-pressed", String(!active.audioOn));
  camera.textContent = active.videoOn ? "Turn camera off" : "Turn camera on";
  screen.textContent = active.screen ? "Stop sharing" : "Share screen";
  screen.setAttribute("aria-pressed", String(Boolean(active.screen)));
  size.textContent = active.minimised ? "Expand" : "Minimise";
  const elsewhere = active.conversation && active.conversation !== openConversation();
  open.hidden = !elsewhere;
  if (elsewhere) open.setAttribute("href", `/c/${active.conversation}/`);
  for (const peer of active.peers.values()) renderTile(peer);
  renderJoinButtons();
}

// ---------------------------------------------------------------- the chat header's buttons

function renderJoinButtons() {
  const box = document.querySelector("[data-call-buttons]");
  if (!box) return;
  const conversation = Number(box.dataset.conversationId);
  const join = box.querySelector("[data-call-join]");
  const ongoing = groupCalls.get(conversation);
  const inIt = active && active.id && active.conversation === conversation;
  join.hidden = !ongoing || Boolean(inIt) || Boolean(active);
  box.querySelectorAll("[data-call-start]").forEach((b) => { b.disabled = Boolean(active) || Boolean(ongoing); });
}

function noteGroupCall(call) {
  if (call.group && call.status === "ongoing") groupCalls.set(call.conversation, call);
  else groupCalls.delete(call.conversation);
  renderJoinButtons();
}

// ---------------------------------------------------------------- events from the server

function callUpdated(e) {
  const call = e.call;
  if (isStale(call)) return;
  noteGroupCall(call);
  const me = mine(call);
  const ringingForMe = isLive(call) && me && me.status === "invited";
  if (ringingForMe && !(active && active.id === call.id)) showIncoming(call);
  else if (incoming && incoming.call.id === call.id) closeIncoming();
  if (active && active.id === call.id) applyCall(call);
}

function callActive(e) {
  const stored = recalled();
  let rejoin = null;
  for (const call of e.calls) {
    if (isStale(call)) continue;
    noteGroupCall(call);
    const me = mine(call);
    if (active && active.id === call.id) { applyCall(call); continue; }
    if (me && me.status === "invited") showIncoming(call);
    if (stored && stored.id === call.id && me && me.status === "joined") rejoin = call;
  }
  if (incoming && !e.calls.some((c) => c.id === incoming.call.id)) closeIncoming();
  if (active && active.id && !active.rejoining && !e.calls.some((c) => c.id === active.id)) {
    // The call ended while this tab was away (or it rang out): the server has the last word.
    const ringing = active.call && active.call.status === "ringing";
    teardown();
    toast(ringing ? "No answer." : "Call ended.");
  }
  if (!rejoin && stored && !active) remember();
  if (rejoin && !active) joinCall(rejoin.id, rejoin.kind, { audio: stored.audio, video: stored.video });
}

function callError(e) {
  if (!e.for || !e.for.startsWith("call.")) return;
  if (["call.offer", "call.answer", "call.ice", "call.media"].includes(e.for)) return; // a peer that left
  toast(e.error);
  if (["call.start", "call.accept", "call.join"].includes(e.for) && active && (!active.id || active.rejoining)) teardown();
}

function socketReady() {
  if (active && active.id) {
    // A new socket after a drop: tell the server this tab is still in the call. The peer
    // connections did not need the socket and are kept.
    active.reattaching = true;
    socket.send({ type: "call.join", call: active.id });
  }
  socket.send({ type: "call.sync" });
  // "Call back" from the history page: /c/<id>/?call=video.
  const params = new URLSearchParams(location.search);
  const kind = params.get("call");
  const conversation = openConversation();
  if ((kind === "audio" || kind === "video") && conversation && !active) {
    params.delete("call");
    history.replaceState(null, "", location.pathname + (params.toString() ? `?${params}` : "") + location.hash);
    startCall(conversation, kind);
  }
}

export {
  callUpdated, joinedState as callState, callActive, onMedia as callMedia, callError, socketReady,
};
export function callOffer(e) { onOffer(e).catch((error) => console.warn("call offer failed", error)); }
export function callAnswer(e) { onAnswer(e).catch((error) => console.warn("call answer failed", error)); }
export function callIce(e) { onIce(e); }

export function init(options) {
  myId = options.userId;
  if (!window.RTCPeerConnection || !navigator.mediaDevices) {
    document.querySelectorAll("[data-call-buttons]").forEach((box) => { box.hidden = true; });
    return;
  }
  document.addEventListener("click", (event) => {
    const start = event.target.closest("[data-call-start]");
    if (start) {
      const conversation = Number(start.closest("[data-call-buttons]").dataset.conversationId);
      startCall(conversation, start.dataset.callStart);
      return;
    }
    if (event.target.closest("[data-call-join]")) {
      const box = event.target.closest("[data-call-buttons]");
      const call = groupCalls.get(Number(box.dataset.conversationId));
      if (call) joinCall(call.id, call.kind);
    }
  });
  // A reload or a navigation ends this page's peer connections; the next page rejoins (see the top).
  window.addEventListener("pagehide", () => { if (active) remember(); });
}
