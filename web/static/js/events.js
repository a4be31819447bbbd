// The commission's live list of monitoring events: intervals with a kind, a start, an end
// (open while it lasts), a source (the server, the learner's browser, a person) and an
// author; and the manual flag a commission member raises on the chosen learner.

import { api, errorText } from "./api.js";
import { el, replace, showAlert } from "./dom.js";
import { formatDateTime } from "./format.js";
import { t } from "./i18n.js";
import { request } from "./webrtc.js";

/** What an event kind is called. */
export function eventKindLabel(kind) {
  const labels = {
    video_lost: () => t("Video lost or frozen"),
    audio_lost: () => t("Microphone lost"),
    connection_lost: () => t("Connection lost"),
    tab_hidden: () => t("Test tab hidden"),
    window_blurred: () => t("Window not in focus"),
    second_session: () => t("Second session"),
    manual_flag: () => t("Flag of the commission"),
  };
  return labels[kind] ? labels[kind]() : kind;
}

function sourceLabel(source) {
  if (source === "auto") return t("automatic");
  if (source === "browser") return t("browser");
  if (source === "person") return t("person");
  return source;
}

/**
 * The events panel. options: room, container, socket() → the joined socket or null,
 * nameOf(user id) → a person's name, canFlag (only the commission flags).
 */
export class EventList {
  constructor({ room, container, socket, nameOf, canFlag = true }) {
    this.room = room;
    this.canFlag = canFlag;
    this.socket = socket;
    this.nameOf = nameOf;
    this.events = new Map(); // event id -> {data, row}
    this.learner = null;
    this.build(container);
  }

  build(container) {
    this.empty = el("p", { className: "muted", text: t("No events yet.") });
    this.body = el("tbody");
    const head = [t("Learner"), t("Event"), t("Began"), t("Ended"), t("Source"), t("Author"), t("Comment"), ""];
    this.table = el(
      "table",
      { className: "events-table", hidden: true },
      el("thead", {}, el("tr", {}, ...head.map((text) => el("th", { attrs: { scope: "col" }, text })))),
      this.body,
    );
    this.flagComment = el("input", { id: "flag-comment", type: "text", attrs: { maxlength: "2000" } });
    this.flagBtn = el("button", { type: "submit", className: "button", text: t("Flag") });
    this.flagLabel = el("label", { attrs: { for: "flag-comment" } });
    this.flagForm = el(
      "form",
      { className: "flag-form", hidden: true, on: { submit: (event) => this.flag(event) } },
      el("div", { className: "field" }, this.flagLabel, this.flagComment),
      el("p", { className: "actions" }, this.flagBtn),
    );
    this.error = el("p", { className: "alert alert-error", attrs: { role: "alert" }, hidden: true });
    const wrap = el("div", { className: "events-wrap" }, this.table);
    container.append(this.flagForm, this.error, this.empty, wrap);
  }

  /** The room's events so far (on join and rejoin). */
  async load() {
    try {
      const data = await api("GET", `/api/rooms/${encodeURIComponent(this.room)}/events`);
      for (const event of data.events || []) this.upsert(event);
    } catch (err) {
      showAlert(this.error, errorText(err));
    }
  }

  /** The learner whom a flag would concern. */
  select(learner) {
    this.learner = learner;
    this.flagForm.hidden = !learner || !this.canFlag;
    this.flagLabel.textContent = learner ? t("Flag a violation of {name} (comment)", { name: learner.name }) : "";
  }

  /** A new or changed event (the ``monitoring`` event). */
  upsert(event) {
    if (!event || event.room !== this.room) return;
    const known = this.events.get(event.id);
    const row = known ? known.row : el("tr");
    this.events.set(event.id, { data: event, row });
    row.dataset.eventId = String(event.id);
    row.dataset.kind = event.kind;
    row.dataset.source = event.source;
    row.dataset.learner = String(event.learner_id);
    row.dataset.open = event.open ? "true" : "false";
    const end = event.open ? el("span", { className: "badge is-bad", text: t("ongoing") }) : formatDateTime(event.ended_at);
    let action = "";
    if (event.kind === "manual_flag" && event.open && this.canFlag) {
      action = el("button", {
        type: "button",
        className: "button subtle small",
        text: t("End the flag"),
        on: { click: () => this.endFlag(event) },
      });
    }
    replace(
      row,
      el("td", { text: this.nameOf(event.learner_id) }),
      el("td", { className: "event-kind", text: eventKindLabel(event.kind) }),
      el("td", { text: formatDateTime(event.started_at) }),
      el("td", { className: "event-end" }, end),
      el("td", { text: sourceLabel(event.source) }),
      el("td", { text: event.author_id ? this.nameOf(event.author_id) : t("server") }),
      el("td", { className: "event-comment", text: event.comment || "" }),
      el("td", {}, action),
    );
    if (!known) {
      // Newest first: before the first row of an older event.
      const older = [...this.body.children].find((node) => Number(node.dataset.eventId) < event.id);
      this.body.insertBefore(row, older || null);
    }
    this.table.hidden = false;
    this.empty.hidden = true;
  }

  /** Names became known (a learner joined): redraw the rows. */
  refreshNames() {
    for (const { data } of this.events.values()) this.upsert(data);
  }

  async flag(submitEvent) {
    submitEvent.preventDefault();
    const socket = this.socket();
    const comment = this.flagComment.value.trim();
    showAlert(this.error, "");
    if (!this.learner || !socket) return;
    if (!comment) {
      showAlert(this.error, t("Describe the violation in the comment."));
      this.flagComment.focus();
      return;
    }
    this.flagBtn.disabled = true;
    try {
      const event = await request(socket, "flag", { room: this.room, learner: this.learner.user_id, state: "start", comment });
      this.upsert(event);
      this.flagComment.value = "";
    } catch (err) {
      showAlert(this.error, t("The flag was not saved: {reason}", { reason: err.message || err.code }));
    } finally {
      this.flagBtn.disabled = false;
    }
  }

  async endFlag(event) {
    const socket = this.socket();
    if (!socket) return;
    showAlert(this.error, "");
    try {
      this.upsert(await request(socket, "flag", { room: this.room, learner: event.learner_id, state: "end", event: event.id }));
    } catch (err) {
      showAlert(this.error, t("The flag was not saved: {reason}", { reason: err.message || err.code }));
    }
  }
}
