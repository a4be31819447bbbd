// Staff: commissions per program with their term and seats, whether each may sit today
// (B 3.8, 3.11), and the form that forms a new one (managers).

import { api, errorText } from "./api.js";
import { byId, el, replace, showAlert } from "./dom.js";
import { t } from "./i18n.js";

const root = byId("attestation-commissions");
const manager = root.dataset.manager === "1";
const pageError = byId("page-error");

const SEATS = [
  ["chair", t("chair")],
  ["secretary", t("secretary")],
  ["member", t("member of the commission")],
];

const SEAT_ORDER = SEATS.map(([value]) => value);

// The rule functions' explanations (English in the API) in the page's language.
const PROBLEMS = {
  "a person holds more than one seat": t("a person holds more than one seat"),
  "a commission has at least 3 members": t("a commission has at least 3 members"),
  "a commission has exactly one chair": t("a commission has exactly one chair"),
  "a commission has exactly one secretary": t("a commission has exactly one secretary"),
  "the appeal commission is chaired by the deputy director": t("the appeal commission is chaired by the deputy director"),
};

const FIELDS = {
  title: t("Title"),
  program_id: t("Program"),
  starts_on: t("Acts from"),
  ends_on: t("Acts until"),
  order_date: t("Order date"),
  members: t("Members and seats"),
  kind: t("Kind of commission"),
};

function problemText(problem) {
  return Object.prototype.hasOwnProperty.call(PROBLEMS, problem) ? PROBLEMS[problem] : problem;
}

/** The reasons a commission may not sit today, in the page's language. */
function reasons(standing) {
  const out = standing.problems.map(problemText);
  if (standing.term === "not_started") out.push(t("its term has not begun yet"));
  if (standing.term === "ended") out.push(t("its term is over"));
  return out;
}

/** The list of an API error's explanations (rules broken, fields) for the form. */
function formErrors(err) {
  const body = err && err.body;
  if (body && body.rule && typeof body.message === "string") {
    if (body.rule.startsWith("B3.11")) return [t("A commission acts for at most one year (B 3.11).")];
    const point = body.rule.split("-")[0].replace(/^B/, "");
    return body.message.split("; ").map((m) => `${problemText(m)} (${t("item {point} of the regulation", { point })})`);
  }
  if (body && body.field && Object.prototype.hasOwnProperty.call(FIELDS, body.field)) {
    return [t("Check the field “{field}”.", { field: FIELDS[body.field] }), errorText(err)];
  }
  return [errorText(err)];
}

function memberList(commission) {
  return el(
    "ul",
    { className: "seat-list" },
    [...commission.members].sort((a, b) => SEAT_ORDER.indexOf(a.role) - SEAT_ORDER.indexOf(b.role)).map((m) =>
      el(
        "li",
        { dataset: { seat: m.role, userId: String(m.user_id) } },
        el("span", { className: `seat seat-${m.role}`, text: m.role_title }),
        " ",
        m.full_name,
      ),
    ),
  );
}

function standingLine(standing) {
  if (!standing) return el("p", { className: "muted", text: t("Unknown") });
  if (standing.can_sit) {
    return el("p", { className: "badge badge-approved can-sit", dataset: { canSit: "1" }, text: t("May sit today") });
  }
  return el(
    "div",
    { className: "cannot-sit", dataset: { canSit: "0" } },
    el("p", { className: "badge badge-draft", text: t("May not sit today") }),
    el("ul", { className: "reasons" }, reasons(standing).map((r) => el("li", { text: r }))),
  );
}

function commissionCard(commission, standing) {
  const kind = commission.kind === "appeal" ? t("appeal commission") : t("attestation commission");
  const order = commission.order_number
    ? t("Order No. {number} of {date}", { number: commission.order_number, date: commission.order_date || "—" })
    : t("No order recorded");
  return el(
    "article",
    { className: "card commission-card", dataset: { commissionId: String(commission.id) } },
    el("h4", { text: commission.title }),
    el("p", { className: "muted", text: `${kind} · ${order}` }),
    el("p", { className: "term", text: t("Term: {from} — {to}", { from: commission.starts_on, to: commission.ends_on }) }),
    memberList(commission),
    standingLine(standing),
  );
}

async function loadList(programs) {
  const box = byId("commission-list");
  const [commissions, standings] = await Promise.all([
    api("GET", "/api/attestation/commissions"),
    api("GET", "/api/attestation/commission-standing"),
  ]);
  box.removeAttribute("aria-busy");
  if (!commissions.length) {
    replace(box, el("p", { className: "muted", text: t("No commissions yet.") }));
    return;
  }
  const byCommission = new Map(standings.map((s) => [s.commission_id, s]));
  const titles = new Map(programs.map((p) => [p.id, `${p.code} — ${p.title}`]));
  const programIds = [...new Set(commissions.map((c) => c.program_id))];
  replace(
    box,
    programIds.map((pid) =>
      el(
        "section",
        { className: "program-commissions", dataset: { programId: String(pid) } },
        el("h3", { text: titles.get(pid) || t("Program {id}", { id: String(pid) }) }),
        el(
          "div",
          { className: "commission-cards" },
          commissions.filter((c) => c.program_id === pid).map((c) => commissionCard(c, byCommission.get(c.id))),
        ),
      ),
    ),
  );
}

function memberRow(staff, role) {
  const person = el(
    "select",
    { className: "member-person", attrs: { "aria-label": t("Staff member") } },
    el("option", { value: "", text: t("— choose —") }),
    staff.map((u) => el("option", { value: String(u.id), text: u.full_name || u.username })),
  );
  const seat = el(
    "select",
    { className: "member-seat", attrs: { "aria-label": t("Seat") } },
    SEATS.map(([value, title]) => el("option", { value, text: title, selected: value === role })),
  );
  const row = el(
    "li",
    { className: "member-row" },
    person,
    seat,
    el("button", { type: "button", className: "button remove-member", text: t("Remove"), on: { click: () => row.remove() } }),
  );
  return row;
}

function iso(date) {
  return `${date.getFullYear()}-${String(date.getMonth() + 1).padStart(2, "0")}-${String(date.getDate()).padStart(2, "0")}`;
}

async function setUpForm(programs) {
  const form = byId("new-commission-form");
  const result = byId("new-commission-result");
  const staff = await api("GET", "/api/attestation/staff");
  replace(form.program_id, programs.map((p) => el("option", { value: String(p.id), text: `${p.code} — ${p.title}` })));
  const rows = byId("nc-members");
  for (const role of ["chair", "secretary", "member"]) rows.append(memberRow(staff, role));
  byId("nc-add-member").addEventListener("click", () => rows.append(memberRow(staff, "member")));
  // The institution's date by the server's clock (the browser's may differ).
  form.starts_on.value = root.dataset.today || iso(new Date());
  form.kind.addEventListener("change", () => {
    byId("nc-deputy-field").hidden = form.kind.value !== "appeal";
  });

  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const members = [];
    const local = [];
    for (const row of rows.querySelectorAll(".member-row")) {
      const person = row.querySelector(".member-person").value;
      if (!person) {
        local.push(t("Choose a person in every member row or remove the row."));
        continue;
      }
      members.push({ user_id: Number(person), role: row.querySelector(".member-seat").value });
    }
    if (!form.title.value.trim()) local.push(t("Give the commission a title."));
    if (!form.starts_on.value) local.push(t("Give the first day of the term."));
    if (local.length) {
      replace(result, el("div", { className: "alert alert-error form-errors" }, el("ul", {}, local.map((m) => el("li", { text: m })))));
      return;
    }
    const body = {
      kind: form.kind.value,
      program_id: Number(form.program_id.value),
      title: form.title.value,
      starts_on: form.starts_on.value,
      members,
      chair_is_deputy_director: form.kind.value === "appeal" && form.chair_is_deputy_director.checked,
    };
    if (form.ends_on.value) body.ends_on = form.ends_on.value;
    if (form.order_number.value) body.order_number = form.order_number.value;
    if (form.order_date.value) body.order_date = form.order_date.value;
    try {
      const made = await api("POST", "/api/attestation/commissions", { json: body });
      replace(
        result,
        el("p", { className: "alert alert-ok", text: t("The commission is formed: term {from} — {to}.", { from: made.starts_on, to: made.ends_on }) }),
      );
      await loadList(programs);
    } catch (err) {
      replace(
        result,
        el(
          "div",
          { className: "alert alert-error form-errors" },
          el("p", { text: t("The commission is not formed:") }),
          el("ul", {}, formErrors(err).map((m) => el("li", { text: m }))),
        ),
      );
    }
  });
}

// Until the form is wired (its lists load first), a submit must not leave the page.
for (const form of document.querySelectorAll("#new-commission-form")) {
  form.addEventListener("submit", (e) => e.preventDefault());
}

async function main() {
  try {
    const programs = await api("GET", "/api/programs");
    await loadList(programs);
    if (manager) await setUpForm(programs);
    root.dataset.ready = "1";
  } catch (err) {
    showAlert(pageError, errorText(err));
  }
}

main();
