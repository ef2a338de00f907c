// The tab's one WebSocket and everything live: the sidebar, the open chat, sends with retry.
//
// Delivery guarantee, client side: every send carries a client_id and waits in a persistent outbox
// until the server acknowledges it; the outbox is sent again after every reconnect (the server
// stores a retried client_id once). After a reconnect, or when a seq gap shows, the tab asks for
// everything after the last seq it holds.
(function () {
  "use strict";

  const myId = Number(document.body.dataset.userId || 0);
  if (!myId) return;

  const chat = document.getElementById("chat");
  const list = document.getElementById("messages");
  const convId = chat ? Number(chat.dataset.conversationId) : null;
  const isDirect = chat ? chat.dataset.kind === "direct" : false;
  const OUTBOX_KEY = "chat-outbox-" + myId;
  const DRAFT_KEY = convId ? "chat-draft-" + myId + "-" + convId : null;

  let socket = null;
  let connectedOnce = false;
  let retryDelay = 500;
  let lastSeq = 0;
  let lastReadSent = chat ? Number(chat.dataset.lastReadSeq || 0) : 0;
  let othersRead = chat ? Number(chat.dataset.othersReadSeq || 0) : 0;
  let othersDelivered = chat ? Number(chat.dataset.othersDeliveredSeq || 0) : 0;
  let resumeInFlight = false;
  const deliveredSent = {};
  // Groups: every member's read watermark (for "Seen by N") and the members (for @mentions).
  const readSeqs = readJson("chat-watermarks") || {};
  const members = readJson("chat-members") || [];

  // ---------------------------------------------------------------- helpers
  function readJson(id) {
    const element = document.getElementById(id);
    if (!element) return null;
    try { return JSON.parse(element.textContent); } catch (e) { return null; }
  }
  function newClientId() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    const bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }
  function loadOutbox() {
    try { return JSON.parse(localStorage.getItem(OUTBOX_KEY) || "[]"); } catch (e) { return []; }
  }
  function saveOutbox(items) { localStorage.setItem(OUTBOX_KEY, JSON.stringify(items)); }
  function dropFromOutbox(clientId) { saveOutbox(loadOutbox().filter((i) => i.client_id !== clientId)); }
  function htmlToElement(html) {
    const template = document.createElement("template");
    template.innerHTML = html.trim();
    return template.content.firstElementChild;
  }
  function sendFrame(frame) {
    if (socket && socket.readyState === WebSocket.OPEN) { socket.send(JSON.stringify(frame)); return true; }
    return false;
  }
  function visible() { return document.visibilityState === "visible"; }
  function timeLabel(iso) {
    return new Date(iso).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  }
  function shortWhen(iso) {
    const date = new Date(iso);
    if (date.toDateString() === new Date().toDateString()) return timeLabel(iso);
    return date.toLocaleDateString([], { day: "numeric", month: "short" });
  }
  function localiseSidebarTimes(root) {
    (root || document).querySelectorAll("time[data-relative]").forEach((t) => { t.textContent = shortWhen(t.getAttribute("datetime")); });
  }
  function dayLabel(date) {
    const today = new Date();
    const yesterday = new Date(); yesterday.setDate(today.getDate() - 1);
    if (date.toDateString() === today.toDateString()) return "Today";
    if (date.toDateString() === yesterday.toDateString()) return "Yesterday";
    return date.toLocaleDateString([], { weekday: "long", day: "numeric", month: "long", year: "numeric" });
  }
  function toast(text) { if (window.chatToast) window.chatToast(text); }
  function setStatusBanner(text) {
    const banner = document.getElementById("connection-status");
    if (!banner) return;
    banner.textContent = text || "";
    banner.hidden = !text;
  }

  // ---------------------------------------------------------------- the message list
  function messageItems() { return list ? Array.from(list.querySelectorAll(":scope > li.msg")) : []; }
  function recomputeLastSeq() {
    lastSeq = messageItems().reduce((max, li) => Math.max(max, Number(li.dataset.seq || 0)), 0);
  }
  function nearBottom() { return list.scrollHeight - list.scrollTop - list.clientHeight < 120; }
  function scrollToBottom() { list.scrollTop = list.scrollHeight; }

  // Day dividers, sender runs, local times, my reactions: worked out in the browser so that the
  // server renders each message once for everybody.
  function decorate() {
    if (!list) return;
    list.querySelectorAll(":scope > li.day-divider").forEach((d) => d.remove());
    let previous = null;
    for (const li of messageItems()) {
      const created = new Date(li.dataset.created || Date.now());
      if (!previous || new Date(previous.dataset.created || Date.now()).toDateString() !== created.toDateString()) {
        const divider = document.createElement("li");
        divider.className = "day-divider";
        divider.setAttribute("role", "separator");
        divider.textContent = dayLabel(created);
        li.before(divider);
      }
      const sameRun = previous && previous.dataset.senderId && previous.dataset.senderId === li.dataset.senderId &&
        created - new Date(previous.dataset.created) < 5 * 60 * 1000 && !li.classList.contains("msg-system");
      li.classList.toggle("continued", Boolean(sameRun));
      decorateItem(li);
      previous = li;
    }
    applyStatuses();
    document.getElementById("empty-chat")?.toggleAttribute("hidden", messageItems().length > 0);
  }
  function decorateItem(li) {
    li.querySelectorAll("time[datetime]").forEach((t) => { t.textContent = timeLabel(t.getAttribute("datetime")); });
    li.querySelectorAll(".reaction[data-user-ids]").forEach((button) => {
      const mine = button.dataset.userIds.split(" ").includes(String(myId));
      button.setAttribute("aria-pressed", String(mine));
    });
  }
  function applyStatuses() {
    for (const li of messageItems()) {
      if (Number(li.dataset.senderId) !== myId) continue;
      const status = li.querySelector("[data-status]");
      if (!status) continue;
      const seq = Number(li.dataset.seq || 0);
      let text;
      if (li.classList.contains("failed")) text = "Not sent";
      else if (!seq) text = "Sending…";
      else if (isDirect && seq <= othersRead) text = "Seen";
      else if (isDirect && seq <= othersDelivered) text = "Delivered";
      else text = "Sent";
      if (status.textContent !== text) status.textContent = text;
      li.dataset.state = text.toLowerCase().replace("…", "");
      const seen = li.querySelector("[data-seen]");
      if (seen && !isDirect && seq) {
        const readers = Object.entries(readSeqs).filter(([id, read]) => Number(id) !== myId && read >= seq).length;
        const label = readers ? `Seen by ${readers}` : "";
        if (seen.textContent !== label) seen.textContent = label;
      }
    }
  }

  function insertMessage(html, seq, clientId) {
    const stick = nearBottom() || Number(htmlToElement(html)?.dataset.senderId) === myId;
    const element = htmlToElement(html);
    const existing = document.getElementById(element.id);
    const pending = clientId ? list.querySelector(`:scope > li.pending[data-client-id="${CSS.escape(clientId)}"]`) : null;
    if (existing) existing.replaceWith(element);
    else if (pending) pending.replaceWith(element);
    else {
      const later = messageItems().find((li) => Number(li.dataset.seq || Infinity) > seq && !li.classList.contains("pending"));
      if (later) later.before(element);
      else {
        const firstPending = list.querySelector(":scope > li.pending");
        if (firstPending) firstPending.before(element); else list.append(element);
      }
    }
    htmx.process(element);
    if (clientId) dropFromOutbox(clientId);
    const gap = lastSeq && seq > lastSeq + 1;
    recomputeLastSeq();
    decorate();
    if (stick) scrollToBottom();
    if (gap) resume();
  }

  function addPendingMessage(item) {
    const li = document.createElement("li");
    li.className = "msg pending";
    li.id = "pending-" + item.client_id;
    li.dataset.senderId = String(myId);
    li.dataset.clientId = item.client_id;
    li.dataset.created = new Date().toISOString();
    const bubble = document.createElement("div");
    bubble.className = "msg-bubble";
    const meta = document.createElement("p");
    meta.className = "msg-meta";
    const status = document.createElement("span");
    status.className = "msg-status";
    status.dataset.status = "";
    meta.append(status);
    const body = document.createElement("div");
    body.className = "msg-body msg-body-plain";
    body.textContent = item.body; // never HTML: the server renders the real message
    bubble.append(meta, body);
    li.append(bubble);
    list.append(li);
    decorate();
    scrollToBottom();
  }

  function markFailed(clientId, error) {
    const li = list && list.querySelector(`:scope > li.pending[data-client-id="${CSS.escape(clientId)}"]`);
    if (!li) return;
    li.classList.add("failed");
    const note = document.createElement("p");
    note.className = "field-error";
    note.textContent = error;
    li.querySelector(".msg-bubble").append(note);
    applyStatuses();
  }

  // ---------------------------------------------------------------- sending
  function sendItem(item) {
    if (sendFrame({ type: "message.send", conversation: item.conversation, body: item.body, client_id: item.client_id, reply_to: item.reply_to || null })) return;
    if (item.conversation !== convId || !chat) return; // other chats' sends wait for the socket
    // No socket: the same service over HTTP (the endpoint htmx forms use); the reply is the stored message.
    const form = document.getElementById("composer");
    const data = new FormData();
    data.append("csrfmiddlewaretoken", form.csrfmiddlewaretoken.value);
    data.append("body", item.body);
    data.append("client_id", item.client_id);
    data.append("reply_to", item.reply_to || "");
    fetch(chat.dataset.sendUrl, { method: "POST", body: data, headers: { "HX-Request": "true" } })
      .then(async (response) => {
        const text = await response.text();
        if (response.ok) insertMessage(text, Number(htmlToElement(text)?.dataset.seq || 0), item.client_id);
        else if (response.status < 500) { dropFromOutbox(item.client_id); markFailed(item.client_id, text); }
      })
      .catch(() => {}); // offline: the send stays in the outbox until the socket is back
  }

  function flushOutbox() { loadOutbox().forEach(sendItem); }

  function submitComposer(event) {
    event.preventDefault();
    const form = event.currentTarget;
    const input = form.querySelector("textarea[name=body]");
    const error = document.getElementById("composer-error");
    const text = input.value.trim();
    const max = Number(chat.dataset.maxLength || 4000);
    error.textContent = "";
    if (!text) { error.textContent = "Write something first."; return; }
    if (text.length > max) {
      error.textContent = `A message can be at most ${max.toLocaleString()} characters long (this one has ${text.length.toLocaleString()}).`;
      return;
    }
    const item = { client_id: newClientId(), conversation: convId, body: text, reply_to: Number(form.reply_to.value) || null };
    saveOutbox(loadOutbox().concat([item]));
    addPendingMessage(item);
    sendItem(item);
    input.value = "";
    autoGrow(input);
    localStorage.removeItem(DRAFT_KEY);
    setReply(null);
    input.focus();
  }

  // ---------------------------------------------------------------- read state
  function markRead() {
    if (!chat || !visible() || !lastSeq || lastSeq <= lastReadSent) return;
    if (sendFrame({ type: "read", conversation: convId, seq: lastSeq })) {
      lastReadSent = lastSeq;
      setUnread(convId, 0);
      document.getElementById("unread-divider")?.classList.add("seen");
    }
  }
  function markDelivered(conversation, seq) {
    const now = Date.now();
    if (deliveredSent[conversation] && now - deliveredSent[conversation] < 2000) return;
    deliveredSent[conversation] = now;
    sendFrame({ type: "delivered", conversation: conversation, seq: seq });
  }

  function resume() {
    if (!chat || resumeInFlight) return;
    resumeInFlight = sendFrame({ type: "resume", conversation: convId, after_seq: lastSeq });
  }

  // ---------------------------------------------------------------- the sidebar
  function entryFor(conversation) { return document.getElementById("conv-" + conversation); }
  function setUnread(conversation, count) {
    const entry = entryFor(conversation);
    if (!entry) return;
    entry.dataset.unread = String(count);
    entry.classList.toggle("has-unread", count > 0);
    const badge = entry.querySelector("[data-unread-badge]");
    badge.hidden = count <= 0;
    badge.querySelector("[data-unread-count]").textContent = String(count);
  }
  function moveToTop(entry) {
    const listEl = document.getElementById("conversation-list");
    if (!listEl) return;
    if (entry.dataset.pinned === "1") { listEl.prepend(entry); return; }
    const pinned = Array.from(listEl.querySelectorAll(':scope > li[data-pinned="1"]')).filter((e) => e !== entry);
    if (pinned.length) pinned[pinned.length - 1].after(entry); else listEl.prepend(entry);
  }
  async function refreshEntry(conversation) {
    const response = await fetch(`/c/${conversation}/entry/`, { headers: { "HX-Request": "true" } });
    if (!response.ok) return null;
    const fresh = htmlToElement(await response.text());
    const listEl = document.getElementById("conversation-list");
    if (!fresh || !listEl) return null;
    listEl.querySelector("[data-empty-list]")?.remove();
    const old = entryFor(conversation);
    if (old) old.replaceWith(fresh); else listEl.prepend(fresh);
    if (conversation === convId) fresh.querySelector("a")?.setAttribute("aria-current", "page");
    htmx.process(fresh);
    localiseSidebarTimes(fresh);
    return fresh;
  }
  async function onSidebarMessage(event) {
    let entry = entryFor(event.conversation);
    if (!entry) { await refreshEntry(event.conversation); return; }
    // An entry fetched after this message was stored already counts it: count each message once.
    if (event.seq <= Number(entry.dataset.lastSeq || 0)) return;
    const mine = event.sender_id === myId;
    const preview = entry.querySelector(".entry-preview");
    const isGroup = entry.dataset.kind === "group";
    preview.textContent = (mine ? "You: " : (isGroup && event.sender_name ? event.sender_name + ": " : "")) + event.preview;
    entry.dataset.lastSeq = String(event.seq);
    const time = entry.querySelector("time");
    if (time) { time.setAttribute("datetime", event.created_at); time.textContent = shortWhen(event.created_at); }
    const reading = event.conversation === convId && visible();
    if (!mine && !reading) setUnread(event.conversation, Number(entry.dataset.unread || 0) + 1);
    moveToTop(entry);
  }

  // ---------------------------------------------------------------- presence and notifications
  function lastSeenText(iso) {
    if (!iso) return "offline";
    const date = new Date(iso);
    const today = date.toDateString() === new Date().toDateString();
    return "last seen " + (today ? "today at " + timeLabel(iso) : date.toLocaleDateString([], { day: "numeric", month: "short" }) + " at " + timeLabel(iso));
  }
  function showPresence(userId, status, lastSeen) {
    document.querySelectorAll(`[data-presence-user="${userId}"]`).forEach((dot) => {
      dot.dataset.status = status;
      dot.querySelector(".visually-hidden").textContent = status;
    });
    document.querySelectorAll(`[data-presence-text="${userId}"]`).forEach((text) => {
      if (lastSeen !== undefined && lastSeen !== null) text.dataset.lastSeen = lastSeen;
      text.textContent = status === "offline" ? lastSeenText(text.dataset.lastSeen) : status;
    });
  }
  document.querySelectorAll("[data-presence-text]").forEach((text) => {
    if (text.textContent.trim() === "offline") text.textContent = lastSeenText(text.dataset.lastSeen);
  });
  function setBell(count) {
    const bell = document.getElementById("bell");
    const badge = document.getElementById("bell-count");
    if (!bell || !badge) return;
    badge.textContent = String(count);
    badge.hidden = count <= 0;
    bell.setAttribute("aria-label", `Notifications, ${count} unread`);
  }
  // Desktop notifications: only when asked for, and only while this tab is hidden.
  function desktopNotify(text, url) {
    if (!("Notification" in window) || Notification.permission !== "granted" || visible()) return;
    const note = new Notification(document.title.split(" · ").pop(), { body: text, tag: url || text });
    note.onclick = () => { window.focus(); if (url) location.href = url; };
  }
  document.addEventListener("click", (event) => {
    const button = event.target.closest("[data-enable-notifications]");
    if (!button || !("Notification" in window)) return;
    Notification.requestPermission().then((answer) => {
      const status = document.getElementById("notification-permission");
      if (status) status.textContent = answer === "granted" ? "Notifications are on for this device." : "Notifications are off for this device (your browser setting).";
    });
  });
  // Away: the tab is hidden, or nobody touched it for five minutes.
  let activeSent = true;
  let idleTimer = null;
  function reportActive(active) {
    if (active === activeSent) return;
    if (sendFrame({ type: "presence", active: active })) activeSent = active;
  }
  function touched() {
    if (visible()) reportActive(true);
    clearTimeout(idleTimer);
    idleTimer = setTimeout(() => reportActive(false), 5 * 60 * 1000);
  }
  ["keydown", "pointerdown", "pointermove", "focus"].forEach((name) => window.addEventListener(name, touched, { passive: true }));
  document.addEventListener("visibilitychange", () => { if (visible()) touched(); else reportActive(false); });
  touched();

  // ---------------------------------------------------------------- typing
  let typingTimer = null;
  let lastTypingSent = 0;
  function showTyping(name) {
    const region = document.getElementById("typing");
    if (!region) return;
    region.textContent = `${name} is typing…`;
    clearTimeout(typingTimer);
    typingTimer = setTimeout(() => { region.textContent = ""; }, 5000);
  }

  // ---------------------------------------------------------------- the socket
  const handlers = {
    "message.created": (e) => {
      onSidebarMessage(e);
      const entry = entryFor(e.conversation);
      if (e.sender_id !== myId && !(entry && entry.dataset.muted === "1")) {
        desktopNotify(`${e.sender_name}: ${e.preview}`, `/c/${e.conversation}/`);
      }
      if (chat && e.conversation === convId) {
        insertMessage(e.html, e.seq, e.sender_id === myId ? e.client_id : null);
        if (e.sender_id !== myId) {
          if (visible()) markRead(); else markDelivered(e.conversation, e.seq);
          const region = document.getElementById("typing");
          if (region) region.textContent = "";
        }
      } else if (e.sender_id !== myId) {
        markDelivered(e.conversation, e.seq);
      }
    },
    "message.updated": (e) => {
      if (chat && e.conversation === convId) {
        const old = document.getElementById(`msg-${e.conversation}-${e.seq}`);
        if (old) {
          const fresh = htmlToElement(e.html);
          old.replaceWith(fresh);
          htmx.process(fresh);
          decorate();
        }
      }
      const entry = entryFor(e.conversation);
      if (entry && entry.dataset.lastSeq === String(e.seq)) entry.querySelector(".entry-preview").textContent = e.preview;
    },
    "message.ack": (e) => {
      dropFromOutbox(e.client_id);
      const pending = list && list.querySelector(`:scope > li.pending[data-client-id="${CSS.escape(e.client_id)}"]`);
      if (pending) {
        pending.dataset.seq = String(e.seq);
        applyStatuses();
        // The broadcast normally replaces the pending item at once; if it went astray, fetch it.
        setTimeout(() => { if (pending.isConnected) resume(); }, 1500);
      }
    },
    "error": (e) => {
      if (e.client_id) {
        dropFromOutbox(e.client_id);
        markFailed(e.client_id, e.error);
      } else if (e.for === "resume") {
        resumeInFlight = false;
      }
      const error = document.getElementById("composer-error");
      if (error && e.for === "message.send") error.textContent = e.error;
    },
    "history": (e) => {
      resumeInFlight = false;
      if (!chat || e.conversation !== convId) return;
      for (const m of e.messages) insertMessage(m.html, m.seq, m.sender_id === myId ? m.client_id : null);
      if (e.more) resume(); else markRead();
    },
    "receipt.updated": (e) => {
      if (!chat || e.conversation !== convId || e.user_id === myId) return;
      readSeqs[e.user_id] = Math.max(readSeqs[e.user_id] || 0, e.read_seq);
      othersRead = Math.max(othersRead, e.read_seq);
      othersDelivered = Math.max(othersDelivered, e.delivered_seq);
      applyStatuses();
    },
    "typing.started": (e) => { if (chat && e.conversation === convId) showTyping(e.name); },
    "conversation.changed": (e) => {
      const entry = entryFor(e.conversation);
      if (entry && (entry.dataset.pinned === "1") !== e.pinned || entry && (entry.dataset.muted === "1") !== e.muted) {
        refreshEntry(e.conversation);
      } else {
        setUnread(e.conversation, e.unread);
      }
    },
    "conversation.joined": (e) => { refreshEntry(e.conversation); },
    "presence.changed": (e) => { showPresence(e.user_id, e.status, e.last_seen); },
    "notification.created": (e) => {
      setBell(e.unread);
      const listEl = document.getElementById("notification-list");
      if (listEl && e.html && e.id) {
        document.getElementById("notification-" + e.id)?.remove();
        const item = htmlToElement(e.html);
        listEl.prepend(item);
        localiseSidebarTimes(item);
        document.getElementById("no-notifications")?.setAttribute("hidden", "");
      }
      if (e.kind !== "message") desktopNotify(e.text, e.url);
    },
    "notifications.read": (e) => { setBell(e.unread); },
    "friends.changed": () => { htmx.trigger(document.body, "chat:friends-changed"); },
    "mention.created": (e) => {
      if (!(chat && e.conversation === convId && visible())) toast(`${e.sender_name} mentioned you: ${e.preview}`);
    },
    "group.changed": (e) => {
      refreshEntry(e.conversation);
      if (chat && e.conversation === convId) {
        const title = document.getElementById("group-title");
        if (title) title.textContent = e.title;
      }
    },
    "invitation.changed": (e) => {
      const badge = document.getElementById("invitation-badge");
      if (badge) { badge.textContent = String(e.pending); badge.hidden = e.pending <= 0; }
      const listEl = document.getElementById("invitation-list");
      if (e.status === "pending") {
        toast(`${e.inviter_name} invited you to the group “${e.title}”.`);
        if (listEl && e.html && !document.getElementById("invitation-" + e.id)) {
          const item = htmlToElement(e.html);
          listEl.prepend(item);
          htmx.process(item);
        }
      } else {
        document.getElementById("invitation-" + e.id)?.remove();
      }
      document.getElementById("no-invitations")?.toggleAttribute("hidden", Boolean(listEl && listEl.children.length));
    },
    "conversation.left": (e) => {
      entryFor(e.conversation)?.remove();
      if (e.conversation === convId) {
        setStatusBanner("You are no longer a member of this conversation.");
        document.getElementById("composer")?.querySelectorAll("textarea, button").forEach((c) => { c.disabled = true; });
      }
    },
  };

  function connect() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    socket = new WebSocket(`${scheme}://${location.host}/ws/`);
    socket.addEventListener("open", () => {
      retryDelay = 500;
      activeSent = true; // a new socket starts active; say so if the tab is hidden
      if (!visible()) reportActive(false);
      setStatusBanner("");
      document.body.dataset.socket = "open";
      flushOutbox();
      if (connectedOnce) {
        resume(); // whatever arrived while we were away
        htmx.trigger(document.body, "chat:refresh-list");
      } else {
        markRead();
      }
      connectedOnce = true;
    });
    socket.addEventListener("message", (message) => {
      let event;
      try { event = JSON.parse(message.data); } catch (e) { return; }
      const handler = handlers[event.type];
      if (handler) handler(event);
    });
    socket.addEventListener("close", (event) => {
      document.body.dataset.socket = "closed";
      resumeInFlight = false;
      if (event.code === 4401) { setStatusBanner("Your session has ended. Please sign in again."); return; }
      if (leaving) return;
      setStatusBanner("Connection lost. Reconnecting…");
      setTimeout(connect, retryDelay);
      retryDelay = Math.min(retryDelay * 2, 10000);
    });
  }

  // ---------------------------------------------------------------- the composer and actions
  function autoGrow(textarea) {
    textarea.style.height = "auto";
    textarea.style.height = Math.min(textarea.scrollHeight, 200) + "px";
  }
  function setReply(messageId) {
    const form = document.getElementById("composer");
    if (!form) return;
    const box = document.getElementById("composer-reply");
    form.reply_to.value = messageId || "";
    if (!messageId) { box.hidden = true; return; }
    const li = list.querySelector(`li.msg[data-id="${messageId}"]`);
    const who = li?.querySelector(".msg-sender")?.textContent || "message";
    const what = li?.querySelector(".msg-body")?.textContent.trim().slice(0, 80) || "";
    document.getElementById("composer-reply-text").textContent = `Replying to ${who}: ${what}`;
    box.hidden = false;
    form.body.focus();
  }

  // @mention autocomplete: a listbox under the caret's word, driven from the keyboard or the mouse.
  const mentionList = document.getElementById("mention-list");
  let mentionChoices = [];
  let mentionActive = 0;
  function mentionQuery(input) {
    const before = input.value.slice(0, input.selectionStart);
    const match = /(^|[\s(])@([\w.+-]*)$/.exec(before);
    return match ? match[2].toLowerCase() : null;
  }
  function closeMentions(input) {
    mentionList.hidden = true;
    mentionChoices = [];
    input.removeAttribute("aria-activedescendant");
    input.setAttribute("aria-expanded", "false");
  }
  function renderMentions(input) {
    mentionList.replaceChildren();
    mentionChoices.forEach((choice, index) => {
      const option = document.createElement("li");
      option.id = "mention-option-" + index;
      option.setAttribute("role", "option");
      option.setAttribute("aria-selected", String(index === mentionActive));
      option.textContent = choice.username === "all" ? "@all (everyone here)" : `${choice.name} @${choice.username}`;
      option.addEventListener("mousedown", (event) => { event.preventDefault(); chooseMention(input, index); });
      mentionList.append(option);
    });
    mentionList.hidden = mentionChoices.length === 0;
    input.setAttribute("aria-expanded", String(!mentionList.hidden));
    if (!mentionList.hidden) input.setAttribute("aria-activedescendant", "mention-option-" + mentionActive);
  }
  function updateMentions(input) {
    const query = mentionQuery(input);
    if (query === null || !members.length) { closeMentions(input); return; }
    const everyone = { username: "all", name: "everyone" };
    mentionChoices = members.filter((m) => m.id !== myId)
      .concat([everyone])
      .filter((m) => m.username.toLowerCase().startsWith(query) || m.name.toLowerCase().split(" ").some((w) => w.startsWith(query)))
      .slice(0, 8);
    mentionActive = 0;
    renderMentions(input);
  }
  function chooseMention(input, index) {
    const choice = mentionChoices[index];
    if (!choice) return;
    const at = input.selectionStart;
    const before = input.value.slice(0, at).replace(/@([\w.+-]*)$/, "@" + choice.username + " ");
    input.value = before + input.value.slice(at);
    input.setSelectionRange(before.length, before.length);
    closeMentions(input);
    input.dispatchEvent(new Event("input"));
  }

  if (chat) {
    const form = document.getElementById("composer");
    const input = form.querySelector("textarea[name=body]");
    form.addEventListener("submit", submitComposer);
    input.addEventListener("keydown", (event) => {
      if (!mentionList.hidden && mentionChoices.length) {
        if (event.key === "ArrowDown" || event.key === "ArrowUp") {
          event.preventDefault();
          const step = event.key === "ArrowDown" ? 1 : -1;
          mentionActive = (mentionActive + step + mentionChoices.length) % mentionChoices.length;
          renderMentions(input);
          return;
        }
        if (event.key === "Enter" || event.key === "Tab") { event.preventDefault(); chooseMention(input, mentionActive); return; }
        if (event.key === "Escape") { event.preventDefault(); closeMentions(input); return; }
      }
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        form.requestSubmit();
      }
    });
    input.value = localStorage.getItem(DRAFT_KEY) || "";
    autoGrow(input);
    input.addEventListener("input", () => {
      autoGrow(input);
      updateMentions(input);
      if (input.value) localStorage.setItem(DRAFT_KEY, input.value); else localStorage.removeItem(DRAFT_KEY);
      if (Date.now() - lastTypingSent > 3000 && input.value.trim()) {
        lastTypingSent = Date.now();
        sendFrame({ type: "typing", conversation: convId });
      }
    });
    chat.addEventListener("click", (event) => {
      // Choosing an action closes its menu (htmx still sees the click).
      const menuButton = event.target.closest(".msg-menu button");
      if (menuButton) menuButton.closest("details")?.removeAttribute("open");
      const reply = event.target.closest("[data-reply]");
      if (reply) { setReply(reply.dataset.reply); return; }
      if (event.target.closest("[data-cancel-reply]")) { setReply(null); return; }
      const emoji = event.target.closest("[data-emoji]");
      if (emoji) {
        const at = input.selectionStart ?? input.value.length;
        input.value = input.value.slice(0, at) + emoji.dataset.emoji + input.value.slice(input.selectionEnd ?? at);
        input.dispatchEvent(new Event("input"));
        emoji.closest("details")?.removeAttribute("open");
        input.focus();
        return;
      }
      const jump = event.target.closest("[data-jump-to]");
      if (jump) {
        const target = document.getElementById(`msg-${convId}-${jump.dataset.jumpTo}`);
        if (target) {
          event.preventDefault();
          target.scrollIntoView({ block: "center" });
          target.classList.add("highlight");
          setTimeout(() => target.classList.remove("highlight"), 2000);
        }
      }
    });
    // Messages swapped in by htmx (older pages, edits, reactions) get the same decoration.
    document.body.addEventListener("htmx:afterSettle", (event) => {
      if (!list.contains(event.target) && event.target !== list) return;
      recomputeLastSeq();
      decorate();
    });
    // Unsent messages of this chat from before a reload are shown as pending again.
    const present = new Set(messageItems().map((li) => li.dataset.clientId).filter(Boolean));
    saveOutbox(loadOutbox().filter((item) => !present.has(item.client_id)));
    loadOutbox().filter((item) => item.conversation === convId).forEach(addPendingMessage);

    recomputeLastSeq();
    decorate();
    const firstUnread = Number(list.dataset.firstUnreadSeq || 0);
    const firstUnreadItem = firstUnread && document.getElementById(`msg-${convId}-${firstUnread}`);
    if (firstUnreadItem) {
      const divider = document.createElement("li");
      divider.className = "unread-divider";
      divider.id = "unread-divider";
      divider.setAttribute("role", "separator");
      divider.textContent = "New messages";
      firstUnreadItem.before(divider);
      divider.scrollIntoView({ block: "start" });
    } else {
      scrollToBottom();
    }
    document.addEventListener("visibilitychange", markRead);
    window.addEventListener("focus", markRead);
  }

  localiseSidebarTimes();
  document.body.addEventListener("htmx:afterSettle", (event) => localiseSidebarTimes(event.target));

  // Leaving the page closes the socket at once (the server learns we are gone right away), and a
  // page restored from the back-forward cache connects again.
  let leaving = false;
  window.addEventListener("pagehide", () => { leaving = true; if (socket) socket.close(1000, "page hidden"); });
  window.addEventListener("pageshow", (event) => { if (event.persisted) { leaving = false; connect(); } });

  // After sleep or a network change the old socket may be dead without having closed.
  window.addEventListener("online", () => { if (!socket || socket.readyState > 1) connect(); });
  setInterval(() => sendFrame({ type: "ping" }), 25000);
  connect();
})();
