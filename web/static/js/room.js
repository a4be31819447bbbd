// The learner's live room: check the camera and microphone, join, publish them to the
// commission, see and hear the commission; rejoin by itself after a network drop.
//
// The test opens in another tab (the link on the page): leaving this page would stop the
// camera, so this tab keeps streaming while the learner answers in the other one.
//
// Before the test: the identity check (identity.js) — the test link opens when the
// setting allows it; the chat with the commission (chat.js); and the presence of the
// learner on the exam tabs (presence.js), reported to the commission from this tab.

import { RoomChat } from "./chat.js";
import { byId, el, showAlert } from "./dom.js";
import { t } from "./i18n.js";
import { IdentitySteps } from "./identity.js";
import { Presence } from "./presence.js";
import {
  Backoff,
  connectProctor,
  levelMeter,
  listDevices,
  openCamera,
  playStream,
  publish,
  replaceTrack,
  request,
  SignalError,
  stopStream,
  subscribe,
  watchConnection,
} from "./webrtc.js";

const root = byId("room-app");
const ROOM = root.dataset.room;
// An appeal hearing's room has no test and no identity check.
const HEARING = root.dataset.hearing === "1";
const REJOIN_KEY = `examroom.room.${ROOM}.joined`;

const ui = {
  localVideo: byId("local-video"),
  localPlaceholder: byId("local-placeholder"),
  meter: byId("mic-meter"),
  pickers: byId("device-pickers"),
  cameraSelect: byId("camera-select"),
  micSelect: byId("mic-select"),
  mediaStatus: byId("media-status"),
  cameraBtn: byId("camera-btn"),
  joinBtn: byId("join-btn"),
  leaveBtn: byId("leave-btn"),
  connection: byId("connection"),
  connectionText: byId("connection-text"),
  commissionEmpty: byId("commission-empty"),
  commissionVideos: byId("commission-videos"),
  soundActions: byId("sound-actions"),
  soundBtn: byId("sound-btn"),
  error: byId("room-error"),
  duplicate: byId("duplicate"),
  duplicateTakeover: byId("duplicate-takeover"),
  identity: byId("identity-check"),
  chat: byId("room-chat"),
  testLink: byId("test-link"),
  testLocked: byId("test-locked"),
  testNote: byId("test-note"),
  identityNote: byId("identity-step-note"),
};

const state = {
  stream: null,
  meter: null,
  socket: null,
  wantJoined: false,
  participantId: null,
  iceServers: [],
  pc: null,
  stopWatch: null,
  joinRun: 0, // each (re)join gets a number; an older run that wakes up later stops
  backoff: new Backoff(),
  retryTimer: null,
  countdownTimer: null,
  subs: new Map(), // commission participant id -> {pc, stream, item, video, stopWatch, retry}
  soundBlocked: false,
  inRoom: false, // the join was acknowledged on the current socket
};

/** The socket when this page is in the room (events other than join need that). */
function roomSocket() {
  return state.inRoom && state.socket && state.socket.connected ? state.socket : null;
}

const identity = new IdentitySteps({
  room: ROOM,
  container: ui.identity,
  socket: roomSocket,
  onGate: (canStart, mode) => {
    ui.testLink.hidden = !canStart;
    ui.testLocked.hidden = canStart;
    ui.testNote.hidden = mode !== "later";
    ui.identityNote.hidden = mode === "off";
  },
});
const chat = new RoomChat({ room: ROOM, side: "learner", socket: roomSocket, container: ui.chat });
const presence = new Presence(ROOM, {
  active: () => Boolean(roomSocket()),
  report: (kind, what) => request(state.socket, "browser_event", { room: ROOM, kind, state: what }),
});

function setInRoom(inRoom) {
  if (state.inRoom === inRoom) return;
  state.inRoom = inRoom;
  identity.setJoined(inRoom);
  if (inRoom) {
    chat.loadHistory();
    presence.resync();
  }
}

// ---------------------------------------------------------------- status lines

const CONNECTION_TEXT = {
  idle: t("Not in the room"),
  connecting: t("Connecting to the room…"),
  connected: t("In the room: the commission sees and hears you"),
  failed: t("Could not join the room"),
};

function setConnection(name, text) {
  ui.connection.dataset.state = name;
  ui.connectionText.textContent = text || CONNECTION_TEXT[name] || "";
}

function setMediaStatus(text, kind = "") {
  ui.mediaStatus.textContent = text || "";
  ui.mediaStatus.className = `status-line${kind ? ` ${kind}` : ""}`;
}

function cameraErrorText(err) {
  const name = err && err.name;
  if (name === "NotAllowedError" || name === "SecurityError") {
    return t("Access to the camera or microphone was denied. Allow it in the browser (the icon in the address bar) and try again.");
  }
  if (name === "NotFoundError" || name === "OverconstrainedError") return t("No camera or microphone was found. Connect them and try again.");
  if (name === "NotReadableError" || name === "AbortError") {
    return t("The camera or microphone is busy or does not work. Close other programs that use them and try again.");
  }
  return t("The camera or microphone could not be turned on.");
}

function signalErrorText(err) {
  const code = err && err.code;
  if (code === "not_found") return t("This room does not exist or is not yours.");
  if (code === "forbidden") return t("You may not join this room.");
  if (code === "unauthenticated") return t("Your session has ended. Log in again.");
  if (code === "bad_sdp") return t("The browser's video could not be accepted. Update the browser and try again.");
  return t("Could not join the room");
}

// ---------------------------------------------------------------- camera and microphone

async function fillPickers() {
  let devices;
  try {
    devices = await listDevices();
  } catch {
    return;
  }
  const fill = (select, list, currentId, fallback) => {
    const chosen = select.value || currentId;
    select.replaceChildren(
      ...list.map((d, index) => el("option", { value: d.deviceId, text: d.label || `${fallback} ${index + 1}` })),
    );
    if (list.some((d) => d.deviceId === chosen)) select.value = chosen;
  };
  const videoTrack = state.stream && state.stream.getVideoTracks()[0];
  const audioTrack = state.stream && state.stream.getAudioTracks()[0];
  fill(ui.cameraSelect, devices.cameras, videoTrack ? videoTrack.getSettings().deviceId : "", t("Camera"));
  fill(ui.micSelect, devices.microphones, audioTrack ? audioTrack.getSettings().deviceId : "", t("Microphone"));
  ui.pickers.hidden = devices.cameras.length < 2 && devices.microphones.length < 2;
}

function watchTracks(stream) {
  for (const track of stream.getTracks()) {
    track.addEventListener("ended", () => {
      if (state.stream !== stream) return;
      setMediaStatus(
        track.kind === "video" ? t("The camera stopped. Check it and turn it on again.") : t("The microphone stopped. Check it and turn it on again."),
        "error",
      );
      ui.cameraBtn.hidden = false;
    });
  }
}

async function startCamera() {
  showAlert(ui.error, "");
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    setMediaStatus(t("This browser cannot use the camera here. Open the site in a current browser over HTTPS."), "error");
    return false;
  }
  ui.cameraBtn.disabled = true;
  setMediaStatus(t("Turning on the camera and microphone…"));
  let stream;
  try {
    stream = await openCamera({ videoDeviceId: ui.cameraSelect.value, audioDeviceId: ui.micSelect.value });
  } catch (err) {
    setMediaStatus(cameraErrorText(err), "error");
    ui.cameraBtn.disabled = false;
    return false;
  }
  const old = state.stream;
  state.stream = stream;
  watchTracks(stream);
  ui.localVideo.srcObject = stream;
  ui.localPlaceholder.hidden = true;
  playStream(ui.localVideo, stream, { muted: true });
  if (state.meter) state.meter.stop();
  state.meter = levelMeter(stream, (level) => {
    ui.meter.value = level;
  });
  state.meter.resume();
  if (state.pc) {
    for (const track of stream.getTracks()) await replaceTrack(state.pc, track);
  }
  stopStream(old);
  ui.cameraBtn.disabled = false;
  ui.cameraBtn.hidden = true;
  ui.joinBtn.disabled = state.wantJoined;
  setMediaStatus(t("The camera and microphone are on. Check that you are in the picture and that the level moves when you speak."), "ok");
  fillPickers();
  return true;
}

// ---------------------------------------------------------------- the room

function ensureSocket() {
  if (state.socket) return state.socket;
  const socket = connectProctor();
  state.socket = socket;
  socket.on("connect", () => {
    if (state.wantJoined) rejoin();
  });
  socket.on("disconnect", (reason) => {
    setInRoom(false);
    if (!state.wantJoined) return;
    dropMedia();
    setConnection("connecting", t("Connection lost. Reconnecting…"));
    if (reason === "io server disconnect") socket.connect(); // the server let go of us: come back
  });
  socket.on("connect_error", (err) => {
    if (!state.wantJoined) return;
    if (err && err.message === "unauthenticated") {
      stopTrying(signalErrorText({ code: "unauthenticated" }));
      return;
    }
    setConnection("connecting", t("No connection to the server. Reconnecting…"));
  });
  socket.on("publisher_joined", (data) => {
    const person = data && data.publisher;
    if (state.wantJoined && data.room === ROOM && person) watchCommission(person);
  });
  socket.on("publisher_left", (data) => {
    const person = data && data.publisher;
    if (data && data.room === ROOM && person) dropSubscription(person.participant_id);
  });
  socket.on("identity", (data) => identity.update(data));
  chat.attach(socket);
  return socket;
}

async function join() {
  if (!state.stream && !(await startCamera())) return;
  state.wantJoined = true;
  sessionStorage.setItem(REJOIN_KEY, "1");
  announce("joined");
  ui.duplicate.hidden = true;
  ui.joinBtn.disabled = true;
  ui.joinBtn.hidden = true;
  ui.leaveBtn.hidden = false;
  state.meter && state.meter.resume(); // a click lets the audio context run
  state.backoff.reset();
  const socket = ensureSocket();
  if (socket.connected) rejoin();
  else {
    setConnection("connecting");
    socket.connect();
  }
}

/** Join the room (again), publish, and receive the commission; retries on failure. */
async function rejoin() {
  clearRetry();
  const run = ++state.joinRun;
  const current = () => run === state.joinRun && state.wantJoined;
  dropMedia();
  setConnection("connecting");
  try {
    const ack = await request(state.socket, "join", { room: ROOM });
    if (!current()) return;
    state.participantId = ack.participant_id;
    state.iceServers = ack.ice_servers || [];
    setInRoom(true);
    const pc = await publish(state.socket, ROOM, state.stream, state.iceServers);
    if (!current()) {
      pc.close();
      return;
    }
    state.pc = pc;
    state.stopWatch = watchConnection(pc, {
      onChange: (connectionState) => {
        if (pc !== state.pc) return;
        if (connectionState === "connected") {
          state.backoff.reset();
          setConnection("connected");
        } else if (connectionState === "connecting" || connectionState === "new") {
          setConnection("connecting");
        }
      },
      onBroken: () => {
        if (pc === state.pc && state.wantJoined) scheduleRetry();
      },
    });
    for (const person of ack.publishers || []) watchCommission(person);
  } catch (err) {
    if (!current()) return;
    if (err instanceof SignalError && !err.retryable) {
      stopTrying(signalErrorText(err));
      return;
    }
    scheduleRetry();
  }
}

function clearRetry() {
  clearTimeout(state.retryTimer);
  clearInterval(state.countdownTimer);
  state.retryTimer = null;
}

function scheduleRetry() {
  clearRetry();
  dropMedia();
  const delay = state.backoff.next();
  const due = Date.now() + delay;
  const show = () => {
    const seconds = Math.max(1, Math.ceil((due - Date.now()) / 1000));
    setConnection("connecting", t("Connection lost. Reconnecting in {seconds} s…", { seconds }));
  };
  show();
  state.countdownTimer = setInterval(show, 1000);
  state.retryTimer = setTimeout(() => {
    clearRetry();
    if (!state.wantJoined) return;
    if (state.socket.connected) rejoin();
    else state.socket.connect(); // "connect" rejoins
  }, delay);
}

function stopTrying(message) {
  state.wantJoined = false;
  sessionStorage.removeItem(REJOIN_KEY);
  clearRetry();
  dropMedia();
  setInRoom(false);
  setConnection("failed");
  showAlert(ui.error, message);
  ui.joinBtn.hidden = false;
  ui.joinBtn.disabled = !state.stream;
  ui.leaveBtn.hidden = true;
}

/** Close every peer connection of this page (the camera stays on). */
function dropMedia() {
  if (state.stopWatch) state.stopWatch();
  state.stopWatch = null;
  if (state.pc) state.pc.close();
  state.pc = null;
  for (const id of [...state.subs.keys()]) dropSubscription(id);
}

async function leave() {
  state.wantJoined = false;
  state.joinRun += 1;
  sessionStorage.removeItem(REJOIN_KEY);
  clearRetry();
  dropMedia();
  setInRoom(false);
  if (state.socket && state.socket.connected) {
    try {
      await request(state.socket, "leave", { room: ROOM }, 5000);
    } catch {
      /* the server forgets the socket when it disconnects anyway */
    }
  }
  setConnection("idle");
  ui.leaveBtn.hidden = true;
  ui.joinBtn.hidden = false;
  ui.joinBtn.disabled = !state.stream;
}

// ---------------------------------------------------------------- the commission's video

function updateCommissionEmpty() {
  ui.commissionEmpty.hidden = state.subs.size > 0;
}

function commissionItem(person) {
  const video = el("video", { className: "room-video", autoplay: true, playsInline: true, attrs: { "aria-label": t("Camera of {name}", { name: person.name }) } });
  const status = el("span", { className: "remote-state", text: t("Connecting…") });
  const item = el(
    "li",
    { className: "remote-tile", dataset: { participant: person.participant_id } },
    el("div", { className: "video-frame" }, video),
    el("p", { className: "remote-name" }, el("span", { text: person.name }), status),
  );
  return { item, video, status };
}

/** Receive a commission member's video and sound (learners receive nobody else). */
async function watchCommission(person) {
  if (!person || person.role !== "commission" || person.participant_id === state.participantId) return;
  const id = person.participant_id;
  const existing = state.subs.get(id);
  if (existing && existing.pc && ["new", "connecting", "connected"].includes(existing.pc.connectionState)) return;
  if (existing) dropSubscription(id);
  const { item, video, status } = commissionItem(person);
  const sub = { pc: null, stream: null, item, video, stopWatch: null, retry: null, person };
  state.subs.set(id, sub);
  ui.commissionVideos.append(item);
  updateCommissionEmpty();
  const run = state.joinRun;
  try {
    const { pc, stream } = await subscribe(state.socket, ROOM, id, state.iceServers);
    if (state.subs.get(id) !== sub || run !== state.joinRun) {
      pc.close();
      return;
    }
    sub.pc = pc;
    sub.stream = stream;
    sub.stopWatch = watchConnection(pc, {
      onChange: (connectionState) => {
        if (connectionState === "connected") status.textContent = "";
        else if (connectionState === "connecting") status.textContent = t("Connecting…");
      },
      onBroken: () => {
        status.textContent = t("Connection lost. Reconnecting…");
        sub.retry = setTimeout(() => {
          if (state.subs.get(id) === sub) {
            dropSubscription(id);
            if (state.wantJoined) watchCommission(person);
          }
        }, 2000);
      },
    });
    const withSound = await playStream(video, stream, { muted: false });
    if (!withSound) showSoundButton();
  } catch (err) {
    if (state.subs.get(id) !== sub) return;
    if (err instanceof SignalError && (err.code === "unknown_publisher" || err.code === "not_found")) {
      dropSubscription(id);
      return;
    }
    status.textContent = t("Connection lost. Reconnecting…");
    sub.retry = setTimeout(() => {
      if (state.subs.get(id) === sub) {
        dropSubscription(id);
        if (state.wantJoined) watchCommission(person);
      }
    }, 3000);
  }
}

function dropSubscription(id) {
  const sub = state.subs.get(id);
  if (!sub) return;
  state.subs.delete(id);
  clearTimeout(sub.retry);
  if (sub.stopWatch) sub.stopWatch();
  if (sub.pc) sub.pc.close();
  sub.video.srcObject = null;
  sub.item.remove();
  updateCommissionEmpty();
}

function showSoundButton() {
  state.soundBlocked = true;
  ui.soundActions.hidden = false;
}

function turnOnSound() {
  for (const sub of state.subs.values()) {
    sub.video.muted = false;
    sub.video.play().catch(() => {});
  }
  state.soundBlocked = false;
  ui.soundActions.hidden = true;
}

// ---------------------------------------------------------------- one tab at a time

// A second tab of the same room would replace this tab's stream on the server and the two
// would take it from each other: the last tab that joins keeps it, the other one stops.
const TAB_ID = Math.random().toString(36).slice(2);
const channel = typeof BroadcastChannel === "function" ? new BroadcastChannel(`examroom-room-${ROOM}`) : null;

function announce(type) {
  if (channel) channel.postMessage({ type, tab: TAB_ID });
}

if (channel) {
  channel.addEventListener("message", (event) => {
    const data = event.data || {};
    if (data.tab === TAB_ID) return;
    if (data.type === "hello" && state.wantJoined) announce("here");
    else if (data.type === "here" && !state.wantJoined) ui.duplicate.hidden = false;
    else if (data.type === "joined" && state.wantJoined) {
      leave();
      ui.duplicate.hidden = false;
    }
  });
}

// ---------------------------------------------------------------- start

ui.cameraBtn.addEventListener("click", () => startCamera());
ui.joinBtn.addEventListener("click", () => join());
ui.leaveBtn.addEventListener("click", () => leave());
ui.soundBtn.addEventListener("click", turnOnSound);
ui.duplicateTakeover.addEventListener("click", () => join());
ui.cameraSelect.addEventListener("change", () => startCamera());
ui.micSelect.addEventListener("change", () => startCamera());
if (navigator.mediaDevices && navigator.mediaDevices.addEventListener) {
  navigator.mediaDevices.addEventListener("devicechange", () => {
    if (state.stream) fillPickers();
  });
}
// The first click anywhere lets the level meter's audio context run.
document.addEventListener("click", () => state.meter && state.meter.resume(), { once: true });
window.addEventListener("pagehide", () => {
  if (state.socket) state.socket.disconnect();
});

setConnection("idle");
updateCommissionEmpty();
if (!HEARING) identity.load();
announce("hello");
// A reload in the middle of the attestation comes straight back into the room.
if (sessionStorage.getItem(REJOIN_KEY) === "1") join();
