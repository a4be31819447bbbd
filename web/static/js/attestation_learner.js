// The learner's attestation: events with invitations, applications, appeals, results.

import { api, errorText } from "./api.js";
import { byId, el, replace, showAlert } from "./dom.js";
import { formatDateTime } from "./format.js";
import { t } from "./i18n.js";

function say(message, ok = true) {
  replace(byId("action-result"), el("p", { className: `alert ${ok ? "alert-success" : "alert-error"}`, text: message }));
}

function eventCard(event) {
  const me = event.me || {};
  const lines = [
    el("h3", { text: event.title }),
    el("p", { text: `${formatDateTime(event.starts_at)} · ${event.form_title}` }),
  ];
  if (event.remote || me.remote) {
    lines.push(el("p", { className: "state", text: t("Remote attestation") }));
    lines.push(el("p", { text: t("Conference id: {id}, password: {password}", { id: event.conference_id || "", password: event.conference_password || "" }) }));
    if (event.room) lines.push(el("a", { className: "button", href: `/rooms/${event.room}`, text: t("Go to the video room") }));
  } else {
    lines.push(el("p", { text: t("Place: {place}", { place: event.place }) }));
  }
  if (me.mark_title) lines.push(el("p", { className: "state state-passed", text: t("Decision: {mark}", { mark: me.mark_title }) }));
  if (me.annulled) lines.push(el("p", { className: "state state-failed", text: t("The result is annulled; a retake will be set.") }));
  return el("article", { className: "card", dataset: { eventId: String(event.id) } }, lines);
}

function fill(select, events) {
  replace(select, events.map((e) => el("option", { value: String(e.id), text: `${e.title} — ${formatDateTime(e.starts_at)}` })));
}

async function load() {
  const account = await api("GET", "/api/attestation/account");
  const box = byId("my-events");
  box.removeAttribute("aria-busy");
  replace(box, account.events.length ? account.events.map(eventCard) : el("p", { className: "muted", text: t("No events yet.") }));
  fill(byId("application-event"), account.events.filter((e) => e.status === "scheduled"));
  fill(byId("appeal-event"), account.events.filter((e) => e.me && e.me.announced_at));
  replace(
    byId("my-results"),
    account.results.length
      ? el("ul", {}, account.results.map((r) => el("li", { text: `${r.title}: ${r.mark_title}${r.annulled ? ` (${t("annulled")})` : ""}` })))
      : el("p", { className: "muted", text: t("No results yet.") }),
  );
  const items = [
    ...account.applications.map((a) => el("li", { text: t("Application {id}: {status}", { id: String(a.id), status: a.status }) })),
    ...account.appeals.map((a) =>
      el(
        "li",
        { dataset: { appealId: String(a.id) } },
        t("Appeal {id}: {status}", { id: String(a.id), status: a.status }),
        ...(a.hearing_room
          ? [
              ` · ${t("Hearing: {when}", { when: formatDateTime(a.hearing_at) })} `,
              el("a", { className: "button", href: `/rooms/${encodeURIComponent(a.hearing_room)}`, text: t("Join the hearing") }),
            ]
          : []),
      ),
    ),
    ...account.documents.map((d) => el("li", { text: `${d.kind_title} ${d.number} — ${d.delivery_title}` })),
  ];
  replace(byId("my-requests"), items.length ? el("ul", {}, items) : el("p", { className: "muted", text: t("Nothing yet.") }));
}

function wire() {
  byId("application-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const form = e.target;
    const body = new FormData();
    body.append("kind", form.kind.value);
    body.append("reasons", form.reasons.value);
    if (form.file.files[0]) body.append("file", form.file.files[0]);
    try {
      await api("POST", `/api/attestation/events/${form.event.value}/applications`, { form: body });
      say(t("The application is filed."));
      form.reset();
      await load();
    } catch (err) {
      say(errorText(err), false);
    }
  });
  byId("appeal-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const form = e.target;
    try {
      await api("POST", `/api/attestation/events/${form.event.value}/appeals`, {
        json: { kind: form.kind.value, text: form.text.value },
      });
      say(t("The appeal is filed."));
      form.reset();
      await load();
    } catch (err) {
      say(errorText(err), false);
    }
  });
}

wire();
load()
  .then(() => {
    byId("attestation-learner").dataset.ready = "1";
  })
  .catch((err) => showAlert(byId("page-error"), errorText(err)));
