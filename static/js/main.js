// The entry module of a signed-in page: starts the feature modules and routes every server event
// to them. This table is the one place that knows which features an event touches and in what
// order; the modules never call into each other's state. Another feature (calls, the assistant)
// subscribes with socket.on(type, handler) from its own module.
import * as socket from "./socket.js";
import * as timeline from "./timeline.js";
import * as sidebar from "./sidebar.js";
import * as composer from "./composer.js";
import * as presence from "./presence.js";
import * as viewer from "./viewer.js";
import * as voice from "./voice.js";
import * as calls from "./calls.js";
import * as search from "./search.js";
import * as assistant from "./assistant.js";
import * as push from "./push.js";
import { pageUrls, toast } from "./util.js";

const userId = Number(document.body.dataset.userId || 0);

const dispatch = {
  "message.created": (e) => {
    const open = e.conversation === timeline.openConversation();
    sidebar.messageCreated(e, { reading: timeline.isReading(e.conversation) });
    presence.messageCreated(e, { open, muted: sidebar.isMuted(e.conversation) });
    timeline.messageCreated(e);
  },
  "message.updated": (e) => { timeline.messageUpdated(e); sidebar.messageUpdated(e); },
  "message.ack": (e) => timeline.messageAck(e),
  "history": (e) => {
    timeline.history(e);
    // A group's pages say who is in it now: what a members.changed missed while away.
    if (e.members) dispatch["members.changed"]({ type: "members.changed", conversation: e.conversation, members: e.members });
  },
  "error": (e) => {
    calls.callError(e);
    if (e.for !== "message.send") return; // a refused resume is socket.js's to retry
    if (e.client_id) timeline.sendFailed(e.client_id, e.error);
    composer.sendRefused(e);
  },
  "receipt.updated": (e) => timeline.receiptUpdated(e),
  "typing.started": (e) => presence.typingStarted(e, { open: e.conversation === timeline.openConversation() }),
  "conversation.changed": (e) => { sidebar.conversationChanged(e); timeline.conversationChanged(e); },
  "conversation.joined": (e) => sidebar.conversationJoined(e),
  "conversation.left": (e) => {
    sidebar.conversationLeft(e);
    if (timeline.conversationLeft(e)) { leftOpenChat = true; showStatus(); }
  },
  "group.changed": (e) => { sidebar.groupChanged(e); timeline.groupChanged(e); },
  "members.changed": (e) => { timeline.membersChanged(e); composer.membersChanged(e); },
  "invitation.changed": (e) => sidebar.invitationChanged(e),
  "presence.changed": (e) => presence.presenceChanged(e),
  "notification.created": (e) => presence.notificationCreated(e),
  "notifications.read": (e) => presence.notificationsRead(e),
  "mention.created": (e) => presence.mentionCreated(e, { reading: timeline.isReading(e.conversation) }),
  "friends.changed": () => htmx.trigger(document.body, "chat:friends-changed"),
  "call.updated": (e) => calls.callUpdated(e),
  "call.state": (e) => calls.callState(e),
  "call.active": (e) => calls.callActive(e),
  "call.offer": (e) => calls.callOffer(e),
  "call.answer": (e) => calls.callAnswer(e),
  "call.ice": (e) => calls.callIce(e),
  "call.media": (e) => calls.callMedia(e),
  "socket.ready": (e) => { presence.socketReady(e); timeline.socketReady(e); sidebar.socketReady(e); calls.socketReady(e); },
  "socket.state": (e) => { connection = e.state; showStatus(); },
};

// ---------------------------------------------------------------- the connection banner

let connection = "connecting";
let leftOpenChat = false;
const STATUS_TEXT = {
  reconnecting: "Connection lost. Reconnecting…",
  "signed-out": "Your session has ended. Please sign in again.",
  "too-many": "You are connected from too many tabs or devices. Trying again in 30 seconds.",
};

function showStatus() {
  document.body.dataset.socket = connection === "open" ? "open" : "closed";
  const text = leftOpenChat ? "You are no longer a member of this conversation." : (STATUS_TEXT[connection] || "");
  const banner = document.getElementById("connection-status");
  if (banner) {
    banner.textContent = text;
    banner.hidden = !text;
  } else if (connection === "signed-out" || connection === "too-many") {
    toast(text); // pages without a chat have no banner: these two need saying anyway
  }
}

// ---------------------------------------------------------------- start

if (userId) {
  const urls = pageUrls();
  const activeConversation = Number(document.getElementById("chat")?.dataset.conversationId || 0) || null;
  sidebar.init({ userId, urls, activeConversation });
  timeline.init({ userId, onRead: (conversation) => sidebar.setUnread(conversation, 0) });
  composer.init({
    userId,
    hooks: {
      addPending: timeline.addPending, insertStored: timeline.insertStored,
      sendFailed: timeline.sendFailed, describe: timeline.describe,
    },
  });
  presence.init({ userId, urls });
  viewer.init();
  voice.init();
  calls.init({ userId });
  search.init();
  assistant.init({ userId });
  push.init();
  for (const [type, handler] of Object.entries(dispatch)) socket.on(type, handler);
  socket.start({ url: urls.socket, userId });
}
