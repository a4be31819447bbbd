// The identity check on the learner's page (B 4.8, 4.11): face photo, identity document
// photo and a slow pan of the room, each taken on the server from the live stream when
// the learner presses "capture"; then the commission's decision.
//
// The setting identity_check decides what the test waits for: "required" — the test
// starts after the commission confirmed the identity; "later" — the test may start now,
// the commission confirms during it; "off" — no identity check at all.

import { api, errorText } from "./api.js";
import { el, replace } from "./dom.js";
import { formatDateTime } from "./format.js";
import { t } from "./i18n.js";
import { request } from "./webrtc.js";

export const STEPS = ["face", "document", "room_view"];
export const REQUIRED_KINDS = ["face", "document"];

/** What each kind of snapshot is called, on both pages. */
export function kindLabel(kind) {
  if (kind === "face") return t("Face");
  if (kind === "document") return t("Identity document");
  if (kind === "room_view") return t("Room view");
  return kind;
}

/** The text of an identity status. */
export function statusLabel(status) {
  if (status === "confirmed") return t("Identity confirmed");
  if (status === "rejected") return t("Identity rejected");
  return t("Waiting for the commission");
}

/** A message for a failed capture. */
export function captureErrorText(err) {
  const code = err && err.code;
  if (code === "no_keyframe") return t("The camera has not sent a picture yet. Wait a few seconds and try again.");
  if (code === "too_many_snapshots") return t("Too many pictures have been taken. Ask the commission for help.");
  if (code === "throttled") return t("Too many requests. Wait a little and try again.");
  if (code === "not_joined" || code === "disconnected") return t("Join the room first: the picture is taken from your camera's stream.");
  if (code === "unknown_publisher") return t("The learner is not on camera now.");
  return t("The picture was not taken: {reason}", { reason: (err && err.message) || code || "" });
}

/** A snapshot as a figure: the picture and when it was taken. */
export function snapshotFigure(snapshot) {
  return el(
    "figure",
    { className: "snapshot", dataset: { kind: snapshot.kind, snapshotId: String(snapshot.snapshot_id) } },
    el("img", {
      src: snapshot.url,
      alt: t("Picture: {kind}", { kind: kindLabel(snapshot.kind) }),
      attrs: { width: "160", height: "120", loading: "lazy" },
    }),
    el("figcaption", { className: "muted", text: formatDateTime(snapshot.taken_at) }),
  );
}

const STEP_TEXT = {
  face: () => t("Look straight into the camera so that your face is well lit and fills the picture, then press the button."),
  document: () => t("Hold your passport (the page with the photo) or another identity document close to the camera, then press the button."),
  room_view: () => t("Slowly turn the camera around the room and the workplace. Take a picture every quarter turn: the desk, the walls, the door."),
};

const STEP_BUTTON = {
  face: () => t("Take a picture of the face"),
  document: () => t("Take a picture of the document"),
  room_view: () => t("Take a picture of the room"),
};

/**
 * The learner's identity check. options: room, container, socket() → the joined socket
 * or null, onGate(canStart, mode, status) — whether the test may start now.
 */
export class IdentitySteps {
  constructor({ room, container, socket, onGate }) {
    this.room = room;
    this.container = container;
    this.socket = socket;
    this.onGate = onGate;
    this.mode = null;
    this.check = null; // the learner's identity check as the server sends it
    this.joined = false;
    this.steps = {};
    this.build();
  }

  build() {
    const intro = el("p", {
      text: t("Before the test the commission checks who you are. Join the room, then take the pictures below: the server takes them from your camera."),
    });
    this.cameraStep = el("span", { className: "step-state" });
    const items = [
      el(
        "li",
        { className: "identity-step", dataset: { step: "camera" } },
        el("h3", { text: t("Camera and microphone") }),
        el("p", { className: "muted", text: t("Turn on the camera and the microphone and join the room (above).") }),
        this.cameraStep,
      ),
    ];
    for (const kind of STEPS) {
      const button = el("button", { type: "button", className: "button", text: STEP_BUTTON[kind](), disabled: true, dataset: { capture: kind } });
      const gallery = el("div", { className: "snapshot-gallery" });
      const status = el("p", { className: "status-line", attrs: { role: "status" } });
      button.addEventListener("click", () => this.capture(kind));
      const item = el(
        "li",
        { className: "identity-step", dataset: { step: kind, done: "false" } },
        el("h3", { text: kindLabel(kind) }),
        el("p", { className: "muted", text: STEP_TEXT[kind]() }),
        el("p", { className: "actions" }, button),
        status,
        gallery,
      );
      this.steps[kind] = { item, button, gallery, status };
      items.push(item);
    }
    this.status = el("p", { id: "identity-status", className: "identity-status", attrs: { role: "status", "aria-live": "polite" } });
    this.comment = el("p", { id: "identity-comment", className: "identity-comment", hidden: true });
    this.container.append(intro, el("ol", { className: "identity-steps" }, ...items), this.status, this.comment);
  }

  /** Read the setting and the learner's check from the server. */
  async load() {
    try {
      const data = await api("GET", `/api/rooms/${encodeURIComponent(this.room)}/identity`);
      this.mode = data.identity_check;
      if (data.learners && data.learners[0]) this.check = data.learners[0];
    } catch (err) {
      this.status.textContent = errorText(err);
      return;
    }
    this.container.hidden = this.mode === "off";
    this.render();
  }

  /** The room was joined (or left): the captures need the live stream. */
  setJoined(joined) {
    this.joined = joined;
    this.render();
  }

  /** The server's news about the learner's check (the ``identity`` event). */
  update(body) {
    if (!body || body.room !== this.room) return;
    this.check = body;
    this.render();
  }

  async capture(kind) {
    const step = this.steps[kind];
    const socket = this.socket();
    step.status.className = "status-line";
    if (!socket) {
      step.status.textContent = captureErrorText({ code: "not_joined" });
      step.status.className = "status-line error";
      return;
    }
    step.button.disabled = true;
    step.status.textContent = t("Taking the picture…");
    try {
      const snapshot = await request(socket, "capture", { room: this.room, kind });
      const snapshots = (this.check && this.check.snapshots) || [];
      if (!snapshots.some((s) => s.snapshot_id === snapshot.snapshot_id)) {
        this.check = { ...(this.check || { status: "pending", comment: "" }), snapshots: [...snapshots, snapshot] };
      }
      step.status.textContent = t("The picture is saved.");
      step.status.className = "status-line ok";
    } catch (err) {
      step.status.textContent = captureErrorText(err);
      step.status.className = "status-line error";
    } finally {
      this.render();
    }
  }

  render() {
    const snapshots = (this.check && this.check.snapshots) || [];
    const status = (this.check && this.check.status) || "pending";
    this.cameraStep.textContent = this.joined ? t("Done: the commission sees and hears you.") : "";
    for (const kind of STEPS) {
      const step = this.steps[kind];
      const mine = snapshots.filter((s) => s.kind === kind);
      // Face and document: the latest picture counts; the room view: every picture of the pan.
      const shown = kind === "room_view" ? mine : mine.slice(-1);
      replace(step.gallery, ...shown.map(snapshotFigure));
      step.item.dataset.done = mine.length ? "true" : "false";
      step.button.disabled = !this.joined || status === "confirmed";
    }
    const haveRequired = REQUIRED_KINDS.every((kind) => snapshots.some((s) => s.kind === kind));
    this.status.dataset.status = status;
    this.comment.hidden = true;
    if (status === "confirmed") this.status.textContent = t("The commission confirmed your identity.");
    else if (status === "rejected") {
      this.status.textContent = t("The commission did not confirm your identity. Take the pictures again and wait for the commission.");
      this.comment.textContent = t("Comment of the commission: {comment}", { comment: this.check.comment || "—" });
      this.comment.hidden = false;
    } else if (haveRequired) this.status.textContent = t("Waiting for the commission: it checks your pictures.");
    else this.status.textContent = t("Take the pictures of your face and of your identity document.");
    const canStart = this.mode === "off" || this.mode === "later" || status === "confirmed";
    if (this.mode) this.onGate(canStart, this.mode, status);
  }
}
