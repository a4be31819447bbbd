// The commission's review of a learner's identity (B 4.8, 4.11): the face, document and
// room-view pictures, capture buttons (the server takes the picture from the learner's
// stream), and the decision — confirm, or reject with a comment saying why.

import { api, errorText } from "./api.js";
import { el, replace, showAlert } from "./dom.js";
import { formatDateTime } from "./format.js";
import { t } from "./i18n.js";
import { captureErrorText, kindLabel, REQUIRED_KINDS, snapshotFigure, statusLabel, STEPS } from "./identity.js";
import { request } from "./webrtc.js";

/**
 * The identity panel of the commission's page. options: room, container, socket() → the
 * joined socket or null, nameOf(user id) → a person's name, onChange(learner id, check),
 * canDecide (support watches but neither captures nor decides).
 */
export class IdentityReview {
  constructor({ room, container, socket, nameOf, onChange, canDecide = true }) {
    this.room = room;
    this.container = container;
    this.socket = socket;
    this.nameOf = nameOf;
    this.onChange = onChange;
    this.canDecide = canDecide;
    this.mode = null;
    this.checks = new Map(); // learner user id -> identity check
    this.learner = null; // {user_id, participant_id, name}
    this.build();
  }

  build() {
    this.hint = el("p", { className: "muted", text: t("Choose a learner in the grid to check their identity.") });
    this.title = el("h3", { className: "review-learner" });
    this.status = el("p", { className: "identity-status", attrs: { role: "status", "aria-live": "polite" } });
    this.decision = el("p", { className: "muted review-decision" });
    this.groups = {};
    const groups = STEPS.map((kind) => {
      const gallery = el("div", { className: "snapshot-gallery" });
      const button = el("button", { type: "button", className: "button", text: t("Take a picture"), dataset: { capture: kind }, hidden: !this.canDecide });
      button.addEventListener("click", () => this.capture(kind, button));
      this.groups[kind] = { gallery, button };
      return el(
        "div",
        { className: "review-group", dataset: { kind } },
        el("h4", { text: kindLabel(kind) }),
        gallery,
        el("p", { className: "actions" }, button),
      );
    });
    this.comment = el("textarea", {
      id: "identity-comment-input",
      className: "review-comment",
      attrs: { rows: "2", maxlength: "2000" },
    });
    this.confirmBtn = el("button", { type: "button", className: "button primary", text: t("Confirm the identity") });
    this.rejectBtn = el("button", { type: "button", className: "button danger", text: t("Reject") });
    this.confirmBtn.addEventListener("click", () => this.decide("confirmed"));
    this.rejectBtn.addEventListener("click", () => this.decide("rejected"));
    this.error = el("p", { className: "alert alert-error", attrs: { role: "alert" }, hidden: true });
    this.body = el(
      "div",
      { className: "review-body", hidden: true },
      this.title,
      this.status,
      this.decision,
      el("div", { className: "review-groups" }, ...groups),
      el(
        "div",
        { className: "field", hidden: !this.canDecide },
        el("label", { attrs: { for: "identity-comment-input" }, text: t("Comment (required to reject)") }),
        this.comment,
      ),
      el("p", { className: "actions", hidden: !this.canDecide }, this.confirmBtn, this.rejectBtn),
      this.error,
    );
    this.container.append(this.hint, this.body);
  }

  /** Every learner's check in the room (on join and rejoin). */
  async load() {
    try {
      const data = await api("GET", `/api/rooms/${encodeURIComponent(this.room)}/identity`);
      this.mode = data.identity_check;
      this.container.hidden = this.mode === "off";
      for (const check of data.learners || []) this.update(check);
    } catch (err) {
      showAlert(this.error, errorText(err));
    }
  }

  /** A learner's check changed (the ``identity`` event, or a decision's answer). */
  update(check) {
    if (!check || check.room !== this.room) return;
    this.checks.set(check.learner_id, check);
    this.onChange(check.learner_id, check);
    if (this.learner && this.learner.user_id === check.learner_id) this.render();
  }

  statusOf(learnerId) {
    const check = this.checks.get(learnerId);
    return check ? check.status : "pending";
  }

  /** Show a learner's check. */
  select(learner) {
    const changed = !this.learner || this.learner.user_id !== learner.user_id;
    this.learner = learner;
    if (changed) {
      this.comment.value = "";
      showAlert(this.error, "");
    }
    this.render();
  }

  render() {
    const learner = this.learner;
    this.hint.hidden = Boolean(learner);
    this.body.hidden = !learner;
    if (!learner) return;
    const check = this.checks.get(learner.user_id) || { status: "pending", snapshots: [], comment: "" };
    this.title.textContent = learner.name;
    this.status.textContent = statusLabel(check.status);
    this.status.dataset.status = check.status;
    this.decision.textContent = check.decided_at
      ? t("Decided by {name}, {at}. {comment}", {
          name: this.nameOf(check.decided_by),
          at: formatDateTime(check.decided_at),
          comment: check.comment || "",
        }).trim()
      : "";
    for (const kind of STEPS) {
      const mine = (check.snapshots || []).filter((s) => s.kind === kind);
      replace(this.groups[kind].gallery, ...(mine.length ? mine.map(snapshotFigure) : [el("p", { className: "muted", text: t("No picture yet") })]));
    }
  }

  async capture(kind, button) {
    const socket = this.socket();
    if (!this.learner || !socket) return;
    showAlert(this.error, "");
    button.disabled = true;
    try {
      await request(socket, "capture", { room: this.room, kind, participant: this.learner.participant_id });
    } catch (err) {
      showAlert(this.error, captureErrorText(err));
    } finally {
      button.disabled = false;
    }
  }

  async decide(decision) {
    const socket = this.socket();
    if (!this.learner || !socket) return;
    const comment = this.comment.value.trim();
    showAlert(this.error, "");
    if (decision === "rejected" && !comment) {
      showAlert(this.error, t("Say in the comment why the identity is rejected."));
      this.comment.focus();
      return;
    }
    const check = this.checks.get(this.learner.user_id);
    const taken = new Set(((check && check.snapshots) || []).map((s) => s.kind));
    if (decision === "confirmed" && !REQUIRED_KINDS.every((kind) => taken.has(kind))) {
      showAlert(this.error, t("Take the pictures of the face and of the document before confirming."));
      return;
    }
    this.confirmBtn.disabled = true;
    this.rejectBtn.disabled = true;
    try {
      const body = await request(socket, "identity_decision", {
        room: this.room,
        learner: this.learner.user_id,
        decision,
        comment,
      });
      this.update(body);
      this.comment.value = "";
    } catch (err) {
      const text =
        err.code === "snapshots_missing"
          ? t("Take the pictures of the face and of the document before confirming.")
          : t("The decision was not saved: {reason}", { reason: err.message || err.code });
      showAlert(this.error, text);
    } finally {
      this.confirmBtn.disabled = false;
      this.rejectBtn.disabled = false;
    }
  }
}
