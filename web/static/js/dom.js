// Tiny DOM helpers. Text always goes in as text nodes (never as HTML).

/**
 * Create an element. props: className, text, hidden, attrs {name: value}, dataset,
 * on {event: handler}; children: nodes or strings (strings become text nodes).
 * @param {string} tag
 * @param {Record<string, any>} [props]
 * @param {...(Node|string|null|undefined|false)} children
 */
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "className") node.className = value;
    else if (key === "text") node.textContent = String(value);
    else if (key === "hidden") node.hidden = Boolean(value);
    else if (key === "attrs") {
      for (const [name, v] of Object.entries(value)) {
        if (v !== undefined && v !== null && v !== false) node.setAttribute(name, v === true ? "" : String(v));
      }
    } else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key === "on") {
      for (const [event, handler] of Object.entries(value)) node.addEventListener(event, handler);
    } else node[key] = value;
  }
  append(node, ...children);
  return node;
}

/** Append nodes or strings (as text) to a parent. */
export function append(parent, ...children) {
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    parent.append(typeof child === "string" || typeof child === "number" ? String(child) : child);
  }
  return parent;
}

/** Remove every child of a node. */
export function clear(node) {
  while (node.firstChild) node.removeChild(node.firstChild);
  return node;
}

/** Replace a node's children. */
export function replace(node, ...children) {
  clear(node);
  return append(node, ...children);
}

/** The element with this id (throws when the template lacks it). */
export function byId(id) {
  const node = document.getElementById(id);
  if (!node) throw new Error(`#${id} is missing from the page`);
  return node;
}

/** Show a message in an alert box (or hide the box for an empty message). */
export function showAlert(node, message) {
  node.textContent = message || "";
  node.hidden = !message;
}
