// Translations for scripts: the page renders the catalogue of its language into
// <script type="application/json" id="i18n">; message ids are the English texts.

function readCatalogue() {
  const node = document.getElementById("i18n");
  if (!node) return {};
  try {
    const data = JSON.parse(node.textContent || "{}");
    return data && typeof data === "object" ? data : {};
  } catch {
    return {};
  }
}

const catalogue = readCatalogue();

/** The page's language ("ru" or "en"). */
export const lang = document.documentElement.lang || "ru";

/**
 * The translation of an English message id; `{name}` placeholders are filled from params.
 * @param {string} id
 * @param {Record<string, string | number>} [params]
 */
export function t(id, params) {
  const text = Object.prototype.hasOwnProperty.call(catalogue, id) ? catalogue[id] : id;
  if (!params) return text;
  return text.replace(/\{(\w+)\}/g, (whole, name) =>
    Object.prototype.hasOwnProperty.call(params, name) ? String(params[name]) : whole,
  );
}
