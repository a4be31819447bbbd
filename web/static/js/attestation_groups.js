// Staff: groups, their learners and who completed the program (B 2.1).

import { api, errorText } from "./api.js";
import { byId, el, replace, showAlert } from "./dom.js";
import { t } from "./i18n.js";

const root = byId("attestation-groups");
const manager = root.dataset.manager === "1";
const recorder = root.dataset.recorder === "1";
const pageError = byId("page-error");
let current = null;

function note(box, text, ok = true) {
  replace(box, el("p", { className: `alert ${ok ? "alert-success" : "alert-error"}`, text }));
}

async function loadGroups() {
  const box = byId("groups");
  const groups = await api("GET", "/api/attestation/groups");
  box.removeAttribute("aria-busy");
  if (!groups.length) {
    replace(box, el("p", { className: "muted", text: t("No groups yet.") }));
    return groups;
  }
  const rows = groups.map((group) =>
    el(
      "tr",
      { dataset: { groupId: String(group.id) } },
      el("td", {}, el("button", { type: "button", className: "button small", text: group.code, on: { click: () => showGroup(group.id) } })),
      el("td", { text: group.title }),
      el("td", { className: "num", text: String(group.completed) }),
    ),
  );
  replace(
    box,
    el(
      "table",
      { className: "table" },
      el("thead", {}, el("tr", {}, el("th", { text: t("Code") }), el("th", { text: t("Title") }), el("th", { text: t("Completed the program") }))),
      el("tbody", {}, rows),
    ),
  );
  return groups;
}

function learnerRow(group, learner) {
  const name = learner.full_name || learner.username;
  const done = el("input", {
    type: "checkbox",
    checked: learner.completed,
    disabled: !recorder,
    attrs: { "aria-label": t("{name} completed the program", { name }) },
    on: {
      change: async (e) => {
        try {
          render(await api("PUT", `/api/attestation/groups/${group.id}/learners/${learner.id}`, { json: { completed: e.target.checked } }));
          await loadGroups();
        } catch (err) {
          e.target.checked = !e.target.checked;
          note(byId("group-result"), errorText(err), false);
        }
      },
    },
  });
  const withdraw = manager
    ? el("button", {
        type: "button",
        className: "button small",
        text: t("Withdraw"),
        on: {
          click: async () => {
            try {
              render(await api("DELETE", `/api/attestation/groups/${group.id}/learners/${learner.id}`));
              await loadGroups();
            } catch (err) {
              note(byId("group-result"), errorText(err), false);
            }
          },
        },
      })
    : null;
  return el(
    "tr",
    { dataset: { userId: String(learner.id), completed: learner.completed ? "1" : "0" } },
    el("td", { text: name }),
    el("td", { text: learner.username }),
    el("td", {}, done),
    el("td", {}, withdraw),
  );
}

function render(group) {
  current = group;
  byId("group-section").hidden = false;
  byId("group-title").textContent = t("Group {code}", { code: group.code });
  byId("enroll-form").hidden = !manager;
  const box = byId("group-learners");
  if (!group.learners.length) {
    replace(box, el("p", { className: "muted", text: t("Nobody is enrolled yet.") }));
    return;
  }
  replace(
    box,
    el(
      "table",
      { className: "table", id: "learners-table" },
      el("thead", {}, el("tr", {}, el("th", { text: t("Learner") }), el("th", { text: t("Login") }), el("th", { text: t("Completed the program") }), el("th", {}))),
      el("tbody", {}, group.learners.map((learner) => learnerRow(group, learner))),
    ),
  );
}

async function showGroup(id) {
  try {
    render(await api("GET", `/api/attestation/groups/${id}`));
    byId("group-section").scrollIntoView({ block: "nearest" });
  } catch (err) {
    showAlert(pageError, errorText(err));
  }
}

async function setUpForms() {
  byId("create-group-section").hidden = false;
  const programs = await api("GET", "/api/programs");
  replace(byId("group-program"), programs.map((p) => el("option", { value: String(p.id), text: `${p.code} — ${p.title}` })));
  byId("group-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const form = e.target;
    try {
      const group = await api("POST", "/api/attestation/groups", {
        json: { program_id: Number(form.program_id.value), code: form.code.value, title: form.title.value },
      });
      note(byId("create-result"), t("The group is created."));
      form.reset();
      await loadGroups();
      render(group);
    } catch (err) {
      note(byId("create-result"), errorText(err), false);
    }
  });
  byId("enroll-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const form = e.target;
    if (!current) return;
    try {
      render(await api("POST", `/api/attestation/groups/${current.id}/learners`, { json: { username: form.username.value } }));
      note(byId("group-result"), t("The learner is enrolled."));
      form.reset();
      await loadGroups();
    } catch (err) {
      note(byId("group-result"), errorText(err), false);
    }
  });
}

for (const form of document.querySelectorAll("#group-form, #enroll-form")) {
  form.addEventListener("submit", (e) => e.preventDefault());
}

async function main() {
  try {
    await loadGroups();
    if (manager) await setUpForms();
    root.dataset.ready = "1";
  } catch (err) {
    showAlert(pageError, errorText(err));
  }
}

main();
