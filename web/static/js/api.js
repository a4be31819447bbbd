// The JSON API client: same-origin fetch, CSRF header on writes, one error type.

import { t } from "./i18n.js";

/** A failed API call: HTTP status (0 for network failures), error code and message. */
export class ApiError extends Error {
  constructor(status, code, message, body = null) {
    super(message || code);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.body = body;
  }

  /** True when repeating the same call later may succeed (network, timeouts, 5xx). */
  get retryable() {
    return (
      this.status === 0 ||
      this.status >= 500 ||
      this.status === 408 ||
      this.status === 429 ||
      this.code === "conflict"
    );
  }
}

/** The session's CSRF token, rendered by the page into <meta name="csrf-token">. */
export function csrfToken() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  return meta ? meta.getAttribute("content") || "" : "";
}

/** Fetch the session's current CSRF token into the page; true when it changed. */
export async function refreshCsrfToken() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  if (!meta) return false;
  try {
    const me = await api("GET", "/api/me", { timeout: 5000 });
    if (!me.csrf_token || me.csrf_token === meta.getAttribute("content")) return false;
    meta.setAttribute("content", me.csrf_token);
    return true;
  } catch {
    return false;
  }
}

/**
 * Call the API. options: json (request body), form (FormData), timeout (ms).
 * Resolves with the decoded JSON body; rejects with ApiError.
 */
export async function api(method, path, options = {}) {
  const headers = { Accept: "application/json" };
  let body;
  if (method !== "GET" && method !== "HEAD") headers["X-CSRF-Token"] = csrfToken();
  if (options.json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(options.json);
  } else if (options.form) {
    body = options.form;
  }
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), options.timeout ?? 20000);
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body,
      credentials: "same-origin",
      cache: "no-store",
      signal: controller.signal,
    });
  } catch (err) {
    const timedOut = err && err.name === "AbortError";
    throw new ApiError(0, timedOut ? "timeout" : "network", String(err && err.message));
  } finally {
    clearTimeout(timer);
  }
  let data = null;
  try {
    data = await response.json();
  } catch {
    data = null;
  }
  if (!response.ok) {
    const code = (data && data.error) || `http_${response.status}`;
    const message = (data && data.message) || response.statusText;
    throw new ApiError(response.status, code, message, data);
  }
  return data;
}

// Translated when the module loads (the catalogue is already on the page).
const MESSAGES = {
  network: t("No connection to the server. Check the network and try again."),
  timeout: t("The server did not answer in time. Try again."),
  unauthenticated: t("Your session has ended. Log in again."),
  csrf: t("The page is out of date. Reload it and try again."),
  forbidden: t("You are not allowed to do this."),
  not_found: t("Not found. It may have been removed."),
  throttled: t("Too many requests. Wait a little and try again."),
  internal: t("Something went wrong on the server. Try again in a minute."),
  unavailable: t("The server is busy. Try again in a moment."),
  too_large: t("The file is too large."),
  attempt_in_use: t("The test is open in another tab or browser."),
  attempt_submitted: t("The test has already been submitted."),
  deadline_passed: t("The time for this test is up."),
  not_open: t("The test is not open yet."),
  closed: t("The test is closed."),
  other_attempt_active: t("You have another test in progress. Finish it first."),
  already_approved: t("The bank is already approved."),
  not_enough_questions: t("There are not enough approved questions in a section."),
  sections_required: t("A test must draw its questions from at least two sections."),
  bad_file: t("The file could not be read."),
  not_multipart: t("The file was not sent as a form upload."),
};

// Codes whose server message adds useful detail for staff (names a field, a line, a count).
const WITH_DETAIL = new Set([
  "forbidden",
  "too_large",
  "already_approved",
  "not_enough_questions",
  "bad_file",
]);

/**
 * A message for the person: the translated meaning of the error code, followed by the
 * server's own explanation when it adds detail (it names fields, lines, limits).
 */
export function errorText(err) {
  if (!(err instanceof ApiError)) return t("Something went wrong. Reload the page.");
  const known = MESSAGES[err.code];
  const detail = err.status > 0 && err.message && err.message !== err.code ? err.message : "";
  if (known && detail && WITH_DETAIL.has(err.code)) return `${known} (${detail})`;
  if (known) return known;
  return detail ? `${t("The request failed:")} ${detail}` : t("Something went wrong. Reload the page.");
}
