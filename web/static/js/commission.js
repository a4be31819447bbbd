// The commission's view of a live room: own camera and microphone published to the
// learners, a grid of learners (thumbnails every 3 s, connection/camera/microphone state),
// and a learner's live video and sound in a dialog. Rejoins by itself after a drop.
//
// A learner chosen in the grid ("Choose") gets the panels below it: their identity check
// (review.js), the chat with them (chat.js) and manual flags; the room's monitoring
// events (events.js) are listed live for every learner.
//
// An appeal hearing's room (data-hearing) has no test: no identity check, no monitoring
// events and no flags. The appellant is in the grid of learners, the appeal commission's
// other members in a grid of their own, and the chat is with the appellant.

import { RoomChat } from "./chat.js";
import { byId, el, replace, showAlert } from "./dom.js";
import { EventList } from "./events.js";
import { t } from "./i18n.js";
import { statusLabel } from "./identity.js";
import { IdentityReview } from "./review.js";
import {
  Backoff,
  connectProctor,
  levelMeter,
  openCamera,
  playStream,
  publish,
  request,
  SignalError,
  stopStream,
  subscribe,
  watchConnection,
} from "./webrtc.js";

const root = byId("commission-app");
const ROOM = root.dataset.room;
const THUMBNAIL_MS = 3000;
// Support watches and writes, but only the commission captures, decides and flags.
const COMMISSION = root.dataset.role !== "support";
const HEARING = root.dataset.hearing === "1";

const ui = {
  localVideo: byId("local-video"),
  localPlaceholder: byId("local-placeholder"),
  meter: byId("mic-meter"),
  mediaStatus: byId("media-status"),
  cameraBtn: byId("camera-btn"),
  muteBtn: byId("mute-btn"),
  connection: byId("connection"),
  connectionText: byId("connection-text"),
  grid: byId("learner-grid"),
  memberGrid: document.getElementById("member-grid"), // a hearing's only
  empty: byId("learners-empty"),
  count: byId("learner-count"),
  staffList: byId("staff-list"),
  error: byId("room-error"),
  dialog: byId("live-dialog"),
  liveTitle: byId("live-title"),
  liveVideo: byId("live-video"),
  livePlaceholder: byId("live-placeholder"),
  liveStates: byId("live-states"),
  liveStatus: byId("live-status"),
  liveClose: byId("live-close"),
  liveSoundActions: byId("live-sound-actions"),
  liveSoundBtn: byId("live-sound-btn"),
  review: byId("identity-review"),
  events: byId("room-events"),
  chat: byId("room-chat"),
  chatWith: byId("chat-with"),
};

const state = {
  socket: null,
  stream: null,
  meter: null,
  joined: false,
  stopped: false,
  participantId: null,
  iceServers: [],
  pc: null,
  stopWatch: null,
  joinRun: 0,
  backoff: new Backoff(),
  retryTimer: null,
  tiles: new Map(), // learner participant id -> tile
  live: null, // {id, pc, stopWatch, retry, run}
  liveRun: 0,
  yielded: false, // another tab of this room sends the camera now
  names: new Map(), // user id -> name, for events and decisions
  selected: null, // the chosen learner: {user_id, participant_id, name}
  unread: new Map(), // learner user id -> messages not yet seen in an open thread
};

function roomSocket() {
  return state.joined && state.socket && state.socket.connected ? state.socket : null;
}

function nameOf(userId) {
  if (userId === null || userId === undefined) return "";
  return state.names.get(userId) || t("user {id}", { id: userId });
}

// A hearing has neither panel: nothing about identity or the test is loaded or sent.
ui.review.hidden = HEARING;
ui.events.hidden = HEARING;
const review = HEARING
  ? null
  : new IdentityReview({
      room: ROOM,
      container: ui.review,
      socket: roomSocket,
      nameOf,
      canDecide: COMMISSION,
      onChange: (learnerId, check) => {
        if (check.name && !state.names.has(learnerId)) state.names.set(learnerId, check.name);
        for (const tile of state.tiles.values()) if (tile.info.user_id === learnerId) showIdentity(tile);
      },
    });
const events = HEARING ? null : new EventList({ room: ROOM, container: ui.events, socket: roomSocket, nameOf, canFlag: COMMISSION });
const chat = new RoomChat({ room: ROOM, side: "staff", socket: roomSocket, container: ui.chat });
chat.onIncoming = (message) => {
  if (state.selected && state.selected.user_id === message.learner && !document.hidden) return;
  state.unread.set(message.learner, (state.unread.get(message.learner) || 0) + 1);
  for (const tile of state.tiles.values()) if (tile.info.user_id === message.learner) showUnread(tile);
};

// ---------------------------------------------------------------- status lines

const CONNECTION_TEXT = {
  idle: t("Not in the room"),
  connecting: t("Connecting to the room…"),
  joined: t("In the room; your camera is off"),
  connected: t("In the room: the learners see and hear you"),
  failed: t("Could not join the room"),
};

function setConnection(name, text) {
  ui.connection.dataset.state = name;
  ui.connectionText.textContent = text || CONNECTION_TEXT[name] || "";
}

function setStatus(node, text, kind = "") {
  node.textContent = text || "";
  node.className = `status-line${kind ? ` ${kind}` : ""}`;
}

function signalErrorText(err) {
  const code = err && err.code;
  if (code === "not_found") return t("This room does not exist.");
  if (code === "forbidden") return t("You may not join this room.");
  if (code === "unauthenticated") return t("Your session has ended. Log in again.");
  return t("Could not join the room");
}

// ---------------------------------------------------------------- own camera

async function startCamera() {
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    setStatus(ui.mediaStatus, t("This browser cannot use the camera here. Open the site in a current browser over HTTPS."), "error");
    return;
  }
  ui.cameraBtn.disabled = true;
  setStatus(ui.mediaStatus, t("Turning on the camera and microphone…"));
  let stream;
  try {
    stream = await openCamera();
  } catch (err) {
    const denied = err && (err.name === "NotAllowedError" || err.name === "SecurityError");
    setStatus(
      ui.mediaStatus,
      denied
        ? t("Access to the camera or microphone was denied. Allow it in the browser (the icon in the address bar) and try again.")
        : t("The camera or microphone could not be turned on."),
      "error",
    );
    ui.cameraBtn.hidden = false;
    ui.cameraBtn.disabled = false;
    return;
  }
  stopStream(state.stream);
  state.stream = stream;
  ui.localPlaceholder.hidden = true;
  playStream(ui.localVideo, stream, { muted: true });
  if (state.meter) state.meter.stop();
  state.meter = levelMeter(stream, (level) => {
    ui.meter.value = level;
  });
  state.meter.resume();
  ui.cameraBtn.hidden = true;
  ui.cameraBtn.disabled = false;
  ui.muteBtn.disabled = false;
  setMute(false);
  setStatus(ui.mediaStatus, "");
  if (state.joined) publishOwn();
}

// Two tabs of one person would replace each other's stream on the server again and again:
// the tab that publishes last keeps it, the other one stops sending (it still watches).
const TAB_ID = Math.random().toString(36).slice(2);
const channel = typeof BroadcastChannel === "function" ? new BroadcastChannel(`examroom-commission-${ROOM}`) : null;

if (channel) {
  channel.addEventListener("message", (event) => {
    const data = event.data || {};
    if (data.tab === TAB_ID || data.type !== "publishing" || !state.pc) return;
    state.yielded = true;
    clearTimeout(state.retryTimer);
    dropOwn();
    if (state.joined) setConnection("joined", t("In the room; your camera is sent from another tab"));
    ui.cameraBtn.hidden = false;
  });
}

function setMute(muted) {
  for (const track of state.stream ? state.stream.getAudioTracks() : []) track.enabled = !muted;
  ui.muteBtn.setAttribute("aria-pressed", muted ? "true" : "false");
  ui.muteBtn.textContent = muted ? t("Unmute my microphone") : t("Mute my microphone");
}

async function publishOwn() {
  const run = state.joinRun;
  if (!state.stream || !state.joined || state.yielded) return;
  if (channel) channel.postMessage({ type: "publishing", tab: TAB_ID });
  if (state.stopWatch) state.stopWatch();
  if (state.pc) state.pc.close();
  state.pc = null;
  try {
    const pc = await publish(state.socket, ROOM, state.stream, state.iceServers);
    if (run !== state.joinRun) {
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
        }
      },
      onBroken: () => {
        if (pc === state.pc && !state.yielded) scheduleRetry();
      },
    });
  } catch (err) {
    if (run !== state.joinRun) return;
    if (err instanceof SignalError && !err.retryable) {
      setStatus(ui.mediaStatus, signalErrorText(err), "error");
      return;
    }
    scheduleRetry();
  }
}

// ---------------------------------------------------------------- the room

function connect() {
  const socket = connectProctor();
  state.socket = socket;
  socket.on("connect", () => rejoin());
  socket.on("disconnect", (reason) => {
    if (state.stopped) return;
    state.joined = false;
    dropOwn();
    setConnection("connecting", t("Connection lost. Reconnecting…"));
    if (reason === "io server disconnect") socket.connect();
  });
  socket.on("connect_error", (err) => {
    if (err && err.message === "unauthenticated") {
      stop(signalErrorText({ code: "unauthenticated" }));
      return;
    }
    setConnection("connecting", t("No connection to the server. Reconnecting…"));
  });
  socket.on("state", (data) => {
    if (data && data.room === ROOM && Array.isArray(data.publishers)) showPublishers(data.publishers);
  });
  socket.on("publisher_left", (data) => {
    const person = data && data.publisher;
    if (!person || data.room !== ROOM) return;
    removeTile(person.participant_id);
    if (state.live && state.live.id === person.participant_id) {
      setStatus(ui.liveStatus, t("The learner left the room."), "error");
      closeLiveConnection();
    }
  });
  if (!HEARING) {
    socket.on("identity", (data) => review.update(data));
    socket.on("monitoring", (data) => events.upsert(data));
  }
  chat.attach(socket);
  socket.on("publisher_joined", (data) => {
    const person = data && data.publisher;
    // A learner who comes back (a reload, a network drop) is watched again at once.
    if (person && data.room === ROOM && state.live && state.live.id === person.participant_id && !state.live.pc) {
      openLiveConnection(person.participant_id);
    }
  });
}

async function rejoin() {
  clearTimeout(state.retryTimer);
  const run = ++state.joinRun;
  state.joined = false;
  dropOwn();
  setConnection("connecting");
  try {
    const ack = await request(state.socket, "join", { room: ROOM });
    if (run !== state.joinRun) return;
    state.joined = true;
    state.participantId = ack.participant_id;
    state.iceServers = ack.ice_servers || [];
    showPublishers(ack.publishers || []);
    if (!HEARING) Promise.all([review.load(), events.load()]).then(() => events.refreshNames());
    if (state.selected) chat.open(state.selected.user_id);
    if (state.yielded) setConnection("joined", t("In the room; your camera is sent from another tab"));
    else setConnection("joined", state.stream ? t("Connecting to the room…") : CONNECTION_TEXT.joined);
    if (state.stream) await publishOwn();
    if (state.live) openLiveConnection(state.live.id);
  } catch (err) {
    if (run !== state.joinRun) return;
    if (err instanceof SignalError && !err.retryable) {
      stop(signalErrorText(err));
      return;
    }
    scheduleRetry();
  }
}

function scheduleRetry() {
  clearTimeout(state.retryTimer);
  const delay = state.backoff.next();
  setConnection("connecting", t("Connection lost. Reconnecting in {seconds} s…", { seconds: Math.ceil(delay / 1000) }));
  state.retryTimer = setTimeout(() => {
    if (state.stopped) return;
    if (state.socket.connected) rejoin();
    else state.socket.connect();
  }, delay);
}

function dropOwn() {
  if (state.stopWatch) state.stopWatch();
  state.stopWatch = null;
  if (state.pc) state.pc.close();
  state.pc = null;
}

function stop(message) {
  state.stopped = true;
  clearTimeout(state.retryTimer);
  dropOwn();
  closeLiveConnection();
  if (state.socket) state.socket.disconnect();
  setConnection("failed");
  showAlert(ui.error, message);
}

// ---------------------------------------------------------------- the grid of learners

function stateBadges(info) {
  const connection = info.connection || "new";
  const linkOk = connection === "connected";
  const badge = (ok, text, kind) => el("span", { className: `badge state-badge ${ok ? "is-ok" : "is-bad"}`, dataset: { kind }, text });
  return [
    badge(linkOk, linkOk ? t("Connected") : t("No connection"), "connection"),
    badge(Boolean(info.video_live), info.video_live ? t("Camera works") : t("No video"), "video"),
    badge(Boolean(info.audio_live), info.audio_live ? t("Microphone works") : t("No sound"), "audio"),
  ];
}

/** A tile of the grid; a member's tile (a hearing's other members) is only watched. */
function makeTile(info, member = false) {
  const img = el("img", { className: "thumb", alt: t("Camera of {name}", { name: info.name }), hidden: true, attrs: { width: "320", height: "240" } });
  const placeholder = el("span", { className: "thumb-placeholder", text: t("No picture yet") });
  const name = el("span", { className: "tile-name", text: info.name });
  const states = el("span", { className: "tile-states" });
  const button = el(
    "button",
    {
      type: "button",
      className: "tile-button",
      attrs: { "aria-label": t("Open the live video of {name}", { name: info.name }), "aria-haspopup": "dialog" },
      on: { click: () => openLive(info.participant_id) },
    },
    el("span", { className: "thumb-frame" }, img, placeholder),
    name,
    states,
  );
  const identity = el("span", { className: "badge identity-badge" });
  const unread = el("span", { className: "badge unread-badge", hidden: true });
  const choose = el("button", {
    type: "button",
    className: "button small tile-choose",
    text: t("Choose"),
    hidden: member,
    attrs: {
      "aria-pressed": "false",
      "aria-label": HEARING ? t("Messages with {name}", { name: info.name }) : t("Choose {name}: identity check, messages, flags", { name: info.name }),
    },
    on: { click: () => selectLearner(info.participant_id) },
  });
  if (member) identity.hidden = true;
  const item = el(
    "li",
    { className: member ? "learner-tile member-tile" : "learner-tile", dataset: { participant: info.participant_id } },
    button,
    el("p", { className: "tile-extra" }, identity, unread, choose),
  );
  return { item, button, img, placeholder, name, states, info, identity, unread, choose, member, url: null, loading: false, lastOk: 0 };
}

function showIdentity(tile) {
  if (!review) {
    tile.identity.hidden = true;
    return;
  }
  const status = review.statusOf(tile.info.user_id);
  tile.item.dataset.identity = status;
  tile.identity.textContent = statusLabel(status);
  tile.identity.className = `badge identity-badge is-${status}`;
  tile.identity.hidden = review.mode === "off";
}

function showUnread(tile) {
  const count = state.unread.get(tile.info.user_id) || 0;
  tile.unread.hidden = count === 0;
  tile.unread.textContent = t("{n} new", { n: count });
}

/** Choose a learner: their identity check, the chat with them and flags. */
function selectLearner(id) {
  const tile = state.tiles.get(id);
  if (!tile) return;
  const learner = { user_id: tile.info.user_id, participant_id: id, name: tile.info.name };
  const changed = !state.selected || state.selected.user_id !== learner.user_id;
  state.selected = learner;
  for (const other of state.tiles.values()) {
    const chosen = other === tile;
    other.item.classList.toggle("is-selected", chosen);
    other.choose.setAttribute("aria-pressed", chosen ? "true" : "false");
  }
  state.unread.delete(learner.user_id);
  showUnread(tile);
  ui.chatWith.textContent = t("Messages with {name}", { name: learner.name });
  if (review) review.select(learner);
  if (events) events.select(learner);
  if (changed && roomSocket()) chat.open(learner.user_id);
  (HEARING ? ui.chat : ui.review).scrollIntoView({ block: "nearest" });
}

/** Whether a publisher has a tile among the members (a hearing's other members). */
function isMember(info) {
  return HEARING && ui.memberGrid !== null && info.role === "commission" && info.participant_id !== state.participantId;
}

function showPublishers(publishers) {
  const shown = publishers.filter((p) => p.role === "learner" || isMember(p));
  const seen = new Set();
  for (const info of shown) {
    seen.add(info.participant_id);
    let tile = state.tiles.get(info.participant_id);
    if (!tile) {
      const member = isMember(info);
      tile = makeTile(info, member);
      state.tiles.set(info.participant_id, tile);
      (member ? ui.memberGrid : ui.grid).append(tile.item);
      refreshThumbnail(tile);
    }
    tile.info = info;
    tile.name.textContent = info.name;
    state.names.set(info.user_id, info.name);
    if (!tile.member) {
      showIdentity(tile);
      showUnread(tile);
    }
    replace(tile.states, ...stateBadges(info));
    tile.item.dataset.connection = info.connection || "";
    tile.item.dataset.video = info.video_live ? "live" : "lost";
    tile.item.dataset.audio = info.audio_live ? "live" : "lost";
    if (state.live && state.live.id === info.participant_id) replace(ui.liveStates, ...stateBadges(info));
  }
  for (const id of [...state.tiles.keys()]) if (!seen.has(id)) removeTile(id);
  showCount();
  for (const person of publishers) state.names.set(person.user_id, person.name);
  const staff = publishers.filter((p) => p.role !== "learner" && p.participant_id !== state.participantId && !isMember(p)).map((p) => p.name);
  ui.staffList.textContent = staff.length ? t("Also on camera: {names}", { names: staff.join(", ") }) : "";
}

function removeTile(id) {
  const tile = state.tiles.get(id);
  if (!tile) return;
  state.tiles.delete(id);
  if (tile.url) URL.revokeObjectURL(tile.url);
  tile.item.remove();
  showCount();
}

/** The number of learners in the grid (members' tiles are not counted). */
function showCount() {
  let learners = 0;
  for (const tile of state.tiles.values()) if (!tile.member) learners += 1;
  ui.count.textContent = String(learners);
  ui.empty.hidden = learners > 0;
}

/** Fetch the learner's latest thumbnail (never from a cache) and show it when it loads. */
async function refreshThumbnail(tile) {
  if (tile.loading || !state.joined) return;
  tile.loading = true;
  const id = tile.info.participant_id;
  const url = `/api/rooms/${encodeURIComponent(ROOM)}/publishers/${encodeURIComponent(id)}/thumbnail.jpg?t=${Date.now()}`;
  try {
    const response = await fetch(url, { credentials: "same-origin", cache: "no-store" });
    if (!response.ok) throw new Error(`thumbnail: HTTP ${response.status}`);
    const blob = await response.blob();
    if (state.tiles.get(id) !== tile) return;
    const objectUrl = URL.createObjectURL(blob);
    const previous = tile.url;
    tile.url = objectUrl;
    tile.img.src = objectUrl;
    await tile.img.decode().catch(() => {});
    if (previous) URL.revokeObjectURL(previous);
    tile.img.hidden = false;
    tile.placeholder.hidden = true;
    tile.lastOk = Date.now();
  } catch {
    // No keyframe yet, or the learner is reconnecting: keep the last picture a while.
    if (Date.now() - tile.lastOk > 3 * THUMBNAIL_MS) {
      tile.img.hidden = true;
      tile.placeholder.hidden = false;
    }
  } finally {
    tile.loading = false;
  }
}

function refreshThumbnails() {
  if (document.hidden) return;
  for (const tile of state.tiles.values()) refreshThumbnail(tile);
}

// ---------------------------------------------------------------- live view

function openLive(id) {
  const tile = state.tiles.get(id);
  if (!tile) return;
  closeLiveConnection();
  state.live = { id, pc: null, stopWatch: null, retry: null, returnFocus: tile.button };
  ui.liveTitle.textContent = tile.info.name;
  replace(ui.liveStates, ...stateBadges(tile.info));
  setStatus(ui.liveStatus, "");
  ui.livePlaceholder.hidden = false;
  ui.liveSoundActions.hidden = true;
  if (!ui.dialog.open) ui.dialog.showModal();
  ui.liveClose.focus();
  state.meter && state.meter.resume();
  openLiveConnection(id);
}

async function openLiveConnection(id) {
  const live = state.live;
  if (!live || live.id !== id || !state.joined) return;
  const run = ++state.liveRun;
  clearTimeout(live.retry);
  if (live.stopWatch) live.stopWatch();
  if (live.pc) live.pc.close();
  live.pc = null;
  setStatus(ui.liveStatus, t("Connecting…"));
  try {
    const { pc, stream } = await subscribe(state.socket, ROOM, id, state.iceServers);
    if (run !== state.liveRun || state.live !== live) {
      pc.close();
      return;
    }
    live.pc = pc;
    live.stopWatch = watchConnection(pc, {
      onChange: (connectionState) => {
        if (connectionState === "connected") setStatus(ui.liveStatus, "");
      },
      onBroken: () => {
        if (state.live !== live) return;
        setStatus(ui.liveStatus, t("Connection lost. Reconnecting…"), "error");
        live.retry = setTimeout(() => openLiveConnection(id), 2000);
      },
    });
    ui.liveVideo.addEventListener("playing", () => (ui.livePlaceholder.hidden = true), { once: true });
    const withSound = await playStream(ui.liveVideo, stream, { muted: false });
    if (!withSound && state.live === live) ui.liveSoundActions.hidden = false;
  } catch (err) {
    if (run !== state.liveRun || state.live !== live) return;
    if (err instanceof SignalError && err.code === "unknown_publisher") {
      setStatus(ui.liveStatus, t("The learner is not on camera now."), "error");
      return;
    }
    setStatus(ui.liveStatus, t("Connection lost. Reconnecting…"), "error");
    live.retry = setTimeout(() => openLiveConnection(id), 3000);
  }
}

/** Stop receiving the learner (the dialog, if open, stays). */
function closeLiveConnection() {
  const live = state.live;
  if (!live) return;
  state.liveRun += 1;
  clearTimeout(live.retry);
  if (live.stopWatch) live.stopWatch();
  live.stopWatch = null;
  if (live.pc) {
    live.pc.close();
    live.pc = null;
    if (state.socket && state.socket.connected) {
      request(state.socket, "unsubscribe", { room: ROOM, publisher: live.id }, 5000).catch(() => {});
    }
  }
  ui.liveVideo.srcObject = null;
}

function closeLive() {
  const live = state.live;
  closeLiveConnection();
  state.live = null;
  if (ui.dialog.open) ui.dialog.close();
  const tile = live && state.tiles.get(live.id);
  if (tile) tile.button.focus();
}

// ---------------------------------------------------------------- start

ui.cameraBtn.addEventListener("click", () => {
  state.yielded = false;
  if (state.stream && state.stream.getTracks().every((track) => track.readyState === "live")) {
    ui.cameraBtn.hidden = true;
    publishOwn();
  } else startCamera();
});
ui.muteBtn.addEventListener("click", () => setMute(ui.muteBtn.getAttribute("aria-pressed") !== "true"));
ui.liveClose.addEventListener("click", closeLive);
// Escape closes a modal dialog by itself: stop receiving then too.
ui.dialog.addEventListener("close", () => {
  if (state.live) closeLive();
});
ui.liveSoundBtn.addEventListener("click", () => {
  ui.liveVideo.muted = false;
  ui.liveVideo.play().catch(() => {});
  ui.liveSoundActions.hidden = true;
});
document.addEventListener("click", () => state.meter && state.meter.resume(), { once: true });
document.addEventListener("visibilitychange", refreshThumbnails);
window.addEventListener("pagehide", () => {
  state.stopped = true;
  if (state.socket) state.socket.disconnect();
});

setConnection("connecting");
setInterval(refreshThumbnails, THUMBNAIL_MS);
try {
  connect();
} catch (err) {
  stop(signalErrorText(err));
}
startCamera();
