// Staff page: question banks (approval), importing questions, creating tests, the tests.

import { ApiError, api, errorText } from "./api.js";
import { byId, el, replace, showAlert } from "./dom.js";
import { formLabel, formatDateTime, formatMinutes, scaleLabel, windowLabel } from "./format.js";
import { t } from "./i18n.js";

const root = byId("instructor");
const canAuthor = root.dataset.canAuthor === "1";
const pageError = byId("page-error");
let programs = [];

const BANK_STATUS = { draft: t("Draft"), approved: t("Approved") };

// ---------------------------------------------------------------- banks

function bankRow(bank) {
  const counts = bank.questions || {};
  const drafts = counts.draft || 0;
  const program = programs.find((p) => p.id === bank.program_id);
  let action = null;
  if (canAuthor && (bank.status !== "approved" || drafts > 0)) {
    action = el("button", {
      type: "button",
      className: "button small",
      text: t("Approve"),
      attrs: { "aria-label": `${t("Approve")}: ${bank.title}` },
      on: { click: (event) => approve(bank, event.currentTarget) },
    });
  }
  return el(
    "tr",
    { dataset: { bankId: String(bank.id) } },
    el("th", { attrs: { scope: "row" } }, el("span", { className: "cell-title", text: bank.title }), program ? el("span", { className: "cell-sub muted", text: program.code }) : null),
    el("td", {}, el("span", { className: `badge badge-${bank.status}`, text: BANK_STATUS[bank.status] || bank.status })),
    el("td", { className: "num", text: String(counts.approved || 0) }),
    el("td", { className: "num", text: String(drafts) }),
    el("td", { className: "num", text: String(counts.retired || 0) }),
    el("td", { text: formatDateTime(bank.approved_at) || "—" }),
    el("td", {}, action),
  );
}

async function loadBanks() {
  const node = byId("banks");
  try {
    const banks = await api("GET", "/api/banks");
    if (!banks.length) {
      replace(node, el("p", { className: "muted empty", text: t("There are no question banks yet.") }));
    } else {
      const head = [t("Bank"), t("Status"), t("Approved questions"), t("Drafts"), t("Retired"), t("Approved on"), t("Action")];
      replace(
        node,
        el(
          "div",
          { className: "table-wrap", attrs: { role: "region", "aria-labelledby": "banks-title", tabindex: "0" } },
          el(
            "table",
            { className: "table", id: "banks-table" },
            el("thead", {}, el("tr", {}, head.map((text) => el("th", { attrs: { scope: "col" }, text })))),
            el("tbody", {}, banks.map(bankRow)),
          ),
        ),
      );
    }
  } catch (err) {
    replace(node, el("p", { className: "alert alert-error", attrs: { role: "alert" }, text: errorText(err) }));
  }
  node.setAttribute("aria-busy", "false");
}

async function approve(bank, button) {
  const status = byId("bank-status");
  button.disabled = true;
  status.className = "status-line";
  status.textContent = "";
  try {
    await api("POST", `/api/banks/${bank.id}/approve`, { json: {} });
    status.classList.add("ok");
    status.textContent = t("Bank “{title}” is approved.", { title: bank.title });
    await loadBanks();
  } catch (err) {
    button.disabled = false;
    status.classList.add("error");
    status.textContent =
      err instanceof ApiError && err.code === "forbidden"
        ? `${t("Only the head of courses can approve question banks.")} (${err.message})`
        : errorText(err);
  }
}

// ---------------------------------------------------------------- programs

function fillProgramSelects() {
  for (const select of document.querySelectorAll("select[data-programs]")) {
    replace(select, programs.map((p) => el("option", { value: String(p.id), text: `${p.code} — ${p.title}` })));
  }
}

function renderSections() {
  const node = document.getElementById("create-sections");
  const select = document.getElementById("create-program");
  if (!node || !select) return;
  const program = programs.find((p) => String(p.id) === select.value);
  if (!program || !program.sections.length) {
    replace(node, el("p", { className: "muted", text: t("This program has no sections yet. Import questions first.") }));
    return;
  }
  replace(
    node,
    program.sections.map((section) =>
      el(
        "div",
        { className: "field" },
        el("label", { attrs: { for: `section-${section.id}` }, text: section.title }),
        el("input", {
          id: `section-${section.id}`,
          type: "number",
          min: "0",
          max: "500",
          step: "1",
          value: "0",
          attrs: { inputmode: "numeric" },
          dataset: { sectionId: String(section.id) },
        }),
      ),
    ),
  );
}

// ---------------------------------------------------------------- import

function lineList(title, entries, className) {
  if (!entries.length) return null;
  return el(
    "div",
    { className },
    el("h3", { text: title }),
    el(
      "ul",
      { className: "line-list" },
      entries.map((entry) =>
        el("li", {}, el("span", { className: "line-no", text: t("line {n}", { n: entry.line }) }), " ", el("span", { text: entry.reason })),
      ),
    ),
  );
}

async function submitImport(event) {
  event.preventDefault();
  const form = event.currentTarget;
  const out = byId("import-result");
  const fileInput = byId("import-file");
  if (!fileInput.files || !fileInput.files.length) {
    replace(out, el("p", { className: "alert alert-error", text: t("Choose a file to import.") }));
    fileInput.focus();
    return;
  }
  const data = new FormData();
  data.append("file", fileInput.files[0]);
  data.append("program_id", byId("import-program").value);
  const format = byId("import-format").value;
  if (format) data.append("format", format);
  const title = byId("import-title").value.trim();
  if (title) data.append("title", title);
  const dryRun = byId("import-dry-run").checked;
  if (dryRun) data.append("dry_run", "1");
  const button = byId("import-submit");
  button.disabled = true;
  replace(out, el("p", { className: "muted", text: t("Importing…") }));
  try {
    const report = await api("POST", "/api/banks/import", { form: data, timeout: 120000 });
    const summary = report.dry_run
      ? t("Dry run: {n} questions can be imported. Nothing was saved.", { n: report.imported })
      : report.bank_id
        ? t("Imported {n} questions into draft bank #{bank}.", { n: report.imported, bank: report.bank_id })
        : t("No questions were imported.");
    replace(
      out,
      el("p", { className: `alert ${report.imported ? "alert-ok" : "alert-warning"}`, id: "import-summary", text: summary }),
      report.skipped.length
        ? el("p", { text: t("Skipped questions: {n}.", { n: report.skipped.length }) })
        : el("p", { className: "muted", text: t("No questions were skipped.") }),
      lineList(t("Skipped"), report.skipped, "report-block skipped"),
      lineList(t("Warnings"), report.warnings, "report-block warnings"),
    );
    if (!report.dry_run) {
      form.reset();
      await Promise.all([loadBanks(), loadPrograms()]);
    }
  } catch (err) {
    replace(out, el("p", { className: "alert alert-error", text: errorText(err) }));
  } finally {
    button.disabled = false;
  }
}

// ---------------------------------------------------------------- create a test

async function submitCreate(event) {
  event.preventDefault();
  const out = byId("create-result");
  const sections = {};
  for (const input of document.querySelectorAll("#create-sections input[data-section-id]")) {
    const count = Number.parseInt(input.value, 10);
    if (count > 0) sections[input.dataset.sectionId] = count;
  }
  const title = byId("create-title-input").value.trim();
  const minutes = Number.parseInt(byId("create-minutes").value, 10);
  const groupRaw = byId("create-group").value.trim();
  const problems = [];
  if (!title) problems.push(t("Enter a title."));
  if (!(minutes >= 1 && minutes <= 1440)) problems.push(t("The time limit must be between 1 and 1440 minutes."));
  if (!Object.keys(sections).length) problems.push(t("Choose how many questions to take from at least one section."));
  if (groupRaw && !/^\d+$/.test(groupRaw)) problems.push(t("The group id must be a number."));
  if (problems.length) {
    replace(out, el("div", { className: "alert alert-error" }, problems.map((p) => el("p", { text: p }))));
    return;
  }
  const body = {
    program_id: Number(byId("create-program").value),
    title,
    form: byId("create-form-of").value,
    time_limit_minutes: minutes,
    sections,
  };
  if (groupRaw) body.group_id = Number(groupRaw);
  const button = byId("create-submit");
  button.disabled = true;
  try {
    const created = await api("POST", "/api/tests", { json: body });
    replace(
      out,
      el(
        "p",
        { className: "alert alert-ok" },
        t("Test #{id} is created.", { id: created.id }),
        " ",
        el("a", { href: `/instructor/tests/${created.id}/analysis`, text: t("Item analysis") }),
      ),
    );
    await loadTests();
  } catch (err) {
    replace(out, el("p", { className: "alert alert-error", text: errorText(err) }));
  } finally {
    button.disabled = false;
  }
}

// ---------------------------------------------------------------- tests

async function loadTests() {
  const node = byId("tests");
  try {
    const tests = await api("GET", "/api/tests");
    if (!tests.length) {
      replace(node, el("p", { className: "muted empty", text: t("There are no tests yet.") }));
    } else {
      const head = [t("Test"), t("Form"), t("Questions"), t("Time limit"), t("Availability"), t("Analysis")];
      replace(
        node,
        el(
          "div",
          { className: "table-wrap", attrs: { role: "region", "aria-labelledby": "tests-title", tabindex: "0" } },
          el(
            "table",
            { className: "table" },
            el("thead", {}, el("tr", {}, head.map((text) => el("th", { attrs: { scope: "col" }, text })))),
            el(
              "tbody",
              {},
              tests.map((test) =>
                el(
                  "tr",
                  {},
                  el("th", { attrs: { scope: "row" }, text: test.title }),
                  el("td", {}, formLabel(test.form), el("span", { className: "cell-sub muted", text: t("scale: {scale}", { scale: scaleLabel(test.scale) }) })),
                  el("td", { className: "num", text: String(test.questions) }),
                  el("td", { text: formatMinutes(test.time_limit_s) }),
                  el("td", { text: windowLabel(test.window) }),
                  el(
                    "td",
                    {},
                    el("a", {
                      href: `/instructor/tests/${test.id}/analysis`,
                      text: t("Item analysis"),
                      attrs: { "aria-label": `${t("Item analysis")}: ${test.title}` },
                    }),
                  ),
                ),
              ),
            ),
          ),
        ),
      );
    }
  } catch (err) {
    replace(node, el("p", { className: "alert alert-error", attrs: { role: "alert" }, text: errorText(err) }));
  }
  node.setAttribute("aria-busy", "false");
}

async function loadPrograms() {
  const selected = {};
  for (const select of document.querySelectorAll("select[data-programs]")) selected[select.id] = select.value;
  programs = await api("GET", "/api/programs");
  fillProgramSelects();
  for (const [id, value] of Object.entries(selected)) {
    const select = document.getElementById(id);
    if (select && value && programs.some((p) => String(p.id) === value)) select.value = value;
  }
  renderSections();
}

async function main() {
  try {
    await loadPrograms();
  } catch (err) {
    showAlert(pageError, errorText(err));
  }
  if (canAuthor) {
    byId("import-form").addEventListener("submit", submitImport);
    byId("create-form").addEventListener("submit", submitCreate);
    byId("create-program").addEventListener("change", renderSections);
  }
  await Promise.all([loadBanks(), loadTests()]);
}

main();
