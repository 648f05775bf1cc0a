// Small DOM helpers: elements are built, never parsed from strings, so no
// text from the registry can become markup.

/** `h("a", {href: "#/"}, "text", child)`: an element with attributes,
 * properties (`on*` handlers, `className`) and children (strings, nodes,
 * arrays, null). */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (key === "className") el.className = value;
    else if (key === "dataset") Object.assign(el.dataset, value);
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(child instanceof Node ? child : String(child));
  }
}

/** Replaces the children of `el`. */
export function replace(el, ...children) {
  el.textContent = "";
  append(el, children);
  return el;
}

/** A `#/...` link from path segments (each one URL-encoded) and a query. */
export function link(segments, query) {
  let href = "#/" + segments.map((s) => encodeURIComponent(String(s))).join("/");
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query || {})) {
    if (value !== null && value !== undefined && value !== "") params.set(key, value);
  }
  const q = params.toString();
  return q ? `${href}?${q}` : href;
}

/** A time as the reader's local date and time, the UTC value in `title`. */
export function time(iso) {
  if (!iso) return "";
  const date = new Date(iso);
  return h("time", { datetime: iso, title: iso }, date.toLocaleString());
}

/** A table with a caption, header cells and rows of cells. */
export function table(caption, headers, rows, attrs) {
  return h(
    "table",
    attrs || {},
    h("caption", {}, caption),
    h("thead", {}, h("tr", {}, headers.map((x) => h("th", { scope: "col" }, x)))),
    h("tbody", {}, rows),
  );
}

/** A problem (from `api`) as an alert a screen reader announces. */
export function problem(err) {
  const items = [];
  for (const e of err.errors || []) {
    items.push(h("li", {}, e.path !== undefined ? `${e.path}: ${e.message}` : `${e.file}:${e.line}:${e.column}: ${e.message}`));
  }
  for (const v of err.violations || []) {
    items.push(h("li", {}, `${v.file}:${v.line}: ${v.rule}: ${v.message}`));
  }
  return h(
    "div",
    { className: "problem", role: "alert" },
    h("strong", {}, err.title || "Error"),
    " ",
    err.message,
    err.code ? h("span", { className: "code" }, ` (${err.code})`) : null,
    items.length ? h("ul", {}, items) : null,
  );
}

/** A modal confirmation: resolves true when confirmed. */
export function confirmDialog(question, action) {
  return new Promise((resolve) => {
    const dialog = h(
      "dialog",
      { className: "confirm", "aria-labelledby": "confirm-question" },
      h("p", { id: "confirm-question" }, question),
      h(
        "div",
        { className: "buttons" },
        h("button", { type: "button", className: "danger", id: "confirm-yes", onclick: () => done(true) }, action),
        h("button", { type: "button", id: "confirm-no", onclick: () => done(false) }, "Cancel"),
      ),
    );
    dialog.addEventListener("cancel", () => done(false));
    function done(answer) {
      dialog.close();
      dialog.remove();
      resolve(answer);
    }
    document.body.append(dialog);
    dialog.showModal();
  });
}
