// Staff: attestation events (list, scheduling with the notice-period override) and commissions.

import { api, errorText } from "./api.js";
import { byId, el, replace, showAlert } from "./dom.js";
import { formatDateTime } from "./format.js";
import { t } from "./i18n.js";

const root = byId("attestation-staff");
const manager = root.dataset.manager === "1";
const register = root.dataset.register === "1";
const pageError = byId("page-error");

function remoteLabel(event) {
  return event.remote ? t("remote") : event.place;
}

async function loadEvents() {
  const box = byId("events");
  const events = await api("GET", "/api/attestation/events");
  box.removeAttribute("aria-busy");
  if (!events.length) {
    replace(box, el("p", { className: "muted", text: t("No events yet.") }));
    return;
  }
  const rows = events.map((event) =>
    el(
      "tr",
      { dataset: { eventId: String(event.id) } },
      el("td", {}, el("a", { href: `/attestation/events/${event.id}`, text: event.title })),
      el("td", { className: "nowrap", text: formatDateTime(event.starts_at) }),
      el("td", { text: event.form_title }),
      el("td", { text: remoteLabel(event) }),
      el("td", { text: event.notice_override ? t("notice overridden: {reason}", { reason: event.notice_override }) : "" }),
      el("td", { text: event.status }),
    ),
  );
  replace(
    box,
    el(
      "table",
      { className: "table" },
      el(
        "thead",
        {},
        el(
          "tr",
          {},
          el("th", { text: t("Event") }),
          el("th", { text: t("Date and time") }),
          el("th", { text: t("Form of assessment") }),
          el("th", { text: t("Place") }),
          el("th", { text: t("Notice") }),
          el("th", { text: t("Status") }),
        ),
      ),
      el("tbody", {}, rows),
    ),
  );
}

async function loadCommissions() {
  const box = byId("commissions");
  const commissions = await api("GET", "/api/attestation/commissions");
  box.removeAttribute("aria-busy");
  if (!commissions.length) {
    replace(box, el("p", { className: "muted", text: t("No commissions yet.") }));
    return commissions;
  }
  replace(
    box,
    el(
      "ul",
      {},
      commissions.map((c) =>
        el(
          "li",
          {},
          el("strong", { text: c.title }),
          ` (${c.starts_on} — ${c.ends_on}): `,
          c.members.map((m) => `${m.full_name} — ${m.role_title}`).join("; "),
        ),
      ),
    ),
  );
  return commissions;
}

async function loadHearings() {
  const box = byId("hearings");
  const appeals = (await api("GET", "/api/attestation/appeals")).filter((a) => a.hearing_room);
  box.removeAttribute("aria-busy");
  if (!appeals.length) {
    replace(box, el("p", { className: "muted", text: t("No hearings scheduled.") }));
    return;
  }
  replace(
    box,
    el(
      "ul",
      {},
      appeals.map((a) =>
        el(
          "li",
          { dataset: { appealId: String(a.id) } },
          `${t("Appeal {id}: {status}", { id: String(a.id), status: a.status })} · ${t("Hearing: {when}", { when: formatDateTime(a.hearing_at) })} `,
          a.may_join
            ? el("a", { className: "button", href: `/rooms/${encodeURIComponent(a.hearing_room)}`, text: t("Join the hearing") })
            : "",
        ),
      ),
    ),
  );
}

async function loadIssued() {
  const box = byId("issued");
  const documents = await api("GET", "/api/attestation/issued-documents");
  box.removeAttribute("aria-busy");
  if (!documents.length) {
    replace(box, el("p", { className: "muted", text: t("No documents issued yet.") }));
    return;
  }
  const rows = documents.map((d) =>
    el(
      "tr",
      { dataset: { documentId: String(d.id) } },
      el("td", { className: "nowrap", text: d.number }),
      el("td", { text: d.kind_title }),
      el("td", { text: d.full_name }),
      el("td", { text: d.event_title }),
      el("td", { className: "nowrap", text: formatDateTime(d.issued_at) }),
      el("td", { text: [d.delivery_title, d.delivery_detail].filter(Boolean).join(": ") }),
    ),
  );
  replace(
    box,
    el(
      "table",
      { className: "table" },
      el(
        "thead",
        {},
        el(
          "tr",
          {},
          el("th", { text: t("Number") }),
          el("th", { text: t("Document") }),
          el("th", { text: t("Learner") }),
          el("th", { text: t("Event") }),
          el("th", { text: t("Issued") }),
          el("th", { text: t("Delivery method") }),
        ),
      ),
      el("tbody", {}, rows),
    ),
  );
}

function fillSelect(select, items, label) {
  replace(select, items.map((item) => el("option", { value: String(item.id), text: label(item) })));
}

async function setUpForms(commissions) {
  const groups = await api("GET", "/api/attestation/groups");
  fillSelect(byId("event-group"), groups, (g) => `${g.code} — ${g.title}`);
  fillSelect(byId("commission-group"), groups, (g) => `${g.code} — ${g.title}`);
  fillSelect(
    byId("event-commission"),
    commissions.filter((c) => c.kind === "attestation"),
    (c) => c.title,
  );
  const staff = await api("GET", "/api/attestation/staff");
  for (const select of document.querySelectorAll("[data-staff]")) {
    fillSelect(select, staff, (u) => u.full_name || u.username);
  }
  byId("commission-start").value = new Date().toISOString().slice(0, 10);

  byId("event-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const form = e.target;
    const result = byId("event-result");
    const group = groups.find((g) => String(g.id) === form.group_id.value);
    const body = {
      program_id: group ? group.program_id : 0,
      group_id: Number(form.group_id.value),
      commission_id: Number(form.commission_id.value),
      title: form.title.value,
      form: form.form.value,
      starts_at: form.starts_at.value ? new Date(form.starts_at.value).toISOString() : "",
      place: form.place.value,
      remote: form.remote.checked,
      remote_reason: form.remote_reason.value,
      override_reason: form.override_reason.value,
    };
    if (form.test_id.value) body.test_id = Number(form.test_id.value);
    try {
      await api("POST", "/api/attestation/events", { json: body });
      replace(result, el("p", { className: "alert alert-success", text: t("The event is scheduled.") }));
      byId("override-field").hidden = true;
      form.reset();
      await loadEvents();
    } catch (err) {
      if (err.body && err.body.rule === "B2.7-notice-3d") {
        byId("override-field").hidden = false;
        replace(result, el("p", { className: "alert alert-error", text: t("The date is inside the 3-day notice period. Give a reason to schedule it anyway.") }));
        byId("event-override").focus();
      } else {
        replace(result, el("p", { className: "alert alert-error", text: errorText(err) }));
      }
    }
  });

  byId("commission-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const form = e.target;
    const result = byId("commission-result");
    const group = groups.find((g) => String(g.id) === form.group_id.value);
    const members = [
      { user_id: Number(form.chair.value), role: "chair" },
      { user_id: Number(form.secretary.value), role: "secretary" },
      ...Array.from(form.members.selectedOptions).map((o) => ({ user_id: Number(o.value), role: "member" })),
    ];
    try {
      await api("POST", "/api/attestation/commissions", {
        json: {
          program_id: group ? group.program_id : 0,
          title: form.title.value,
          starts_on: form.starts_on.value,
          members,
        },
      });
      replace(result, el("p", { className: "alert alert-success", text: t("The commission is formed.") }));
      const fresh = await loadCommissions();
      fillSelect(byId("event-commission"), fresh.filter((c) => c.kind === "attestation"), (c) => c.title);
    } catch (err) {
      replace(result, el("p", { className: "alert alert-error", text: errorText(err) }));
    }
  });
}

// Until the forms are wired (their lists load first), a submit must not leave the page.
for (const form of document.querySelectorAll("#event-form, #commission-form")) {
  form.addEventListener("submit", (e) => e.preventDefault());
}

// Appeal deadlines count working days of a production calendar loaded per year: warn
// before a deadline falls into a year that has none.
async function warnCalendar() {
  const info = await api("GET", "/api/attestation/calendar");
  if (!info.missing.length) return;
  const text = t("No production calendar for {years}: appeal deadlines in those years cannot be counted. Put calendar_ru_<year>.json into the calendar directory (EXAMROOM_CALENDAR_DIR).", {
    years: info.missing.join(", "),
  });
  root.prepend(el("p", { id: "calendar-warning", className: "alert alert-warning", text }));
}

async function main() {
  try {
    await loadEvents();
    await warnCalendar();
    const commissions = await loadCommissions();
    await loadHearings();
    if (register) await loadIssued();
    if (manager) await setUpForms(commissions);
    root.dataset.ready = "1";
  } catch (err) {
    showAlert(pageError, errorText(err));
  }
}

main();
