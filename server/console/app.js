// The console's shell: the token form, the caller's roles, and the router
// from the URL fragment (`#/ns/{ns}/…`) to a page of pages.js.

import { get, token, setToken, ApiError } from "./api.js";
import { h, replace, problem } from "./dom.js";
import * as pages from "./pages.js";

// Errors no page caught, kept for the browser tests (which fail on any).
window.__consoleErrors = [];
window.addEventListener("error", (e) => window.__consoleErrors.push(String(e.message)));
window.addEventListener("unhandledrejection", (e) => window.__consoleErrors.push(String(e.reason)));

const ROUTES = [
  [/^$/, pages.namespaces, []],
  [/^ns\/([^/]+)$/, pages.namespace, ["ns"]],
  [/^ns\/([^/]+)\/staging$/, pages.staging, ["ns"]],
  [/^ns\/([^/]+)\/search$/, pages.search, ["ns"]],
  [/^ns\/([^/]+)\/types\/([^/]+)$/, pages.type, ["ns", "full"]],
  [/^ns\/([^/]+)\/schemas\/([^/]+)$/, pages.schema, ["ns", "schema"]],
  [/^ns\/([^/]+)\/schemas\/([^/]+)\/diff$/, pages.diff, ["ns", "schema"]],
  [/^ns\/([^/]+)\/schemas\/([^/]+)\/v\/([^/]+)$/, pages.version, ["ns", "schema", "version"]],
];

const ROLES = { read: 1, write: 2, admin: 3 };
let whoami = null;
// Settled once the caller's roles are known; pages that hide buttons by
// role wait for it, the others draw at once.
let whoamiReady = Promise.resolve();
let current = null;

/** Whether the caller has `role` in `ns` (the server decides regardless). */
function can(ns, role) {
  if (!whoami) return false;
  return whoami.roles.some((g) => (g.namespace === "*" || g.namespace === ns) && ROLES[g.role] >= ROLES[role]);
}

async function loadWhoami() {
  try {
    whoami = await get("/v1/whoami");
  } catch (err) {
    whoami = null;
    if (!(err instanceof ApiError) || err.status !== 401) throw err;
  }
  const who = document.getElementById("who");
  if (whoami) {
    const roles = whoami.roles.map((g) => `${g.role} in ${g.namespace === "*" ? "every namespace" : g.namespace}`).join(", ");
    replace(who, `${whoami.anonymous ? "Anonymous" : whoami.name}: ${roles || "no role"}`);
  } else {
    replace(who, "Not signed in: enter a token");
  }
}

async function route() {
  if (current) current.abort();
  const controller = new AbortController();
  current = controller;
  const main = document.getElementById("main");
  const hash = location.hash.replace(/^#\/?/, "");
  const [path, queryString] = hash.split("?", 2);
  const query = new URLSearchParams(queryString || "");
  let found = null;
  for (const [re, page, names] of ROUTES) {
    const m = path.match(re);
    if (m) {
      const params = {};
      names.forEach((name, i) => (params[name] = decodeURIComponent(m[i + 1])));
      found = { page, params };
      break;
    }
  }
  main.setAttribute("aria-busy", "true");
  const ctx = {
    main,
    signal: controller.signal,
    params: found ? found.params : {},
    query,
    cache: {},
    can,
    ready: whoamiReady,
    title: (text) => (document.title = `${text} · protoreg`),
  };
  try {
    if (!found) {
      replace(main, h("h1", {}, "Not found"), h("p", {}, "No such page. ", h("a", { href: "#/" }, "Namespaces")));
    } else {
      await found.page(ctx);
    }
  } catch (err) {
    if (controller.signal.aborted) return;
    if (err instanceof ApiError) {
      const hint = err.status === 401 ? h("p", {}, "Enter a token above to see this page.") : null;
      replace(main, h("h1", {}, "Could not load this page"), problem(err), hint);
    } else {
      replace(main, h("h1", {}, "Could not load this page"), h("div", { className: "problem", role: "alert" }, String(err)));
    }
  }
  if (controller.signal.aborted) return;
  main.removeAttribute("aria-busy");
  const title = document.getElementById("page-title");
  if (title && document.activeElement === document.body) title.focus({ preventScroll: true });
  document.body.dataset.page = found ? found.page.name : "none";
  document.body.dataset.ready = String(Number(document.body.dataset.ready || 0) + 1);
  if (!performance.getEntriesByName("console-ready").length) performance.mark("console-ready");
}

function tokenForm() {
  const form = document.getElementById("token-form");
  const input = document.getElementById("token");
  const clear = document.getElementById("token-clear");
  clear.hidden = !token();
  // Enabled only once submitting is handled here: without this script the
  // form would put the token in a URL.
  form.querySelector("button[type=submit]").disabled = false;
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    setToken(input.value.trim());
    input.value = "";
    clear.hidden = !token();
    await refresh();
  });
  clear.addEventListener("click", async () => {
    setToken("");
    clear.hidden = true;
    await refresh();
  });
}

async function refresh() {
  whoamiReady = loadWhoami().catch((err) => {
    replace(document.getElementById("who"), `Could not ask who you are: ${err.message}`);
  });
  await route();
}

tokenForm();
window.addEventListener("hashchange", route);
refresh();
