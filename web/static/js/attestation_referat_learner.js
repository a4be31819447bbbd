// The learner's referats (B 5.9): choose a topic from the approved list or propose an own
// one with a justification, upload the text, follow the head's decision and the review.

import { api, errorText } from "./api.js";
import { byId, el, replace } from "./dom.js";
import { formatDateTime } from "./format.js";
import { t } from "./i18n.js";

const section = byId("my-referats-section");
const box = byId("my-referats");

function say(card, message, ok = true) {
  replace(card.querySelector(".referat-result"), el("p", { className: `alert ${ok ? "alert-ok" : "alert-error"}`, text: message }));
}

function chooseForm(event, topics, card) {
  const prefix = `referat-${event.id}`;
  const listed = el("input", { type: "radio", name: "source", value: "listed", id: `${prefix}-listed`, checked: topics.length > 0, disabled: !topics.length });
  const own = el("input", { type: "radio", name: "source", value: "own", id: `${prefix}-own`, checked: !topics.length });
  const topic = el(
    "select",
    { name: "topic_id", id: `${prefix}-topic` },
    topics.map((item) => el("option", { value: String(item.id), text: item.title })),
  );
  const title = el("input", { type: "text", name: "title", id: `${prefix}-title`, maxLength: 300 });
  const justification = el("textarea", { name: "justification", id: `${prefix}-justification`, rows: 3, maxLength: 4000 });
  const ownFields = el(
    "div",
    { className: "own-topic" },
    el("div", { className: "field" }, el("label", { attrs: { for: title.id }, text: t("Own topic") }), title),
    el("div", { className: "field" }, el("label", { attrs: { for: justification.id }, text: t("Justification of the own topic") }), justification),
  );
  const listedFields = el("div", { className: "field listed-topic" }, el("label", { attrs: { for: topic.id }, text: t("Topic from the approved list") }), topic);
  const sync = () => {
    ownFields.hidden = !own.checked;
    listedFields.hidden = !listed.checked;
  };
  listed.addEventListener("change", sync);
  own.addEventListener("change", sync);
  sync();
  const form = el(
    "form",
    { className: "choose-referat form-stack", noValidate: true },
    el(
      "fieldset",
      {},
      el("legend", { text: t("Topic of the referat") }),
      el("p", { className: "field check" }, listed, el("label", { attrs: { for: listed.id }, text: topics.length ? t("A topic from the approved list") : t("The approved list is empty") })),
      el("p", { className: "field check" }, own, el("label", { attrs: { for: own.id }, text: t("My own topic with a justification") })),
    ),
    listedFields,
    ownFields,
    el("button", { type: "submit", className: "button primary", text: t("Choose the topic") }),
  );
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    let body;
    if (listed.checked) {
      body = { topic_id: Number(topic.value) };
    } else {
      if (!title.value.trim() || !justification.value.trim()) {
        say(card, t("Name your topic and justify it."), false);
        return;
      }
      body = { title: title.value, justification: justification.value };
    }
    try {
      await api("POST", `/api/attestation/events/${event.id}/referat`, { json: body });
      await render(event, card);
      say(card, listed.checked ? t("The topic is chosen.") : t("Your topic is sent to the head of courses for approval."));
    } catch (err) {
      say(card, errorText(err), false);
    }
  });
  return form;
}

function uploadForm(event, referat, card) {
  const id = `referat-file-${referat.id}`;
  const file = el("input", { type: "file", name: "file", id, accept: ".pdf,.docx,.odt", required: true });
  const form = el(
    "form",
    { className: "upload-referat form-stack", noValidate: true },
    el("div", { className: "field" }, el("label", { attrs: { for: id }, text: referat.uploaded_at ? t("Replace the text of the referat") : t("Text of the referat") }), file),
    el("button", { type: "submit", className: "button primary", text: t("Upload") }),
  );
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    if (!file.files[0]) {
      say(card, t("Choose the file first."), false);
      return;
    }
    const body = new FormData();
    body.append("file", file.files[0]);
    try {
      await api("POST", `/api/attestation/referats/${referat.id}/file`, { form: body });
      await render(event, card);
      say(card, t("The text is uploaded."));
    } catch (err) {
      say(card, errorText(err), false);
    }
  });
  return form;
}

function status(referat) {
  const lines = [
    el("p", { className: "referat-title" }, el("strong", { text: referat.title }), referat.topic_id === null ? ` (${t("own topic")})` : ""),
  ];
  if (referat.topic_status === "proposed") lines.push(el("p", { className: "badge badge-draft topic-status", dataset: { status: "proposed" }, text: t("Waiting for the head of courses to approve the topic") }));
  if (referat.topic_status === "rejected") lines.push(el("p", { className: "badge topic-status", dataset: { status: "rejected" }, text: t("The head of courses rejected the topic; contact the head of courses.") }));
  if (referat.topic_status === "approved") lines.push(el("p", { className: "badge badge-approved topic-status", dataset: { status: "approved" }, text: t("topic approved") }));
  if (referat.uploaded_at) {
    lines.push(
      el(
        "p",
        { className: "referat-file" },
        el("a", { href: `/api/attestation/referats/${referat.id}/file`, download: referat.file_name, text: referat.file_name }),
        ` · ${t("uploaded {when}", { when: formatDateTime(referat.uploaded_at) })}`,
      ),
    );
  }
  if (referat.reviewed_at) {
    lines.push(el("p", { className: "state state-passed review-status", text: t("Reviewed {when}", { when: formatDateTime(referat.reviewed_at) }) }));
    lines.push(el("blockquote", { className: "review-text", text: referat.review }));
  } else if (referat.uploaded_at) {
    lines.push(el("p", { className: "state review-status", text: t("The text awaits its review.") }));
  }
  return lines;
}

async function render(event, card) {
  const [mine, topics] = await Promise.all([
    api("GET", `/api/attestation/events/${event.id}/referats`),
    api("GET", `/api/attestation/programs/${event.program_id}/referat-topics`),
  ]);
  const referat = mine.learners.length ? mine.learners[0].referat : null;
  const body = [
    el("h3", { text: event.title }),
    el("p", { className: "muted", text: `${formatDateTime(event.starts_at)} · ${t("the defence lasts up to {minutes} minutes", { minutes: String(mine.defence_minutes) })}` }),
  ];
  if (!referat) body.push(chooseForm(event, topics, card));
  else {
    body.push(...status(referat));
    if (referat.topic_status === "approved" && !referat.reviewed_at) body.push(uploadForm(event, referat, card));
  }
  body.push(el("div", { className: "referat-result", attrs: { role: "status" } }));
  replace(card, body);
  card.dataset.referatId = referat ? String(referat.id) : "";
}

async function main() {
  try {
    const events = (await api("GET", "/api/attestation/events")).filter((e) => e.form === "referat");
    if (!events.length) return;
    section.hidden = false;
    const cards = events.map((event) => el("article", { className: "card referat-card", dataset: { eventId: String(event.id) } }));
    replace(box, cards);
    for (const [index, event] of events.entries()) await render(event, cards[index]);
    section.dataset.ready = "1";
  } catch (err) {
    replace(box, el("p", { className: "alert alert-error", text: errorText(err) }));
    section.hidden = false;
  }
}

main();
