// Formatting of dates, durations, percentages and the API's enumerations.

import { lang, t } from "./i18n.js";

const locale = lang === "en" ? "en-GB" : "ru-RU";
const dateTime = new Intl.DateTimeFormat(locale, { dateStyle: "medium", timeStyle: "short" });
const number2 = new Intl.NumberFormat(locale, { minimumFractionDigits: 2, maximumFractionDigits: 2 });

/** A date and time in the page's language, or "" for null. */
export function formatDateTime(iso) {
  if (!iso) return "";
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? "" : dateTime.format(date);
}

/** Seconds as m:ss or h:mm:ss. */
export function formatClock(totalSeconds) {
  const s = Math.max(0, Math.floor(totalSeconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = String(s % 60).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${sec}` : `${m}:${sec}`;
}

/** A percentage such as "85 %" (Russian) or "85%" (English). */
export function formatPercent(value) {
  if (value === null || value === undefined) return "—";
  const rounded = Math.round(Number(value) * 10) / 10;
  return lang === "en" ? `${rounded}%` : `${String(rounded).replace(".", ",")} %`;
}

/** A ratio such as facility or discrimination with two decimals, or "—". */
export function formatRatio(value) {
  if (value === null || value === undefined || Number.isNaN(Number(value))) return "—";
  return number2.format(Number(value));
}

/** The time limit in minutes. */
export function formatMinutes(seconds) {
  return t("{n} min", { n: Math.round(Number(seconds) / 60) });
}

const FORMS = {
  exam: t("Exam"),
  credit: t("Credit"),
  testing: t("Testing"),
  referat: t("Essay defence"),
  interview: t("Interview"),
  survey: t("Oral survey"),
};

/** The form of assessment. */
export function formLabel(form) {
  return FORMS[form] || form;
}

/** The marking scale ("4" or "2"). */
export function scaleLabel(scale) {
  if (String(scale) === "4") return t("four-point");
  if (String(scale) === "2") return t("two-point (pass/fail)");
  return String(scale ?? "");
}

const WINDOWS = { open: t("Open"), upcoming: t("Not open yet"), closed: t("Closed") };

/** The availability window state of a test. */
export function windowLabel(state) {
  return WINDOWS[state] || state;
}

/** "from … to …" of an availability window, or "" when it is unlimited. */
export function windowRange(opensAt, closesAt) {
  if (opensAt && closesAt) {
    return t("from {start} to {end}", { start: formatDateTime(opensAt), end: formatDateTime(closesAt) });
  }
  if (opensAt) return t("from {start}", { start: formatDateTime(opensAt) });
  if (closesAt) return t("until {end}", { end: formatDateTime(closesAt) });
  return "";
}
