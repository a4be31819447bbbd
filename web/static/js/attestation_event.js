// The commission's sitting: presence, closed votes per learner, the protocol and its signatures.

import { api, errorText } from "./api.js";
import { byId, el, replace, showAlert } from "./dom.js";
import { formatDateTime, formatPercent } from "./format.js";
import { t } from "./i18n.js";

const root = byId("attestation-event");
const eventId = root.dataset.eventId;
const seat = root.dataset.seat;
const userId = Number(root.dataset.userId);
const base = `/api/attestation/events/${eventId}`;
const MARKS = {
  4: [
    ["excellent", "отлично"],
    ["good", "хорошо"],
    ["satisfactory", "удовлетворительно"],
    ["unsatisfactory", "неудовлетворительно"],
  ],
  2: [
    ["passed", "зачтено"],
    ["failed", "не зачтено"],
  ],
};

function say(message, ok = true) {
  replace(byId("action-result"), el("p", { className: `alert ${ok ? "alert-success" : "alert-error"}`, text: message }));
}

function facts(event) {
  const items = [
    [t("Date and time"), formatDateTime(event.starts_at)],
    [t("Form of assessment"), `${event.form_title} (${event.scale_title})`],
    [t("Place"), event.remote ? t("remote") : event.place],
  ];
  if (event.room) items.push([t("Video room"), event.room]);
  replace(
    byId("event-facts"),
    items.flatMap(([k, v]) => [el("dt", { text: k }), el("dd", { text: v })]),
  );
  byId("event-title").textContent = event.title;
  if (event.form === "referat" && !document.getElementById("referats-link")) {
    byId("event-facts").after(
      el("p", { className: "actions" }, el("a", { id: "referats-link", className: "button", href: `/attestation/events/${event.id}/referats`, text: t("Learners' referats") })),
    );
  }
}

function presenceForm(event) {
  const box = document.getElementById("presence-members");
  if (!box) return;
  const present = new Set(event.present);
  replace(
    box,
    event.commission.members.map((m) =>
      el(
        "div",
        { className: "field check" },
        el("input", { type: "checkbox", id: `present-${m.user_id}`, value: String(m.user_id), checked: present.has(m.user_id) || present.size === 0 }),
        el("label", { attrs: { for: `present-${m.user_id}` }, text: `${m.full_name} — ${m.role_title}` }),
      ),
    ),
  );
}

function voteCell(event, learner) {
  if (learner.decided) {
    if (learner.absent) return el("td", { text: t("did not appear") });
    return el("td", { text: learner.by_chair ? t("{mark} (the chair's vote decided)", { mark: learner.mark_title }) : learner.mark_title });
  }
  if (!seat || !event.present.includes(userId)) return el("td", { className: "muted", text: t("not decided") });
  if ((event.my_votes || []).includes(learner.user_id)) return el("td", { className: "muted", text: t("your vote is in") });
  const select = el(
    "select",
    { attrs: { "aria-label": t("Mark for {name}", { name: learner.full_name }) } },
    MARKS[event.scale].map(([value, title]) => el("option", { value, text: title })),
  );
  const button = el("button", {
    type: "button",
    className: "button small primary",
    text: t("Vote"),
    on: {
      click: async () => {
        try {
          const result = await api("POST", `${base}/votes`, { json: { learner_id: learner.user_id, mark: select.value } });
          if (result.revote) say(t("No decision: vote again."), false);
          else if (result.decided) say(t("Decided: {mark}", { mark: result.mark }));
          else say(t("Your vote is counted."));
          await load();
        } catch (err) {
          say(errorText(err), false);
        }
      },
    },
  });
  const cells = [select, " ", button];
  if (seat === "chair" || seat === "secretary") {
    cells.push(
      " ",
      el("button", {
        type: "button",
        className: "button small subtle",
        text: t("Did not appear"),
        on: {
          click: async () => {
            try {
              await api("POST", `${base}/absent`, { json: { learner_id: learner.user_id } });
              await load();
            } catch (err) {
              say(errorText(err), false);
            }
          },
        },
      }),
    );
  }
  return el("td", {}, cells);
}

// Oral forms: the commission draws a ticket at random and keeps the server's clocks (B 5.6, 5.10).
const ORAL_FORMS = new Set(["exam", "credit", "interview", "survey"]);

function oralAction(learner, action, label) {
  return el("button", {
    type: "button",
    className: "button subtle",
    text: label,
    dataset: { oral: action },
    on: {
      click: async () => {
        try {
          await api("POST", `${base}/oral/${learner.user_id}/${action}`);
          await fillOral(learner);
        } catch (err) {
          say(errorText(err), false);
        }
      },
    },
  });
}

async function fillOral(learner) {
  const cell = document.querySelector(`td[data-oral-of="${learner.user_id}"]`);
  if (!cell) return;
  let turn;
  try {
    turn = await api("GET", `${base}/oral/${learner.user_id}`);
  } catch (err) {
    if (err.status === 404) {
      replace(cell, oralAction(learner, "draw", t("Draw a ticket")));
      return;
    }
    replace(cell, el("span", { className: "muted", text: errorText(err) }));
    return;
  }
  const parts = [
    el("ol", { className: "ticket" }, turn.questions.map((q) => el("li", { text: q.text }))),
    el("p", { className: "muted", text: t("Preparation until {time}", { time: formatDateTime(turn.preparation_ends_at) }) }),
  ];
  if (!turn.answer_started_at) parts.push(oralAction(learner, "answer", t("Start the answer")));
  else if (!turn.finished_at) {
    parts.push(el("p", { text: t("Answer until {time}", { time: formatDateTime(turn.answer_ends_at) }) }));
    parts.push(oralAction(learner, "finish", t("Finish the answer")));
  } else parts.push(el("p", { className: "state", text: t("The answer is over.") }));
  replace(cell, parts);
}

function learnersTable(event) {
  const box = byId("learners");
  const oral = Boolean(seat) && ORAL_FORMS.has(event.form);
  box.removeAttribute("aria-busy");
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
          el("th", { text: t("Learner") }),
          el("th", { text: t("Remote") }),
          el("th", { text: t("Test result") }),
          oral ? el("th", { text: t("Ticket") }) : null,
          el("th", { text: t("Decision") }),
        ),
      ),
      el(
        "tbody",
        {},
        event.learners.map((learner) =>
          el(
            "tr",
            { dataset: { learnerId: String(learner.user_id) } },
            el("td", { text: learner.full_name }),
            el("td", { text: learner.remote ? t("yes") : t("no") }),
            el("td", { text: learner.proposed ? formatPercent(learner.proposed.percent) : "—" }),
            oral ? el("td", { dataset: { oralOf: String(learner.user_id) } }) : null,
            voteCell(event, learner),
          ),
        ),
      ),
    ),
  );
}

async function showProtocol(event) {
  const box = byId("protocol");
  const sign = document.getElementById("sign-protocol");
  if (!event.protocol_id) {
    replace(box, el("p", { className: "muted", text: t("Not drawn up yet.") }));
    return;
  }
  const protocol = await api("GET", `${base}/protocol`);
  const lines = [
    el("p", { text: t("Protocol № {number}", { number: protocol.number }) }),
    protocol.remote ? el("p", { className: "state", text: t("Held remotely: {technology}", { technology: protocol.technology }) }) : null,
    el(
      "ul",
      {},
      protocol.signatures.map((s) =>
        el("li", { text: `${s.full_name} — ${s.role_title}: ${s.signed_at ? t("signed {time}", { time: formatDateTime(s.signed_at) }) : t("not signed")}` }),
      ),
    ),
    protocol.locked ? el("p", { className: "state state-passed", text: t("Signed by everyone and locked.") }) : null,
    el("p", {}, el("a", { className: "button subtle", href: `${base}/protocol.pdf`, text: t("Print the protocol (PDF)") })),
  ];
  replace(box, lines);
  if (sign) {
    const mine = protocol.signatures.find((s) => s.user_id === userId);
    sign.hidden = !mine || Boolean(mine.signed_at) || protocol.locked;
    sign.dataset.protocolId = String(protocol.id);
  }
}

// Managers add a learner who completed the program after scheduling (B 2.1, 2.7).
async function fillAddLearner(event) {
  const form = document.getElementById("add-learner-form");
  if (!form) return;
  const group = await api("GET", `/api/attestation/groups/${root.dataset.groupId}`);
  const onEvent = new Set(event.learners.map((l) => l.user_id));
  const candidates = group.learners.filter((l) => l.completed && !onEvent.has(l.id));
  replace(
    byId("add-learner"),
    candidates.map((l) => el("option", { value: String(l.id), text: l.full_name || l.username })),
  );
  form.querySelector("button[type=submit]").disabled = !candidates.length;
}

async function load() {
  const event = await api("GET", base);
  facts(event);
  presenceForm(event);
  learnersTable(event);
  await fillAddLearner(event);
  if (seat && ORAL_FORMS.has(event.form)) await Promise.all(event.learners.map(fillOral));
  await showProtocol(event);
}

function wire() {
  const add = document.getElementById("add-learner-form");
  if (add) {
    add.addEventListener("submit", async (e) => {
      e.preventDefault();
      const result = byId("add-learner-result");
      const body = { user_id: Number(add.user_id.value), override_reason: add.override_reason.value };
      try {
        await api("POST", `${base}/participants`, { json: body });
        replace(result, el("p", { className: "alert alert-success", text: t("The learner is added and invited.") }));
        byId("add-learner-reason-field").hidden = true;
        add.reset();
        await load();
      } catch (err) {
        if (err.body && err.body.rule === "B2.7-notice-3d") {
          byId("add-learner-reason-field").hidden = false;
          replace(result, el("p", { className: "alert alert-error", text: t("The event is inside the 3-day notice period. Give a reason to add the learner anyway.") }));
          byId("add-learner-reason").focus();
        } else {
          replace(result, el("p", { className: "alert alert-error", text: errorText(err) }));
        }
      }
    });
  }
  const presence = document.getElementById("presence-form");
  if (presence) {
    presence.addEventListener("submit", async (e) => {
      e.preventDefault();
      const ids = Array.from(presence.querySelectorAll("input:checked")).map((i) => Number(i.value));
      try {
        await api("PUT", `${base}/presence`, { json: { present: ids } });
        say(t("The sitting is open."));
        await load();
      } catch (err) {
        say(errorText(err), false);
      }
    });
  }
  const open = document.getElementById("open-protocol");
  if (open) {
    open.addEventListener("click", async () => {
      try {
        await api("POST", `${base}/protocol`);
        await load();
      } catch (err) {
        say(errorText(err), false);
      }
    });
  }
  const sign = document.getElementById("sign-protocol");
  if (sign) {
    sign.addEventListener("click", async () => {
      try {
        await api("POST", `/api/attestation/protocols/${sign.dataset.protocolId}/sign`);
        say(t("Signed."));
        await load();
      } catch (err) {
        say(errorText(err), false);
      }
    });
  }
}

wire();
load()
  .then(() => {
    root.dataset.ready = "1";
  })
  .catch((err) => showAlert(byId("page-error"), errorText(err)));
