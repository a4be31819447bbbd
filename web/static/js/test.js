// The test page: one attempt, answers saved as they are chosen, a synced countdown.
//
// Saves go over the socket.io /quiz namespace when it is connected and over
// HTTP PUT otherwise; both are acknowledged only after the server's commit. Until then
// an answer waits in the pending queue in localStorage (see savequeue.js).
//
// The page tells the learner's video room tab whether it is in view (presence.js): the
// room tab reports a hidden test tab or an unfocused window to the commission.

import { ApiError, api, errorText, refreshCsrfToken } from "./api.js";
import { ServerClock } from "./clock.js";
import { byId, el, replace, showAlert } from "./dom.js";
import { formLabel, formatClock, formatMinutes, formatPercent, scaleLabel } from "./format.js";
import { t } from "./i18n.js";
import { Presence } from "./presence.js";
import { PendingStore, SaveQueue } from "./savequeue.js";

const root = byId("test-app");
const testId = Number(root.dataset.testId);
const LEASE_KEY = `examroom.lease.${testId}`;
const ACK_TIMEOUT_MS = 8000;
const SYNC_EVERY_MS = 30000;
const ANNOUNCE_AT = [300, 60]; // seconds left: 5 minutes and 1 minute

const nodes = {
  loading: byId("loading"),
  loadError: byId("load-error"),
  loadErrorText: byId("load-error-text"),
  inUse: byId("in-use"),
  takeoverBtn: byId("takeover-btn"),
  takeoverError: byId("takeover-error"),
  blocked: byId("blocked"),
  blockedTakeoverBtn: byId("blocked-takeover-btn"),
  attempt: byId("attempt"),
  title: byId("test-title"),
  meta: byId("test-meta"),
  timer: byId("timer"),
  timerBox: byId("timer-box"),
  announce: byId("timer-announce"),
  progressText: byId("progress-text"),
  progressFill: byId("progress-fill"),
  endProgress: byId("end-progress"),
  qnav: byId("qnav-list"),
  questions: byId("questions"),
  connBanner: byId("conn-banner"),
  timeUp: byId("time-up"),
  sessionBanner: byId("session-banner"),
  submitBtn: byId("submit-btn"),
  submitBtnBottom: byId("submit-btn-bottom"),
  dialog: byId("confirm-dialog"),
  confirmText: byId("confirm-text"),
  confirmError: byId("confirm-error"),
  confirmSubmit: byId("confirm-submit"),
  result: byId("result"),
  review: byId("review"),
  reviewTitle: byId("review-title"),
};

const state = {
  test: null, // the test as /api/tests lists it (title, form, …)
  attemptId: null,
  lease: null,
  questions: [], // [{id, position, options, row, nav, stateNode, inputs}]
  byId: new Map(),
  store: null,
  queue: null,
  socket: null,
  clock: new ServerClock(),
  tickTimer: null,
  syncTimer: null,
  probeTimer: null,
  probeDelay: 1000,
  lastLeft: null,
  announced: new Set(),
  netOk: true,
  timeUp: false,
  blocked: false,
  finished: false,
};

// ---------------------------------------------------------------- storage helpers

function sessionGet(key) {
  try {
    return window.sessionStorage.getItem(key);
  } catch {
    return null;
  }
}

function sessionSet(key, value) {
  try {
    if (value) window.sessionStorage.setItem(key, value);
    else window.sessionStorage.removeItem(key);
  } catch {
    /* the lease then lives only as long as this page */
  }
}

// ---------------------------------------------------------------- panels

function showOnly(panel) {
  for (const node of [nodes.loading, nodes.loadError, nodes.inUse, nodes.attempt, nodes.result]) {
    node.hidden = node !== panel;
  }
}

function showLoadError(message) {
  nodes.loadErrorText.textContent = message;
  showOnly(nodes.loadError);
}

function loginUrl() {
  return `/login?next=${encodeURIComponent(location.pathname)}`;
}

// ---------------------------------------------------------------- start

async function loadTestInfo() {
  try {
    const tests = await api("GET", "/api/tests");
    state.test = tests.find((x) => x.id === testId) || null;
  } catch {
    state.test = null;
  }
  if (state.test) {
    document.title = `${state.test.title} · examroom`;
    nodes.title.textContent = state.test.title;
    nodes.meta.textContent = [
      formLabel(state.test.form),
      t("scale: {scale}", { scale: scaleLabel(state.test.scale) }),
      t("time limit {time}", { time: formatMinutes(state.test.time_limit_s) }),
    ].join(" · ");
    const resultTest = document.getElementById("result-test");
    if (resultTest) resultTest.textContent = state.test.title;
  }
}

async function openAttempt(takeover) {
  const lease = sessionGet(LEASE_KEY);
  const body = {};
  if (lease) body.lease = lease;
  if (takeover) body.takeover = true;
  return api("POST", `/api/tests/${testId}/attempts`, { json: body });
}

async function start() {
  const info = loadTestInfo();
  let attempt;
  try {
    attempt = await openAttempt(false);
  } catch (err) {
    await info;
    if (err instanceof ApiError && err.code === "attempt_in_use") {
      showOnly(nodes.inUse);
      nodes.takeoverBtn.focus();
      return;
    }
    if (err instanceof ApiError && err.code === "unauthenticated") {
      location.assign(loginUrl());
      return;
    }
    if (err instanceof ApiError && err.code === "identity_not_confirmed") {
      showLoadError(t("The commission has not confirmed your identity yet. Go through the identity check in the video room and wait for the confirmation, then open the test again."));
      return;
    }
    showLoadError(errorText(err));
    return;
  }
  await info;
  enter(attempt);
}

async function takeOver(button, errorNode) {
  button.disabled = true;
  showAlert(errorNode, "");
  try {
    const attempt = await openAttempt(true);
    if (attempt.lease) sessionSet(LEASE_KEY, attempt.lease);
    if (state.attemptId === null) {
      enter(attempt);
    } else {
      // This page already ran the attempt before it was switched off: start afresh.
      location.reload();
    }
  } catch (err) {
    button.disabled = false;
    showAlert(errorNode, errorText(err));
  }
}

function enter(attempt) {
  state.attemptId = attempt.attempt_id;
  if (attempt.status !== "active") {
    new PendingStore(attempt.attempt_id).clear(); // nothing can be saved any more
    showResult(attempt, attempt);
    return;
  }
  state.lease = attempt.lease || sessionGet(LEASE_KEY);
  sessionSet(LEASE_KEY, state.lease);
  state.store = new PendingStore(state.attemptId);
  state.queue = new SaveQueue({
    store: state.store,
    send: sendSave,
    onState: setQuestionState,
    onSaved: (questionId, optionId, reply) => {
      state.clock.sync(reply.server_time, reply.deadline);
      clearSessionProblem();
      setNet(true);
    },
    onFailure: (err) => {
      if (err.code === "unauthenticated" || err.code === "csrf") showSessionProblem();
      else setNet(false);
    },
    onFatal: handleFatal,
  });
  state.clock.sync(attempt.server_time, attempt.deadline);
  renderAttempt(attempt);
  showOnly(nodes.attempt);
  restorePending(attempt);
  updateProgress();
  startTimer();
  connectSocket();
  window.addEventListener("online", onOnline);
  window.addEventListener("offline", onOffline);
  window.addEventListener("beforeunload", onBeforeUnload);
  if (navigator.onLine === false) setNet(false);
  state.queue.kick();
}

// ---------------------------------------------------------------- rendering

function renderAttempt(attempt) {
  const total = attempt.questions.length;
  const items = [];
  const navItems = [];
  for (const question of attempt.questions) {
    const name = `q${question.id}`;
    const stateNode = el("p", { className: "save-state", id: `state-${question.id}` });
    const inputs = [];
    const options = question.options.map((option) => {
      const input = el("input", {
        type: "radio",
        name,
        value: String(option.id),
        checked: option.id === question.option_id,
        attrs: { "aria-describedby": stateNode.id },
        on: { change: () => choose(question.id, option.id) },
      });
      inputs.push(input);
      return el("label", { className: "option" }, input, el("span", { className: "option-text", text: option.text }));
    });
    const fieldset = el(
      "fieldset",
      {},
      el(
        "legend",
        {},
        el("span", { className: "q-number", text: t("Question {n} of {total}", { n: question.position, total }) }),
        el("span", { className: "q-text", text: question.text }),
      ),
      el("div", { className: "options" }, options),
      stateNode,
    );
    const row = el("li", { className: "question", id: `q-${question.position}`, dataset: { questionId: String(question.id) } }, fieldset);
    const navLabel = el("span", { className: "visually-hidden" });
    const nav = el(
      "a",
      { className: "qnav-item", href: `#q-${question.position}`, on: { click: (event) => jumpTo(event, question) } },
      el("span", { className: "visually-hidden", text: t("Question") + " " }),
      String(question.position),
      navLabel,
    );
    const entry = { ...question, row, nav, navLabel, stateNode, inputs, fieldset };
    state.questions.push(entry);
    state.byId.set(question.id, entry);
    items.push(row);
    navItems.push(el("li", {}, nav));
    setQuestionState(question.id, question.option_id === null ? "empty" : "saved");
  }
  replace(nodes.questions, items);
  replace(nodes.qnav, navItems);
  for (const button of [nodes.submitBtn, nodes.submitBtnBottom]) button.addEventListener("click", openConfirm);
}

function jumpTo(event, question) {
  event.preventDefault();
  const entry = state.byId.get(question.id);
  if (!entry) return;
  entry.row.scrollIntoView({ block: "start", behavior: "smooth" });
  const target = entry.inputs.find((input) => input.checked) || entry.inputs[0];
  if (target) target.focus({ preventScroll: true });
  history.replaceState(null, "", `#q-${question.position}`);
}

function restorePending(attempt) {
  const serverChoice = new Map(attempt.questions.map((q) => [q.id, q.option_id]));
  for (const [key, entry] of Object.entries(state.store.all())) {
    const questionId = Number(key);
    const question = state.byId.get(questionId);
    if (!question || !question.options.some((o) => o.id === entry.option_id)) {
      state.store.remove(questionId); // not part of this attempt (any more)
      continue;
    }
    if (serverChoice.get(questionId) === entry.option_id) {
      state.store.remove(questionId); // saved before the acknowledgement was lost
      continue;
    }
    for (const input of question.inputs) input.checked = Number(input.value) === entry.option_id;
    setQuestionState(questionId, "pending");
  }
}

const STATE_TEXT = {
  empty: "",
  pending: t("Not saved yet"),
  saving: t("Saving…"),
  saved: t("Answer saved"),
  error: t("The answer was not accepted"),
};

const NAV_TEXT = {
  empty: t(": no answer"),
  pending: t(": answer not saved yet"),
  saving: t(": answer being saved"),
  saved: t(": answer saved"),
  error: t(": answer not accepted"),
};

function setQuestionState(questionId, value, err) {
  const entry = state.byId.get(questionId);
  if (!entry) return;
  entry.row.dataset.state = value;
  entry.nav.dataset.state = value;
  entry.navLabel.textContent = NAV_TEXT[value] || "";
  let text = STATE_TEXT[value] || "";
  if (value === "error" && err) text = `${text}: ${errorText(err)}`;
  entry.stateNode.textContent = text;
}

function answeredCount() {
  return state.questions.filter((q) => q.inputs.some((input) => input.checked)).length;
}

function updateProgress() {
  const total = state.questions.length;
  const answered = answeredCount();
  const text = t("Answered {n} of {total}", { n: answered, total });
  nodes.progressText.textContent = text;
  nodes.endProgress.textContent = text;
  nodes.progressFill.style.width = total ? `${(100 * answered) / total}%` : "0";
}

// ---------------------------------------------------------------- answering

function choose(questionId, optionId) {
  if (state.blocked || state.finished || state.timeUp) return;
  state.queue.enqueue(questionId, optionId);
  updateProgress();
}

function ackError(ack) {
  const code = (ack && ack.error) || "internal";
  const statuses = {
    unauthenticated: 401,
    forbidden: 403,
    not_found: 404,
    invalid: 422,
    bad_request: 400,
    bad_event: 400,
    unavailable: 503,
    internal: 500,
  };
  return new ApiError(statuses[code] ?? 409, code, (ack && ack.message) || code, ack);
}

async function sendSave(questionId, optionId) {
  if (navigator.onLine === false) throw new ApiError(0, "network", "the browser is offline");
  const payload = { attempt_id: state.attemptId, question_id: questionId, option_id: optionId, lease: state.lease };
  const socket = state.socket;
  if (socket && socket.connected) {
    let ack = null;
    try {
      ack = await socket.timeout(ACK_TIMEOUT_MS).emitWithAck("save", payload);
    } catch {
      ack = null; // no acknowledgement in time: try once more over HTTP below
    }
    if (ack && ack.saved) return ack;
    if (ack) throw ackError(ack);
  }
  const put = () =>
    api("PUT", `/api/attempts/${state.attemptId}/answers/${questionId}`, {
      json: { option_id: optionId, lease: state.lease },
      timeout: 10000,
    });
  try {
    return await put();
  } catch (err) {
    // Logged in again elsewhere: the session (and its CSRF token) changed under this page.
    if (err instanceof ApiError && err.code === "csrf" && (await refreshCsrfToken())) return put();
    throw err;
  }
}

function handleFatal(err) {
  if (err.code === "attempt_in_use") {
    becomeBlocked();
    return;
  }
  // The attempt is closed (submitted or out of time): show what the server has.
  refreshAttempt();
}

// ---------------------------------------------------------------- connection state

function setNet(ok) {
  if (state.netOk === ok) return;
  state.netOk = ok;
  // The banner is a polite status region: its text changes only when the state does.
  nodes.connBanner.textContent = ok ? "" : t("No connection — answers will be saved when the connection is restored");
  if (!ok) scheduleProbe();
}

function scheduleProbe() {
  if (state.probeTimer !== null || state.finished || state.blocked) return;
  state.probeTimer = setTimeout(probe, state.probeDelay);
}

async function probe() {
  state.probeTimer = null;
  if (state.netOk || state.finished || state.blocked) {
    state.probeDelay = 1000;
    return;
  }
  if (navigator.onLine !== false) {
    try {
      const t0 = performance.now();
      const me = await api("GET", "/api/me", { timeout: 5000 });
      state.clock.sync(me.server_time, null, performance.now() - t0);
      state.probeDelay = 1000;
      if (state.queue.pendingIds().length) state.queue.kick(); // a save will prove it
      else setNet(true);
      return;
    } catch (err) {
      if (err instanceof ApiError && (err.code === "unauthenticated" || err.code === "csrf")) {
        showSessionProblem();
      }
    }
  }
  state.probeDelay = Math.min(state.probeDelay * 2, 15000);
  scheduleProbe();
}

function showSessionProblem() {
  if (nodes.sessionBanner.childNodes.length) return;
  replace(
    nodes.sessionBanner,
    t("Your session has ended. Answers that are not saved yet are kept in this browser."),
    " ",
    el("a", { href: loginUrl(), text: t("Log in again") }),
  );
}

function clearSessionProblem() {
  if (nodes.sessionBanner.childNodes.length) replace(nodes.sessionBanner);
}

function onOnline() {
  if (state.finished || state.blocked) return;
  if (state.socket && !state.socket.connected) state.socket.connect();
  state.probeDelay = 1000;
  state.queue.kick();
  if (!state.netOk && state.probeTimer === null) scheduleProbe();
}

function onOffline() {
  if (state.finished || state.blocked) return;
  // The socket may not notice for a while; the browser knows it is offline now.
  if (state.socket) state.socket.disconnect();
  setNet(false);
}

function onBeforeUnload(event) {
  if (!state.finished && !state.blocked && state.queue && state.queue.pendingIds().length) {
    // The answers stay in localStorage anyway; this only warns about leaving offline.
    event.preventDefault();
  }
}

// ---------------------------------------------------------------- socket.io

function connectSocket() {
  if (typeof globalThis.io !== "function") return; // HTTP saves only
  const socket = globalThis.io("/quiz", {
    transports: ["websocket", "polling"],
    tryAllTransports: true,
    reconnectionDelayMax: 5000,
  });
  state.socket = socket;
  socket.on("connect", onSocketConnect);
  socket.on("disconnect", (reason) => {
    if (state.finished || state.blocked) return;
    if (reason !== "io client disconnect") setNet(false);
  });
  socket.on("taken_over", (data) => {
    if (data && data.attempt_id === state.attemptId) checkHolder();
  });
  socket.on("submitted", (data) => {
    if (data && data.attempt_id === state.attemptId && !state.finished) refreshAttempt();
  });
}

async function join() {
  const socket = state.socket;
  const t0 = performance.now();
  const ack = await socket.timeout(ACK_TIMEOUT_MS).emitWithAck("join", { attempt_id: state.attemptId, lease: state.lease });
  if (ack && !ack.error) state.clock.sync(ack.server_time, ack.deadline, performance.now() - t0);
  return ack;
}

async function onSocketConnect() {
  if (state.finished || state.blocked) return;
  let ack;
  try {
    ack = await join();
  } catch {
    return; // no answer in time; the saves fall back to HTTP
  }
  if (!ack || ack.error) return;
  if (ack.status !== "active") {
    refreshAttempt();
    return;
  }
  if (!ack.holder) {
    becomeBlocked();
    return;
  }
  setNet(true);
  state.queue.kick();
}

async function checkHolder() {
  if (state.finished || state.blocked) return;
  try {
    const ack = await join();
    if (ack && !ack.error && ack.status === "active" && !ack.holder) becomeBlocked();
  } catch {
    /* the next save will tell */
  }
}

async function periodicSync() {
  const socket = state.socket;
  if (!socket || !socket.connected || state.finished) return;
  const t0 = performance.now();
  try {
    const ack = await socket.timeout(5000).emitWithAck("sync", {});
    if (ack && ack.server_time) state.clock.sync(ack.server_time, null, performance.now() - t0);
  } catch {
    /* the next save or reconnect syncs again */
  }
}

// ---------------------------------------------------------------- timer

function startTimer() {
  tick();
  state.tickTimer = setInterval(tick, 250);
  state.syncTimer = setInterval(periodicSync, SYNC_EVERY_MS);
}

function stopTimers() {
  clearInterval(state.tickTimer);
  clearInterval(state.syncTimer);
  clearTimeout(state.probeTimer);
  state.tickTimer = state.syncTimer = state.probeTimer = null;
}

function tick() {
  const left = state.clock.secondsLeft();
  if (left === null) return;
  const whole = Math.ceil(left);
  const text = formatClock(whole);
  if (nodes.timer.textContent !== text) nodes.timer.textContent = text;
  nodes.timerBox.classList.toggle("warning", whole <= 300);
  nodes.timerBox.classList.toggle("danger", whole <= 60);
  for (const mark of ANNOUNCE_AT) {
    if (whole <= mark && !state.announced.has(mark)) {
      state.announced.add(mark);
      // Announce only when crossing the mark on this page, not when opening late.
      if (state.lastLeft !== null && state.lastLeft > mark) {
        nodes.announce.textContent = mark >= 120
          ? t("{n} minutes left", { n: Math.round(mark / 60) })
          : t("One minute left");
      }
    }
  }
  state.lastLeft = whole;
  if (left <= 0 && !state.timeUp) onTimeUp();
}

function setInputsDisabled(disabled) {
  for (const question of state.questions) question.fieldset.disabled = disabled;
  nodes.submitBtn.disabled = disabled;
  nodes.submitBtnBottom.disabled = disabled;
}

function onTimeUp() {
  state.timeUp = true;
  setInputsDisabled(true);
  if (nodes.dialog.open) nodes.dialog.close();
  nodes.timeUp.textContent = t("Time is up. The test is being submitted, please wait…");
  nodes.announce.textContent = t("Time is up.");
  state.queue.kick(); // answers in flight are still accepted for a few seconds
  pollUntilSubmitted(3000);
}

function pollUntilSubmitted(delay) {
  setTimeout(async () => {
    if (state.finished) return;
    const attempt = await refreshAttempt();
    if (!state.finished) pollUntilSubmitted(attempt ? 2000 : 4000);
  }, delay);
}

/** Reload the attempt from the server; shows the result once it is submitted. */
async function refreshAttempt() {
  if (state.attemptId === null) return null;
  try {
    const attempt = await api("GET", `/api/attempts/${state.attemptId}`);
    state.clock.sync(attempt.server_time, attempt.deadline);
    if (attempt.status !== "active") showResult(attempt, attempt);
    return attempt;
  } catch (err) {
    if (err instanceof ApiError && err.retryable) setNet(false);
    return null;
  }
}

// ---------------------------------------------------------------- taken over

function becomeBlocked() {
  if (state.blocked || state.finished) return;
  state.blocked = true;
  state.queue.stop();
  stopTimers();
  if (state.socket) state.socket.disconnect();
  if (nodes.dialog.open) nodes.dialog.close();
  setInputsDisabled(true);
  nodes.attempt.inert = true;
  nodes.attempt.classList.add("is-blocked");
  nodes.blocked.hidden = false;
  nodes.blockedTakeoverBtn.focus();
}

// ---------------------------------------------------------------- submitting

function openConfirm() {
  if (state.blocked || state.finished || state.timeUp) return;
  const total = state.questions.length;
  const answered = answeredCount();
  const pending = state.queue.pendingIds().length;
  const lines = [el("p", { text: t("You answered {n} of {total} questions.", { n: answered, total }) })];
  if (answered < total) {
    lines.push(el("p", { className: "warning-text", text: t("Questions without an answer: {n}. They will be counted as wrong.", { n: total - answered }) }));
  }
  if (pending) {
    lines.push(el("p", { className: "warning-text", text: t("Some answers are not saved yet; they will be sent first.") }));
  }
  lines.push(el("p", { text: t("After submitting you cannot change the answers.") }));
  replace(nodes.confirmText, lines);
  showAlert(nodes.confirmError, "");
  nodes.confirmSubmit.disabled = false;
  nodes.dialog.showModal();
}

async function submitAttempt() {
  nodes.confirmSubmit.disabled = true;
  showAlert(nodes.confirmError, "");
  nodes.confirmSubmit.textContent = t("Submitting…");
  try {
    const drained = await state.queue.drain(10000);
    if (!drained) {
      showAlert(nodes.confirmError, t("Not all answers are saved yet. Check the connection and try again."));
      return;
    }
    const reply = await api("POST", `/api/attempts/${state.attemptId}/submit`, { json: { lease: state.lease } });
    if (nodes.dialog.open) nodes.dialog.close();
    let attempt = null;
    try {
      attempt = await api("GET", `/api/attempts/${state.attemptId}`);
    } catch {
      attempt = null; // the result alone is enough; the review needs the attempt
    }
    showResult(reply, attempt);
  } catch (err) {
    if (err instanceof ApiError && err.code === "attempt_in_use") {
      if (nodes.dialog.open) nodes.dialog.close();
      becomeBlocked();
      return;
    }
    showAlert(nodes.confirmError, errorText(err));
  } finally {
    nodes.confirmSubmit.disabled = false;
    nodes.confirmSubmit.textContent = t("Finish and submit");
  }
}

// ---------------------------------------------------------------- result

function showResult(summary, attempt) {
  if (state.finished) {
    if (attempt && attempt.questions && !nodes.review.childNodes.length) renderReview(attempt);
    return;
  }
  state.finished = true;
  if (state.queue) state.queue.stop();
  if (state.store) state.store.clear();
  stopTimers();
  if (state.socket) state.socket.disconnect();
  sessionSet(LEASE_KEY, null);
  window.removeEventListener("beforeunload", onBeforeUnload);
  if (nodes.dialog.open) nodes.dialog.close();
  nodes.blocked.hidden = true;
  const result = summary.result !== undefined ? summary.result : summary;
  if (result && result.percent !== undefined && result.percent !== null) {
    byId("result-percent").textContent = formatPercent(result.percent);
    byId("result-mark").textContent = result.mark_title;
    byId("result-correct").textContent = `${result.correct} / ${result.total}`;
    byId("result-scale").textContent = `${t("Scale")}: ${scaleLabel(result.scale)}`;
    nodes.result.classList.toggle("failed", result.passed === false);
  }
  const by = result && result.submitted_by;
  byId("result-by").textContent = by === "deadline" ? t("The test was submitted automatically when the time ran out.") : "";
  if (attempt && attempt.questions) renderReview(attempt);
  showOnly(nodes.result);
  nodes.result.focus();
}

function renderReview(attempt) {
  const total = attempt.questions.length;
  const items = attempt.questions.map((question) => {
    const chosen = question.option_id;
    const right = question.correct_option_id;
    const verdict = chosen === null ? "unanswered" : chosen === right ? "correct" : "wrong";
    const verdictText = { unanswered: t("No answer"), correct: t("Correct"), wrong: t("Wrong") }[verdict];
    const options = question.options.map((option) => {
      const tags = [];
      if (option.id === chosen) tags.push(el("span", { className: "tag tag-chosen", text: t("Your answer") }));
      if (option.id === right) tags.push(el("span", { className: "tag tag-correct", text: t("Correct answer") }));
      const classes = ["review-option"];
      if (option.id === right) classes.push("is-correct");
      if (option.id === chosen) classes.push("is-chosen");
      return el("li", { className: classes.join(" ") }, el("span", { className: "option-text", text: option.text }), ...tags);
    });
    return el(
      "li",
      { className: `question review-item review-${verdict}` },
      el(
        "div",
        { className: "review-head" },
        el("span", { className: "q-number", text: t("Question {n} of {total}", { n: question.position, total }) }),
        el("span", { className: `verdict verdict-${verdict}`, text: verdictText }),
      ),
      el("p", { className: "q-text", text: question.text }),
      el("ul", { className: "review-options" }, options),
      question.explanation ? el("p", { className: "explanation" }, el("strong", { text: `${t("Explanation")}: ` }), question.explanation) : null,
    );
  });
  replace(nodes.review, items);
  nodes.reviewTitle.hidden = items.length === 0;
}

// ---------------------------------------------------------------- wiring

nodes.takeoverBtn.addEventListener("click", () => takeOver(nodes.takeoverBtn, nodes.takeoverError));
nodes.blockedTakeoverBtn.addEventListener("click", () => takeOver(nodes.blockedTakeoverBtn, byId("blocked-error")));
nodes.confirmSubmit.addEventListener("click", submitAttempt);
nodes.dialog.addEventListener("close", () => {
  if (!state.finished && !state.blocked && !state.timeUp) nodes.submitBtn.focus();
});

// The room of this test (see proctor.access.room_of_test): the room tab listens there.
new Presence(`test-${testId}`);
start().catch((err) => showLoadError(errorText(err)));
