// The room chat: one thread per learner between the learner and the room's commission.
//
// The learner's page has one thread (their own); the commission's page shows the thread
// of the learner it selected. Messages carry their delivery state: sent (the server
// stored it), delivered (the other side's page received it), read (the other side's
// page was in view with the thread open). Text is shown as text, never as HTML.

import { ApiError, api, errorText } from "./api.js";
import { el, replace, showAlert } from "./dom.js";
import { formatDateTime } from "./format.js";
import { lang, t } from "./i18n.js";
import { request } from "./webrtc.js";

export const MAX_TEXT = 2000;

const FILE_ERRORS = {
  too_large: () => t("The file is too large."),
  unsupported_type: () => t("This type of file is not accepted. Send a PDF, DOCX, ODT, TXT, PNG, JPEG or ZIP file."),
};

function fileErrorText(err) {
  if (err instanceof ApiError && err.code === "invalid" && err.body && err.body.field === "file") {
    return t("The file is empty or missing.");
  }
  // The server's own wording is English and technical; the code says what the person needs,
  // with the size limit when the server names it.
  if (err instanceof ApiError && err.code === "too_large") {
    const limit = /exceeds (\d+) bytes/.exec(err.message || "");
    return limit ? t("The file is larger than {size}.", { size: sizeText(Number(limit[1])) }) : FILE_ERRORS.too_large();
  }
  if (err instanceof ApiError && FILE_ERRORS[err.code]) return FILE_ERRORS[err.code]();
  return errorText(err);
}

const sizeNumber = new Intl.NumberFormat(lang === "en" ? "en-GB" : "ru-RU", { maximumFractionDigits: 1 });

function sizeText(bytes) {
  if (bytes >= 1024 * 1024) return t("{n} MB", { n: sizeNumber.format(bytes / (1024 * 1024)) });
  return t("{n} KB", { n: Math.max(1, Math.round(bytes / 1024)) });
}

/** The delivery state of a message as the page shows it. */
export function deliveryState(message) {
  if (message.read_at) return "read";
  if (message.delivered_at) return "delivered";
  return "sent";
}

const STATE_TEXT = {
  sending: () => t("sending…"),
  sent: () => t("sent"),
  delivered: () => t("delivered"),
  read: () => t("read"),
  failed: () => t("not sent"),
};

/**
 * A chat panel. options: room, side ("learner" | "staff"), me (own user id),
 * socket() → the joined socket or null, container (the panel's element).
 */
export class RoomChat {
  constructor({ room, side, me, socket, container }) {
    this.room = room;
    this.side = side;
    this.me = me;
    this.socket = socket;
    this.learner = null; // the thread's learner (the learner page: set on the first message)
    this.messages = new Map(); // message id -> {data, item, state}
    this.pending = new Map(); // client id -> {item, state}
    this.unseen = new Set(); // ids of the other side's messages not yet reported as read
    this.onIncoming = () => {};
    this.build(container);
  }

  build(container) {
    this.list = el("ol", { className: "chat-list", attrs: { "aria-live": "polite", "aria-label": t("Messages") } });
    this.empty = el("p", { className: "muted chat-empty", text: t("No messages yet.") });
    this.text = el("textarea", {
      className: "chat-text",
      attrs: { rows: "2", maxlength: String(MAX_TEXT), "aria-label": t("Message"), placeholder: t("Write a message…") },
    });
    this.sendBtn = el("button", { type: "submit", className: "button primary", text: t("Send") });
    this.fileInput = el("input", {
      type: "file",
      className: "chat-file-input",
      attrs: { accept: ".pdf,.docx,.odt,.txt,.png,.jpg,.jpeg,.zip", "aria-label": t("File to send") },
    });
    this.fileBtn = el("button", { type: "button", className: "button", text: t("Send a file") });
    this.error = el("p", { className: "alert alert-error chat-error", attrs: { role: "alert" }, hidden: true });
    this.status = el("p", { className: "status-line chat-status", attrs: { role: "status" } });
    this.form = el(
      "form",
      { className: "chat-form", on: { submit: (event) => this.onSubmit(event) } },
      this.text,
      el("div", { className: "chat-actions" }, this.sendBtn, this.fileInput, this.fileBtn),
    );
    this.text.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) this.onSubmit(event);
    });
    this.fileBtn.addEventListener("click", () => this.sendFile());
    // The commission writes in the thread of the learner it chose: none chosen, no form.
    this.form.hidden = this.side === "staff";
    container.append(this.empty, this.list, this.form, this.error, this.status);
    document.addEventListener("visibilitychange", () => this.markRead());
  }

  /** Listen to the socket's chat events (call once per socket). */
  attach(socket) {
    socket.on("chat_message", (data) => this.receive(data));
    socket.on("chat_state", (data) => this.applyStates(data));
  }

  /** Show a learner's thread (the commission's page); loads its history. */
  async open(learnerId) {
    this.learner = learnerId;
    this.form.hidden = false;
    this.messages.clear();
    this.pending.clear();
    this.unseen.clear();
    replace(this.list);
    this.empty.hidden = false;
    showAlert(this.error, "");
    await this.loadHistory();
  }

  /** Load the thread's history (on join and on every rejoin). */
  async loadHistory() {
    const socket = this.socket();
    if (!socket || (this.side === "staff" && !this.learner)) return;
    const body = { room: this.room };
    if (this.side === "staff") body.learner = this.learner;
    try {
      const ack = await request(socket, "chat_history", body);
      if (this.side === "staff" && ack.learner !== this.learner) return;
      for (const message of ack.messages || []) this.show(message);
      this.acknowledge();
    } catch (err) {
      showAlert(this.error, t("The messages could not be loaded: {reason}", { reason: err.message || err.code }));
    }
  }

  ownMessage(message) {
    const fromLearner = message.sender && message.sender.user_id === message.learner;
    return this.side === "learner" ? fromLearner : !fromLearner;
  }

  receive(message) {
    if (!message || message.room !== this.room) return;
    if (this.side === "staff" && message.learner !== this.learner) {
      // Another learner's thread: it reached this page (delivered); read when opened.
      if (!this.ownMessage(message)) {
        this.onIncoming(message);
        const socket = this.socket();
        if (socket) request(socket, "chat_delivered", { room: this.room, message_ids: [message.message_id] }).catch(() => {});
      }
      return;
    }
    this.show(message);
    if (!this.ownMessage(message)) this.onIncoming(message);
    this.acknowledge();
  }

  applyStates(data) {
    if (!data || data.room !== this.room) return;
    for (const state of data.messages || []) {
      const known = this.messages.get(state.message_id);
      if (!known) continue;
      Object.assign(known.data, { delivered_at: state.delivered_at, read_at: state.read_at });
      this.setState(known, deliveryState(known.data));
    }
  }

  setState(entry, name) {
    entry.item.dataset.state = name;
    entry.state.textContent = STATE_TEXT[name]();
  }

  show(message) {
    const existing = this.messages.get(message.message_id);
    if (existing) {
      Object.assign(existing.data, message);
      if (this.ownMessage(message)) this.setState(existing, deliveryState(message));
      return;
    }
    if (this.side === "learner" && !this.learner) this.learner = message.learner;
    const own = this.ownMessage(message);
    const pending = message.client_id ? this.pending.get(message.client_id) : null;
    const entry = pending || this.render(message, own);
    if (pending) {
      this.pending.delete(message.client_id);
      this.fill(entry, message);
    }
    entry.data = message;
    entry.item.dataset.messageId = String(message.message_id);
    this.messages.set(message.message_id, entry);
    if (own) this.setState(entry, deliveryState(message));
    else {
      entry.state.textContent = "";
      if (!message.read_at) this.unseen.add(message.message_id);
    }
    this.empty.hidden = true;
  }

  render(message, own) {
    const author = el("span", { className: "chat-author" });
    const time = el("time", { className: "chat-time" });
    const body = el("p", { className: "chat-body" });
    const state = el("span", { className: "chat-state" });
    const item = el(
      "li",
      { className: `chat-message ${own ? "is-own" : "is-other"}` },
      el("p", { className: "chat-meta" }, author, " ", time, " ", state),
      body,
    );
    const entry = { item, author, time, body, state, data: message };
    this.fill(entry, message);
    this.list.append(item);
    item.scrollIntoView({ block: "nearest" });
    return entry;
  }

  fill(entry, message) {
    entry.author.textContent = message.sender ? message.sender.name : "";
    entry.time.textContent = message.sent_at ? formatDateTime(message.sent_at) : "";
    if (message.sent_at) entry.time.dateTime = message.sent_at;
    const parts = [];
    if (message.text) parts.push(el("span", { className: "chat-text-body", text: message.text }));
    if (message.attachment) {
      const file = message.attachment;
      parts.push(
        el(
          "span",
          { className: "chat-attachment" },
          el("a", { href: file.url, text: file.name, attrs: { download: file.name, rel: "noopener" } }),
          el("span", { className: "muted", text: ` (${sizeText(file.size)})` }),
        ),
      );
    }
    replace(entry.body, ...parts);
  }

  /** Tell the server the other side's messages arrived, and were read if in view. */
  async acknowledge() {
    const socket = this.socket();
    if (!socket || !this.unseen.size) return;
    const ids = [...this.unseen];
    try {
      await request(socket, "chat_delivered", { room: this.room, message_ids: ids });
    } catch {
      /* a later receipt repeats it */
    }
    this.markRead();
  }

  visible() {
    return document.visibilityState === "visible" && this.list.offsetParent !== null;
  }

  async markRead() {
    const socket = this.socket();
    if (!socket || !this.unseen.size || !this.visible()) return;
    const ids = [...this.unseen];
    try {
      await request(socket, "chat_read", { room: this.room, message_ids: ids });
      for (const id of ids) this.unseen.delete(id);
    } catch {
      /* tried again on the next message or when the page comes into view */
    }
  }

  async onSubmit(event) {
    event.preventDefault();
    const text = this.text.value.trim();
    if (!text) return;
    const socket = this.socket();
    if (!socket) {
      showAlert(this.error, t("Join the room to send messages."));
      return;
    }
    if (this.side === "staff" && !this.learner) {
      showAlert(this.error, t("Choose a learner first."));
      return;
    }
    showAlert(this.error, "");
    const clientId = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`;
    const draft = {
      room: this.room,
      learner: this.learner,
      sender: { user_id: this.me, name: t("You") },
      text,
      client_id: clientId,
    };
    const entry = this.render(draft, true);
    this.setState(entry, "sending");
    this.pending.set(clientId, entry);
    this.empty.hidden = true;
    this.text.value = "";
    const body = { room: this.room, text, client_id: clientId };
    if (this.side === "staff") body.learner = this.learner;
    try {
      const ack = await request(socket, "chat_send", body);
      // The message itself (chat_message) may arrive before or after this answer.
      if (this.pending.get(clientId) === entry && !this.messages.has(ack.message_id)) {
        entry.item.dataset.messageId = String(ack.message_id);
        this.setState(entry, "sent");
      }
    } catch (err) {
      this.pending.delete(clientId);
      this.setState(entry, "failed");
      this.text.value = text;
      showAlert(this.error, t("The message was not sent: {reason}", { reason: err.message || err.code }));
    }
  }

  async sendFile() {
    const file = this.fileInput.files && this.fileInput.files[0];
    showAlert(this.error, "");
    if (!file) {
      showAlert(this.error, t("Choose a file first."));
      return;
    }
    if (this.side === "staff" && !this.learner) {
      showAlert(this.error, t("Choose a learner first."));
      return;
    }
    const form = new FormData();
    if (this.side === "staff") form.append("learner", String(this.learner));
    form.append("file", file, file.name);
    this.fileBtn.disabled = true;
    this.status.textContent = t("Sending the file…");
    try {
      await api("POST", `/api/rooms/${encodeURIComponent(this.room)}/files`, { form, timeout: 120000 });
      this.status.textContent = t("The file was sent.");
      this.fileInput.value = "";
    } catch (err) {
      this.status.textContent = "";
      showAlert(this.error, t("The file was not sent: {reason}", { reason: fileErrorText(err) }));
    } finally {
      this.fileBtn.disabled = false;
    }
  }
}
