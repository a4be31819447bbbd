// The personal account: tests with their schedule, current results and the archive.

import { api, errorText } from "./api.js";
import { byId, el, replace, showAlert } from "./dom.js";
import {
  formLabel,
  formatDateTime,
  formatMinutes,
  formatPercent,
  scaleLabel,
  windowLabel,
  windowRange,
} from "./format.js";
import { t } from "./i18n.js";

const root = byId("account");
const role = root.dataset.role;
const isLearner = role === "learner";
const ANALYSTS = new Set(["instructor", "head", "admin", "auditor"]);
// Who enters a test's live video room (learners publish; the commission watches them).
const ROOM_ROLES = new Set(["learner", "commission", "admin", "support"]);
// Who may replay a session's recordings and evidence (recordings/routes.py REPLAYERS).
const REPLAY_ROLES = new Set(["auditor", "admin", "commission"]);

function fact(label, value) {
  return [el("dt", { text: label }), el("dd", { text: value })];
}

function attemptLine(test) {
  const attempt = test.attempt;
  if (!attempt) return null;
  if (attempt.status === "active") {
    return el("p", { className: "state state-active", text: t("In progress, until {time}", { time: formatDateTime(attempt.deadline) }) });
  }
  const result = attempt.result;
  if (result) {
    return el("p", {
      className: `state ${result.passed ? "state-passed" : "state-failed"}`,
      text: t("Finished: {mark}, {percent}", { mark: result.mark_title, percent: formatPercent(result.percent) }),
    });
  }
  return el("p", { className: "state", text: t("Finished") });
}

function actionFor(test) {
  const href = `/tests/${test.id}`;
  if (!isLearner) {
    if (!ANALYSTS.has(role)) return null;
    return el("a", {
      className: "button",
      href: `/instructor/tests/${test.id}/analysis`,
      text: t("Item analysis"),
      attrs: { "aria-label": `${t("Item analysis")}: ${test.title}` },
    });
  }
  const attempt = test.attempt;
  // The visible text names the action; the accessible name adds the test's title.
  const link = (text, className) =>
    el("a", { className, href, text, attrs: { "aria-label": `${text}: ${test.title}` } });
  if (attempt && attempt.status === "active") return link(t("Continue"), "button primary");
  if (attempt) return link(t("View the result"), "button");
  if (test.window === "open") return link(t("Start"), "button primary");
  if (test.window === "upcoming") return el("p", { className: "muted", text: t("Not open yet") });
  return el("p", { className: "muted", text: t("Closed") });
}

function roomLink(test) {
  if (!ROOM_ROLES.has(role) || test.window === "closed") return null;
  const text = t("Video room");
  return el("a", { className: "button", href: `/rooms/test-${test.id}`, text, attrs: { "aria-label": `${text}: ${test.title}` } });
}

function replayLink(test) {
  if (!REPLAY_ROLES.has(role) || test.window === "upcoming") return null;
  const text = t("Session replay");
  return el("a", { className: "button subtle", href: `/recordings/test-${test.id}`, text, attrs: { "aria-label": `${text}: ${test.title}` } });
}

function testCard(test) {
  const range = windowRange(test.opens_at, test.closes_at);
  const windowText = range ? `${windowLabel(test.window)}, ${range}` : windowLabel(test.window);
  return el(
    "article",
    { className: `test-card window-${test.window}`, dataset: { testId: String(test.id) } },
    el("h3", { text: test.title }),
    el(
      "dl",
      { className: "facts" },
      fact(t("Form"), formLabel(test.form)),
      fact(t("Scale"), scaleLabel(test.scale)),
      fact(t("Time limit"), formatMinutes(test.time_limit_s)),
      fact(t("Questions"), String(test.questions)),
      fact(t("Availability"), windowText),
    ),
    attemptLine(test),
    el("div", { className: "card-actions" }, actionFor(test), roomLink(test), replayLink(test)),
  );
}

function resultsTable(results, caption) {
  if (!results.length) return el("p", { className: "muted empty", text: t("No results yet.") });
  const head = el(
    "tr",
    {},
    ...[t("Test"), t("Date"), t("Correct answers"), t("Result"), t("Mark"), t("Scale")].map((text) =>
      el("th", { attrs: { scope: "col" }, text }),
    ),
  );
  const rows = results.map((r) =>
    el(
      "tr",
      { className: r.passed ? "passed" : "failed" },
      el("th", { attrs: { scope: "row" } }, el("a", { href: `/tests/${r.test_id}`, text: r.test_title })),
      el("td", { className: "nowrap", text: formatDateTime(r.submitted_at) }),
      el("td", { className: "num", text: `${r.correct} / ${r.total}` }),
      el("td", { className: "num", text: formatPercent(r.percent) }),
      el("td", {}, el("span", { className: `mark ${r.passed ? "mark-passed" : "mark-failed"}`, text: r.mark_title })),
      el("td", { text: scaleLabel(r.scale) }),
    ),
  );
  return el(
    "div",
    { className: "table-wrap", attrs: { role: "region", "aria-label": caption, tabindex: "0" } },
    el("table", { className: "table" }, el("caption", { className: "visually-hidden", text: caption }), el("thead", {}, head), el("tbody", {}, ...rows)),
  );
}

function done(node, ...children) {
  replace(node, ...children);
  node.setAttribute("aria-busy", "false");
}

async function main() {
  const testsNode = byId("tests");
  const errorNode = byId("page-error");
  try {
    const [tests, results] = await Promise.all([
      api("GET", "/api/tests"),
      isLearner ? api("GET", "/api/results") : Promise.resolve([]),
    ]);
    done(
      testsNode,
      tests.length ? tests.map(testCard) : el("p", { className: "muted empty", text: t("There are no tests for you yet.") }),
    );
    if (isLearner) {
      const current = new Set(tests.filter((x) => x.window !== "closed").map((x) => x.id));
      done(byId("current-results"), resultsTable(results.filter((r) => current.has(r.test_id)), t("Results of the current attestation")));
      done(byId("archive"), resultsTable(results, t("Archive of results")));
    }
  } catch (err) {
    showAlert(errorNode, errorText(err));
    done(testsNode);
    for (const id of ["current-results", "archive"]) {
      const node = document.getElementById(id);
      if (node) done(node);
    }
  }
}

main();
