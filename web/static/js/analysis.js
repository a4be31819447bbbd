// Item analysis of one test: KR-20, facility, discrimination and option shares.

import { api, errorText } from "./api.js";
import { byId, el, replace, showAlert } from "./dom.js";
import { formatPercent, formatRatio } from "./format.js";
import { t } from "./i18n.js";

const root = byId("analysis");
const testId = Number(root.dataset.testId);

const LOW_FACILITY = 0.2;
const HIGH_FACILITY = 0.9;
const LOW_DISCRIMINATION = 0.2;

/** Why a question deserves a look, as translated phrases (empty when it is fine). */
function problems(item) {
  const out = [];
  if (item.presented > 0 && item.facility < LOW_FACILITY) out.push(t("too hard (facility below 0.2)"));
  if (item.presented > 0 && item.facility > HIGH_FACILITY) out.push(t("too easy (facility above 0.9)"));
  if (item.discrimination !== null && item.discrimination < LOW_DISCRIMINATION) {
    out.push(t("weak discrimination (below 0.2)"));
  }
  return out;
}

function stat(label, value, hint) {
  return el(
    "div",
    { className: "stat" },
    el("dt", { text: label }),
    el("dd", {}, el("span", { className: "stat-value", text: value }), hint ? el("span", { className: "stat-hint muted", text: hint }) : null),
  );
}

function shareBar(option) {
  const share = Math.max(0, Math.min(1, Number(option.share) || 0));
  const fill = el("span", { className: "bar-fill" });
  // A CSSOM property, not a style attribute: allowed by the page's CSP.
  fill.style.width = `${(share * 100).toFixed(1)}%`;
  const label =
    option.option_id === null ? t("No answer") : option.text || t("Option #{id}", { id: option.option_id });
  const classes = ["share"];
  if (option.correct) classes.push("share-correct");
  if (option.option_id === null) classes.push("share-none");
  return el(
    "li",
    { className: classes.join(" ") },
    el(
      "span",
      { className: "share-label" },
      el("span", { text: label }),
      option.correct ? el("span", { className: "tag tag-correct", text: t("correct") }) : null,
    ),
    el("span", { className: "bar", attrs: { "aria-hidden": "true" } }, fill),
    el("span", { className: "share-value", text: formatPercent(share * 100) }),
  );
}

function itemCard(item, index) {
  const flags = problems(item);
  return el(
    "li",
    { className: `analysis-item${flags.length ? " flagged" : ""}`, dataset: { questionId: String(item.question_id) } },
    el(
      "div",
      { className: "item-head" },
      el("span", { className: "q-number", text: t("Question {n}", { n: index + 1 }) }),
      flags.length ? el("span", { className: "badge badge-flag", text: t("Needs review") }) : null,
    ),
    el("p", { className: "q-text", text: item.text }),
    el(
      "dl",
      { className: "item-stats" },
      stat(t("Facility"), formatRatio(item.facility)),
      stat(t("Discrimination"), formatRatio(item.discrimination)),
      stat(t("Presented"), String(item.presented)),
      stat(t("Answered"), String(item.answered)),
    ),
    flags.length ? el("p", { className: "flag-reasons" }, `${t("Check this question")}: ${flags.join("; ")}.`) : null,
    el("h3", { className: "visually-hidden", text: t("Option shares") }),
    el("ul", { className: "shares" }, item.options.map(shareBar)),
  );
}

async function main() {
  const loading = byId("loading");
  try {
    const [data, tests] = await Promise.all([api("GET", `/api/tests/${testId}/analysis`), api("GET", "/api/tests").catch(() => [])]);
    const test = tests.find((x) => x.id === testId);
    if (test) {
      byId("analysis-test").textContent = test.title;
      document.title = `${t("Item analysis")}: ${test.title} · examroom`;
    }
    const kr20Hint = data.kr20 === null ? t("not enough data") : t("over {n} common questions", { n: data.kr20_items });
    replace(
      byId("stats"),
      stat(t("Submitted attempts"), String(data.attempts)),
      stat(t("KR-20 reliability"), formatRatio(data.kr20), kr20Hint),
      stat(t("Mean score"), formatRatio(data.mean_score)),
      stat(t("Score variance"), formatRatio(data.score_variance)),
    );
    byId("summary").hidden = false;
    const items = byId("items");
    if (data.items.length) {
      replace(items, data.items.map(itemCard));
    } else {
      replace(items, el("li", { className: "muted empty", text: t("No submitted attempts yet, so there is nothing to analyse.") }));
    }
    byId("items-section").hidden = false;
  } catch (err) {
    showAlert(byId("page-error"), errorText(err));
  } finally {
    loading.hidden = true;
  }
}

main();
