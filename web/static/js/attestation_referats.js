// Staff: the referats of one event (B 5.9): the program's approved topics, each learner's
// topic (listed, or own with its justification for the head to decide), the uploaded text
// and the review that must come before the defence.

import { api, errorText } from "./api.js";
import { byId, el, replace, showAlert } from "./dom.js";
import { formatDateTime } from "./format.js";
import { t } from "./i18n.js";

const root = byId("attestation-referats");
const eventId = root.dataset.eventId;
const programId = root.dataset.programId;
const manager = root.dataset.manager === "1";
const reviewer = root.dataset.reviewer === "1";
const pageError = byId("page-error");

const TOPIC_STATUS = {
  approved: t("topic approved"),
  proposed: t("own topic awaits the head's decision"),
  rejected: t("topic rejected"),
};

function say(message, ok = true) {
  replace(byId("action-result"), el("p", { className: `alert ${ok ? "alert-ok" : "alert-error"}`, text: message }));
}

async function act(call, done) {
  try {
    await call();
    say(done);
    await loadReferats();
  } catch (err) {
    say(errorText(err), false);
  }
}

async function loadTopics() {
  const box = byId("topics");
  const topics = await api("GET", `/api/attestation/programs/${programId}/referat-topics`);
  box.removeAttribute("aria-busy");
  replace(
    box,
    topics.length
      ? topics.map((topic) => el("li", { dataset: { topicId: String(topic.id) }, text: topic.title }))
      : el("li", { className: "muted", text: t("No approved topics yet.") }),
  );
}

function topicPart(referat) {
  const own = referat.topic_id === null;
  const parts = [
    el("p", { className: "referat-title" }, el("strong", { text: referat.title }), " ", el("span", { className: "tag tag-chosen", text: own ? t("own topic") : t("from the list") })),
  ];
  if (own) parts.push(el("p", { className: "justification", text: t("Justification: {text}", { text: referat.justification }) }));
  const status = referat.topic_status;
  parts.push(
    el("p", {}, el("span", { className: `badge ${status === "approved" ? "badge-approved" : "badge-draft"} topic-status`, dataset: { status }, text: TOPIC_STATUS[status] || status })),
  );
  if (manager && status === "proposed") {
    const decide = (approve) =>
      act(
        () => api("POST", `/api/attestation/referats/${referat.id}/topic`, { json: { approve } }),
        approve ? t("The topic is approved.") : t("The topic is rejected."),
      );
    parts.push(
      el(
        "p",
        { className: "actions" },
        el("button", { type: "button", className: "button primary approve-topic", text: t("Approve the topic"), on: { click: () => decide(true) } }),
        el("button", { type: "button", className: "button reject-topic", text: t("Reject the topic"), on: { click: () => decide(false) } }),
      ),
    );
  }
  return parts;
}

function filePart(referat) {
  if (!referat.uploaded_at) return el("p", { className: "muted no-file", text: t("The text is not uploaded yet.") });
  return el(
    "p",
    { className: "referat-file" },
    el("a", { href: `/api/attestation/referats/${referat.id}/file`, download: referat.file_name, text: referat.file_name }),
    ` · ${t("uploaded {when}", { when: formatDateTime(referat.uploaded_at) })}`,
  );
}

function reviewPart(referat) {
  if (referat.reviewed_at) {
    return [
      el("p", { className: "badge badge-approved reviewed", text: t("Reviewed {when}", { when: formatDateTime(referat.reviewed_at) }) }),
      el("blockquote", { className: "review-text", text: referat.review }),
      el("p", { className: "state state-passed", text: t("Ready for the defence") }),
    ];
  }
  if (!referat.uploaded_at || !reviewer) return el("p", { className: "muted", text: t("No review yet.") });
  const id = `review-${referat.id}`;
  const text = el("textarea", { id, name: "review", rows: 4, maxLength: 4000, required: true });
  const form = el(
    "form",
    { className: "review-form", noValidate: true },
    el("label", { attrs: { for: id }, text: t("Review") }),
    text,
    el("button", { type: "submit", className: "button primary", text: t("Save the review") }),
  );
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    if (!text.value.trim()) {
      say(t("Write the review first."), false);
      return;
    }
    act(() => api("POST", `/api/attestation/referats/${referat.id}/review`, { json: { review: text.value } }), t("The review is saved."));
  });
  return form;
}

function learnerCard(item) {
  const referat = item.referat;
  return el(
    "article",
    { className: "card referat-card", dataset: { learnerId: String(item.user_id), referatId: referat ? String(referat.id) : "" } },
    el("h3", { text: item.full_name }),
    referat ? [...topicPart(referat), filePart(referat), reviewPart(referat)] : el("p", { className: "muted no-topic", text: t("No topic chosen yet.") }),
  );
}

async function loadReferats() {
  const box = byId("referats");
  const data = await api("GET", `/api/attestation/events/${eventId}/referats`);
  box.removeAttribute("aria-busy");
  byId("event-title").textContent = data.title;
  byId("not-referat").hidden = data.referat_form;
  replace(box, data.learners.length ? data.learners.map(learnerCard) : el("p", { className: "muted", text: t("No learners.") }));
}

function setUpTopicForm() {
  const form = byId("topic-form");
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const title = form.title.value.trim();
    if (!title) {
      say(t("Write the topic first."), false);
      return;
    }
    try {
      await api("POST", `/api/attestation/programs/${programId}/referat-topics`, { json: { title } });
      form.reset();
      say(t("The topic is added to the approved list."));
      await loadTopics();
    } catch (err) {
      say(errorText(err), false);
    }
  });
}

// Until the form is wired, a submit must not leave the page.
for (const form of document.querySelectorAll("#topic-form")) {
  form.addEventListener("submit", (e) => e.preventDefault());
}

async function main() {
  try {
    await Promise.all([loadTopics(), loadReferats()]);
    if (manager) setUpTopicForm();
    root.dataset.ready = "1";
  } catch (err) {
    showAlert(pageError, errorText(err));
  }
}

main();
