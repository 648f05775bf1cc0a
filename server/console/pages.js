// The pages of the console. Each takes the page context (`ctx`: the main
// element, an abort signal for the page's lifetime, the caller's roles, the
// route's parameters and query) and draws itself from the HTTP API.

import { api, get, getBlob, nsPath, followEvents, ApiError } from "./api.js";
import { h, replace, link, time, table, problem, confirmDialog } from "./dom.js";
import { sourceLines, tokenize, outline } from "./highlight.js";

function heading(ctx, text, ...crumbs) {
  ctx.title(text);
  return [
    h("nav", { "aria-label": "Breadcrumb", className: "crumbs" }, h("ol", {}, [
      h("li", {}, h("a", { href: "#/" }, "Namespaces")),
      ...crumbs.map(([label, href]) => h("li", {}, href ? h("a", { href }, label) : label)),
    ])),
    h("h1", { id: "page-title", tabindex: "-1" }, text),
  ];
}

function badge(text, kind) {
  return h("span", { className: `badge ${kind || ""}` }, text);
}

// ---- namespaces -------------------------------------------------------------

export async function namespaces(ctx) {
  const page = await get("/v1/namespaces", { signal: ctx.signal });
  const rows = page.namespaces.map((ns) =>
    h(
      "tr",
      { dataset: { ns: ns.id } },
      h("th", { scope: "row" }, h("a", { href: link(["ns", ns.id]) }, ns.id)),
      h("td", {}, ns.schema_count),
      h("td", {}, ns.staged_count ? h("a", { href: link(["ns", ns.id, "staging"]) }, badge(`${ns.staged_count} staged`, "staged")) : "—"),
      h("td", {}, ns.revision),
      h("td", {}, time(ns.updated_at)),
    ),
  );
  replace(
    ctx.main,
    heading(ctx, "Namespaces"),
    rows.length
      ? table("Namespaces you may read", ["Namespace", "Schemas", "Staged", "Revision", "Updated"], rows, { id: "namespaces" })
      : h("p", {}, "No namespace yet. Publish a schema with ", h("code", {}, "protoreg push"), "."),
  );
}

// ---- a namespace ------------------------------------------------------------

/** path → {schema, version} of every file of the namespace (current, else
 * staged), cached per page. */
async function fileIndex(ctx, ns) {
  const key = `files:${ns}`;
  if (ctx.cache[key]) return ctx.cache[key];
  const schemas = await allSchemas(ctx, ns);
  const index = new Map();
  await Promise.all(
    schemas.map(async (s) => {
      const version = s.current_version || s.staged_version;
      if (!version) return;
      const info = await get(nsPath(ns, "schemas", s.id, "versions", String(version)), { signal: ctx.signal });
      for (const file of info.files) index.set(file, { schema: s.id, version });
    }),
  );
  ctx.cache[key] = index;
  return index;
}

async function allSchemas(ctx, ns) {
  const out = [];
  let token = "";
  do {
    const page = await get(`${nsPath(ns, "schemas")}${token ? `?page_token=${encodeURIComponent(token)}` : ""}`, { signal: ctx.signal });
    out.push(...page.schemas);
    token = page.next_page_token || "";
  } while (token);
  return out;
}

function describeEvent(event) {
  const p = event.payload || {};
  switch (event.kind) {
    case "schema.published":
      return `${p.schema} v${p.version} published`;
    case "namespace.promoted":
      return `promoted ${(p.promoted || []).map((x) => `${x.schema} v${x.to_version}`).join(", ")}`;
    case "staging.discarded":
      return `discarded ${(p.discarded || []).join(", ")}`;
    case "schema.rolled_back":
      return `${p.schema} rolled back to v${p.version}`;
    case "codegen.finished":
      return `${p.plugin} for ${p.schema} v${p.version}: ${p.status}`;
    default:
      return event.kind;
  }
}

export async function namespace(ctx) {
  const { ns } = ctx.params;
  const [info, schemas] = await Promise.all([get(nsPath(ns), { signal: ctx.signal }), allSchemas(ctx, ns)]);
  const summary = h("p", { id: "ns-summary" });
  const schemaBody = h("tbody", {});
  const drawSummary = (i) =>
    replace(
      summary,
      `Revision ${i.revision} · ${i.schema_count} schemas · `,
      i.staged_count
        ? h("a", { href: link(["ns", ns, "staging"]), id: "staged-link" }, badge(`${i.staged_count} staged`, "staged"))
        : "nothing staged",
    );
  const drawSchemas = (list) =>
    replace(
      schemaBody,
      list.map((s) =>
        h(
          "tr",
          { dataset: { schema: s.id } },
          h("th", { scope: "row" }, h("a", { href: link(["ns", ns, "schemas", s.id]) }, s.id)),
          h("td", { className: "current" }, s.current_version ? h("a", { href: link(["ns", ns, "schemas", s.id, "v", s.current_version]) }, `v${s.current_version}`) : "—"),
          h("td", { className: "staged" }, s.staged_version ? h("a", { href: link(["ns", ns, "schemas", s.id, "v", s.staged_version]) }, badge(`v${s.staged_version}`, "staged")) : "—"),
          h("td", {}, time(s.updated_at)),
        ),
      ),
    );
  drawSummary(info);
  drawSchemas(schemas);
  const settings = info.settings || {};
  const compat = settings.compat || {};
  const codegen = settings.codegen || [];
  const events = h("ol", { id: "events", className: "events", "aria-live": "polite" });
  const streamState = h("span", { id: "stream-state", className: "muted" }, "connecting");
  replace(
    ctx.main,
    heading(ctx, ns, [ns]),
    summary,
    h("p", { className: "actions" },
      h("a", { href: link(["ns", ns, "staging"]), className: "button" }, "Staging"),
      h("a", { href: link(["ns", ns, "search"]), className: "button" }, "Search"),
    ),
    h("table", { id: "schemas" },
      h("caption", {}, "Schemas"),
      h("thead", {}, h("tr", {}, ["Schema", "Current", "Staged", "Updated"].map((x) => h("th", { scope: "col" }, x)))),
      schemaBody,
    ),
    h("section", { "aria-labelledby": "settings-h" },
      h("h2", { id: "settings-h" }, "Settings"),
      h("dl", { className: "settings" },
        h("dt", {}, "Compatibility"), h("dd", { id: "compat-mode" }, compat.mode || "BACKWARD"),
        h("dt", {}, "Code generation"),
        h("dd", {}, codegen.length ? h("ul", {}, codegen.map((c) => h("li", {}, c.plugin, c.parameter ? ` (${c.parameter})` : ""))) : "none"),
      ),
    ),
    h("section", { "aria-labelledby": "events-h" },
      h("h2", { id: "events-h" }, "Recent events ", streamState),
      events,
    ),
  );
  const addEvent = (event) => {
    events.prepend(h("li", { dataset: { kind: event.kind, id: event.id } }, time(event.created_at), " ", h("strong", {}, event.kind), " ", describeEvent(event)));
    while (events.children.length > 20) events.lastChild.remove();
  };
  // The recent history, then the live stream after it.
  let after = 0;
  try {
    let page;
    const recent = [];
    do {
      page = await get(`/v1/events?namespace=${encodeURIComponent(ns)}&after=${after}&limit=1000`, { signal: ctx.signal });
      recent.push(...page.events);
      after = page.last_id;
    } while (page.events.length === 1000);
    recent.slice(-20).forEach(addEvent);
  } catch (err) {
    if (ctx.signal.aborted) return;
    replace(streamState, `unavailable: ${err.message}`);
    return;
  }
  let refreshing = null;
  const refresh = async () => {
    try {
      const [i, s] = await Promise.all([get(nsPath(ns), { signal: ctx.signal }), allSchemas(ctx, ns)]);
      drawSummary(i);
      drawSchemas(s);
    } catch (err) {
      if (!ctx.signal.aborted) replace(streamState, `refresh failed: ${err.message}`);
    }
  };
  followEvents({ namespace: ns }, after, ctx.signal, (event) => {
    addEvent(event);
    refreshing = (refreshing || Promise.resolve()).then(refresh);
  }, (state) => replace(streamState, state));
}

// ---- a schema ---------------------------------------------------------------

export async function schema(ctx) {
  const { ns, schema: id } = ctx.params;
  const [info, plugins] = await Promise.all([
    get(nsPath(ns, "schemas", id), { signal: ctx.signal }),
    get("/v1/plugins", { signal: ctx.signal }).catch(() => ({ plugins: [] })),
  ]);
  const generators = plugins.plugins.flatMap((p) => (p.generators || []).map((g) => (typeof g === "string" ? g : g.name)));
  const versions = [...info.versions].sort((a, b) => b.version - a.version);
  const rows = versions.map((v) =>
    h(
      "tr",
      { dataset: { version: v.version } },
      h("th", { scope: "row" }, h("a", { href: link(["ns", ns, "schemas", id, "v", v.version]) }, `v${v.version}`)),
      h("td", {}, v.state === "previous" ? v.state : badge(v.state, v.state)),
      h("td", {}, v.created_by || "—"),
      h("td", {}, time(v.created_at)),
      h("td", {}, Object.keys(v.metadata || {}).length ? h("code", {}, JSON.stringify(v.metadata)) : "—"),
      h("td", {}, h("code", { className: "fingerprint", title: v.fingerprint }, v.fingerprint.slice(0, 12))),
      h("td", {}, v.files.length),
      h("td", {}, v.version > 1 ? h("a", { href: link(["ns", ns, "schemas", id, "diff"], { from: v.version - 1, to: v.version }) }, `diff v${v.version - 1}`) : "—"),
    ),
  );
  const downloads = generators.length && info.current_version
    ? h("section", { "aria-labelledby": "gen-h" },
      h("h2", { id: "gen-h" }, `Generated code (v${info.current_version})`),
      h("ul", { className: "downloads" }, generators.map((g) =>
        h("li", {}, h("button", {
          type: "button",
          onclick: (e) => download(e.target, nsPath(ns, "schemas", id, "versions", String(info.current_version), "generated", g), `${id}-v${info.current_version}-${g}.tar.gz`),
        }, `Download ${g}`)))))
    : null;
  replace(
    ctx.main,
    heading(ctx, id, [ns, link(["ns", ns])], [id]),
    h("p", {}, `Current v${info.current_version ?? "—"} · staged ${info.staged_version ? `v${info.staged_version}` : "—"}`),
    table("Versions", ["Version", "State", "Author", "Published", "Metadata", "Fingerprint", "Files", "Diff"], rows, { id: "versions" }),
    downloads,
  );
}

async function download(button, path, filename) {
  const label = button.textContent;
  button.disabled = true;
  button.textContent = "Generating…";
  try {
    const blob = await getBlob(path);
    const url = URL.createObjectURL(blob);
    const a = h("a", { href: url, download: filename });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
    button.textContent = label;
  } catch (err) {
    button.textContent = label;
    button.after(problem(err));
  } finally {
    button.disabled = false;
  }
}

// ---- a version --------------------------------------------------------------

function fileId(path) {
  return `f-${path.replace(/[^A-Za-z0-9]/g, "_")}`;
}

export async function version(ctx) {
  const { ns, schema: id, version: v } = ctx.params;
  const [info, sources, index] = await Promise.all([
    get(nsPath(ns, "schemas", id, "versions", v), { signal: ctx.signal }),
    get(nsPath(ns, "schemas", id, "versions", v, "sources"), { signal: ctx.signal }),
    fileIndex(ctx, ns),
  ]);
  const paths = Object.keys(sources.sources).sort();
  const selected = paths.includes(ctx.query.get("file")) ? ctx.query.get("file") : paths[0];
  const importHref = (path) => {
    if (sources.sources[path] !== undefined) return link(["ns", ns, "schemas", id, "v", v], { file: path });
    const owner = index.get(path);
    return owner ? link(["ns", ns, "schemas", owner.schema, "v", owner.version], { file: path }) : null;
  };
  const text = sources.sources[selected] || "";
  const pkg = outline(tokenize(text)).package;
  const typeHref = (name) => link(["ns", ns, "types", pkg ? `${pkg}.${name}` : name], { schema: id, version: v });
  const { lines, outline: info2 } = sourceLines(text, `${fileId(selected)}-`, importHref, typeHref);
  replace(
    ctx.main,
    heading(ctx, `${id} v${info.version}`, [ns, link(["ns", ns])], [id, link(["ns", ns, "schemas", id])], [`v${info.version}`]),
    h("p", {}, badge(info.state, info.state), ` · ${info.created_by || "unknown author"} · `, time(info.created_at), " · ", h("code", { className: "fingerprint" }, info.fingerprint)),
    h("div", { className: "split" },
      h("nav", { "aria-label": "Files", className: "files" },
        h("h2", {}, "Files"),
        h("ul", {}, paths.map((p) => h("li", {}, h("a", { href: link(["ns", ns, "schemas", id, "v", v], { file: p }), "aria-current": p === selected ? "page" : null }, p)))),
        info2.types.length ? [h("h2", {}, "Types"), h("ul", { id: "types" }, info2.types.map((t) => h("li", {}, h("a", { href: typeHref(t.name) }, `${t.kind} ${t.name}`))))] : null,
      ),
      h("section", { className: "file", id: fileId(selected), "aria-labelledby": "file-path" },
        h("h2", { id: "file-path", className: "path" }, selected),
        h("div", { className: "source", role: "region", "aria-label": `Source of ${selected}`, tabindex: "0" }, lines),
      ),
    ),
  );
  const line = Number(ctx.query.get("line"));
  if (line) {
    const el = document.getElementById(`${fileId(selected)}-L${line}`);
    if (el) {
      el.classList.add("target");
      el.scrollIntoView({ block: "center" });
    }
  }
}

// ---- a type -----------------------------------------------------------------

const FIELD_TYPES = {
  TYPE_DOUBLE: "double", TYPE_FLOAT: "float", TYPE_INT64: "int64", TYPE_UINT64: "uint64",
  TYPE_INT32: "int32", TYPE_FIXED64: "fixed64", TYPE_FIXED32: "fixed32", TYPE_BOOL: "bool",
  TYPE_STRING: "string", TYPE_BYTES: "bytes", TYPE_UINT32: "uint32", TYPE_SFIXED32: "sfixed32",
  TYPE_SFIXED64: "sfixed64", TYPE_SINT32: "sint32", TYPE_SINT64: "sint64",
};

function fieldType(ns, f, query) {
  const name = f.typeName || f.type_name;
  if (name) {
    const full = name.replace(/^\./, "");
    return h("a", { href: link(["ns", ns, "types", full], query) }, full);
  }
  const t = f.type;
  return FIELD_TYPES[t] || String(t).replace(/^TYPE_/, "").toLowerCase();
}

export async function type(ctx) {
  const { ns, full } = ctx.params;
  const query = { schema: ctx.query.get("schema"), version: ctx.query.get("version") };
  const params = new URLSearchParams(Object.entries(query).filter(([, x]) => x));
  const info = await get(`${nsPath(ns, "types", full)}${params.size ? `?${params}` : ""}`, { signal: ctx.signal });
  const d = info.descriptor || {};
  const parts = [];
  if (info.kind === "message") {
    const fields = d.field || [];
    parts.push(table("Fields", ["Field", "Number", "Label", "Type"], fields.map((f) =>
      h("tr", { dataset: { field: f.name } },
        h("th", { scope: "row" }, f.name),
        h("td", {}, f.number),
        h("td", {}, String(f.label || "").replace(/^LABEL_/, "").toLowerCase()),
        h("td", {}, fieldType(ns, f, query)),
      )), { id: "fields" }));
    const nested = [...(d.nestedType || d.nested_type || []), ...(d.enumType || d.enum_type || [])];
    if (nested.length) {
      parts.push(h("h2", {}, "Nested types"), h("ul", { id: "nested" }, nested.map((n) => h("li", {}, h("a", { href: link(["ns", ns, "types", `${full}.${n.name}`], query) }, n.name)))));
    }
    parts.push(tryIt(ctx, ns, full, params));
  } else if (info.kind === "enum") {
    parts.push(table("Values", ["Name", "Number"], (d.value || []).map((x) => h("tr", {}, h("th", { scope: "row" }, x.name), h("td", {}, x.number)))));
  } else if (info.kind === "service") {
    parts.push(table("Methods", ["Method", "Input", "Output"], (d.method || []).map((m) =>
      h("tr", {}, h("th", { scope: "row" }, m.name),
        h("td", {}, fieldType(ns, { typeName: m.inputType || m.input_type }, query)),
        h("td", {}, fieldType(ns, { typeName: m.outputType || m.output_type }, query))))));
  }
  parts.push(await usedBy(ctx, ns, full));
  const fileHref = info.schema ? link(["ns", ns, "schemas", info.schema, "v", query.version || "current"], { file: info.file }) : null;
  replace(
    ctx.main,
    heading(ctx, full, [ns, link(["ns", ns])], [full]),
    h("p", {}, `${info.kind} in `, fileHref ? h("a", { href: fileHref }, info.file) : info.file, info.schema ? ` (schema ${info.schema})` : ""),
    parts,
  );
}

/** Where `full` is used in the namespace's current descriptor: fields of
 * that type and methods taking or returning it. */
async function usedBy(ctx, ns, full) {
  let set;
  try {
    set = await get(`${nsPath(ns, "descriptor")}?format=json`, { signal: ctx.signal });
  } catch (err) {
    if (ctx.signal.aborted) throw err;
    return h("p", { className: "muted" }, `Where it is used: unavailable (${err.message}).`);
  }
  const target = `.${full}`;
  const uses = [];
  for (const file of set.file || []) {
    const pkg = file.package ? `${file.package}.` : "";
    const walk = (m, prefix) => {
      const owner = `${prefix}${m.name}`;
      for (const f of m.field || []) {
        if ((f.typeName || f.type_name) === target) uses.push({ type: owner, what: `field ${owner}.${f.name}` });
      }
      for (const n of m.nestedType || m.nested_type || []) walk(n, `${owner}.`);
    };
    for (const m of file.messageType || file.message_type || []) walk(m, pkg);
    for (const svc of file.service || []) {
      for (const method of svc.method || []) {
        const io = [method.inputType || method.input_type, method.outputType || method.output_type];
        if (io.includes(target)) uses.push({ type: `${pkg}${svc.name}`, what: `method ${pkg}${svc.name}.${method.name}` });
      }
    }
  }
  return h("section", { "aria-labelledby": "used-h" },
    h("h2", { id: "used-h" }, "Where it is used"),
    uses.length
      ? h("ul", { id: "used-by" }, uses.map((u) => h("li", {}, h("a", { href: link(["ns", ns, "types", u.type]) }, u.what))))
      : h("p", { id: "used-by" }, "Not used by another current type."));
}

function tryIt(ctx, ns, full, params) {
  const input = h("textarea", { id: "try-input", rows: 8, spellcheck: "false" }, "{}");
  const output = h("div", { id: "try-output", "aria-live": "polite" });
  const format = h("select", { id: "try-to" }, ["json", "text", "binary"].map((x) => h("option", { value: x }, x)));
  const suffix = params.size ? `?${params}` : "";
  const validate = async () => {
    replace(output, "Validating…");
    try {
      const r = await api("POST", `${nsPath(ns, "types", full, "validate")}${suffix}`, input.value, { contentType: "application/json" });
      replace(output, r.valid
        ? h("p", { className: "ok", id: "try-valid" }, "Valid.")
        : h("div", { className: "problem", role: "alert" }, h("strong", {}, "Invalid"), h("ul", { id: "try-errors" }, r.errors.map((e) => h("li", {}, h("code", {}, e.path || "(message)"), `: ${e.message}`)))));
    } catch (err) {
      replace(output, problem(err));
    }
  };
  const transcode = async () => {
    replace(output, "Converting…");
    const q = new URLSearchParams(params);
    q.set("to", format.value);
    try {
      const response = await fetch(`${nsPath(ns, "types", full, "transcode")}?${q}`, {
        method: "POST",
        headers: Object.assign({ "Content-Type": "application/json" }, authHeader()),
        body: input.value,
      });
      if (!response.ok) throw new ApiError(response.status, await response.json().catch(() => ({})));
      if (format.value === "binary") {
        const bytes = new Uint8Array(await response.arrayBuffer());
        replace(output, h("pre", { id: "try-result" }, Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join(" ")));
      } else {
        replace(output, h("pre", { id: "try-result" }, await response.text()));
      }
    } catch (err) {
      replace(output, problem(err));
    }
  };
  return h("section", { "aria-labelledby": "try-h", className: "try" },
    h("h2", { id: "try-h" }, "Try it"),
    h("label", { for: "try-input" }, `A ${full} as JSON`),
    input,
    h("div", { className: "buttons" },
      h("button", { type: "button", id: "try-validate", onclick: validate }, "Validate"),
      h("label", { for: "try-to" }, "Convert to"), format,
      h("button", { type: "button", id: "try-transcode", onclick: transcode }, "Convert"),
    ),
    output,
  );
}

function authHeader() {
  const t = sessionStorage.getItem("protoreg.token");
  return t ? { Authorization: `Bearer ${t}` } : {};
}

// ---- diff -------------------------------------------------------------------

/** The line pairs of a side-by-side diff of `a` and `b` (LCS). */
export function diffLines(a, b) {
  const n = a.length;
  const m = b.length;
  if (n * m > 4_000_000) {
    // Too big to align: show both sides whole.
    const rows = [];
    for (let i = 0; i < Math.max(n, m); i++) rows.push({ kind: "change", left: i < n ? i : null, right: i < m ? i : null });
    return rows;
  }
  const lcs = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[i][j] = a[i] === b[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
    }
  }
  const rows = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] === b[j]) rows.push({ kind: "same", left: i++, right: j++ });
    else if (j < m && (i === n || lcs[i][j + 1] >= lcs[i + 1][j])) rows.push({ kind: "added", left: null, right: j++ });
    else rows.push({ kind: "removed", left: i++, right: null });
  }
  return rows;
}

export async function diff(ctx) {
  const { ns, schema: id } = ctx.params;
  const info = await get(nsPath(ns, "schemas", id), { signal: ctx.signal });
  const numbers = info.versions.map((v) => v.version).sort((x, y) => x - y);
  const latest = numbers[numbers.length - 1];
  const to = ctx.query.get("to") || String(latest);
  const from = ctx.query.get("from") || String(numbers.length > 1 ? numbers[numbers.length - 2] : latest);
  const select = (name, value) =>
    h("select", { id: `diff-${name}`, name }, numbers.map((x) => h("option", { value: x, selected: String(x) === value }, `v${x}`)));
  const fromSel = select("from", from);
  const toSel = select("to", to);
  const form = h("form", {
    className: "diff-form",
    onsubmit: (e) => {
      e.preventDefault();
      location.hash = link(["ns", ns, "schemas", id, "diff"], { from: fromSel.value, to: toSel.value });
    },
  }, h("label", { for: "diff-from" }, "From"), fromSel, h("label", { for: "diff-to" }, "To"), toSel, h("button", { type: "submit" }, "Compare"));
  const [result, left, right] = await Promise.all([
    get(`${nsPath(ns, "schemas", id, "diff")}?from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`, { signal: ctx.signal }),
    get(nsPath(ns, "schemas", id, "versions", from, "sources"), { signal: ctx.signal }),
    get(nsPath(ns, "schemas", id, "versions", to, "sources"), { signal: ctx.signal }),
  ]);
  const violations = result.violations || [];
  const byLine = new Map();
  for (const v of violations) {
    const key = `${v.file}:${v.line}`;
    if (!byLine.has(key)) byLine.set(key, []);
    byLine.get(key).push(v);
  }
  const files = [...new Set([...Object.keys(left.sources), ...Object.keys(right.sources)])].sort();
  const sections = files.map((file) => {
    const a = (left.sources[file] ?? "").split("\n");
    const b = (right.sources[file] ?? "").split("\n");
    if (a[a.length - 1] === "") a.pop();
    if (b[b.length - 1] === "") b.pop();
    const rows = diffLines(a, b).map((row) => {
      const found = row.right !== null ? byLine.get(`${file}:${row.right + 1}`) : null;
      return h("tr", { className: `${row.kind}${found ? " violation" : ""}`, dataset: { right: row.right !== null ? row.right + 1 : "" }, title: found ? found.map((v) => `${v.rule}: ${v.message}`).join("\n") : null },
        h("td", { className: "ln" }, row.left !== null ? row.left + 1 : ""),
        h("td", { className: "code old" }, row.left !== null ? a[row.left] : ""),
        h("td", { className: "ln" }, row.right !== null ? row.right + 1 : ""),
        h("td", { className: "code new" }, row.right !== null ? b[row.right] : "", found ? h("span", { className: "marker" }, ` ⚠ ${found.map((v) => v.rule).join(", ")}`) : null),
      );
    });
    return h("section", { className: "diff-file", dataset: { file } },
      h("h2", { className: "path" }, file, left.sources[file] === undefined ? " (added)" : right.sources[file] === undefined ? " (removed)" : ""),
      h("table", { className: "diff" },
        h("caption", { className: "sr-only" }, `${file}: v${from} on the left, v${to} on the right`),
        h("thead", {}, h("tr", {}, h("th", { scope: "col", className: "ln" }, "#"), h("th", { scope: "col" }, `v${from}`), h("th", { scope: "col", className: "ln" }, "#"), h("th", { scope: "col" }, `v${to}`))),
        h("tbody", {}, rows)));
  });
  const changes = ["added", "removed", "changed"].flatMap((k) => (result[k] || []).map((c) => h("li", {}, `${k}: ${c.kind} ${c.name}`)));
  replace(
    ctx.main,
    heading(ctx, `${id}: v${from} → v${to}`, [ns, link(["ns", ns])], [id, link(["ns", ns, "schemas", id])], ["diff"]),
    form,
    violations.length
      ? h("div", { className: "problem", role: "alert" }, h("strong", {}, `${violations.length} compatibility violation${violations.length > 1 ? "s" : ""}`),
        h("ul", { id: "violations" }, violations.map((v) => h("li", {}, h("code", {}, `${v.file}:${v.line}`), ` ${v.rule}: ${v.message}`))))
      : h("p", { className: "ok", id: "no-violations" }, "Compatible: no violation."),
    changes.length ? h("details", {}, h("summary", {}, `${changes.length} change${changes.length > 1 ? "s" : ""}`), h("ul", {}, changes)) : null,
    sections,
  );
}

// ---- staging ----------------------------------------------------------------

export async function staging(ctx) {
  const { ns } = ctx.params;
  const [page] = await Promise.all([get(nsPath(ns, "staging"), { signal: ctx.signal }), ctx.ready]);
  const admin = ctx.can(ns, "admin");
  const output = h("div", { id: "promote-output", "aria-live": "polite" });
  const showViolations = (err) => replace(output, problem(err));
  const dryRun = async () => {
    replace(output, "Checking…");
    try {
      const r = await api("POST", nsPath(ns, "promote"), { dry_run: true });
      replace(output, h("div", { className: "ok", id: "dry-run-ok" }, h("strong", {}, "A promote would succeed: "),
        r.promoted.map((p) => `${p.schema} v${p.from_version ?? "—"} → v${p.to_version}`).join(", ") || "nothing to promote"));
    } catch (err) {
      showViolations(err);
    }
  };
  const promote = async () => {
    if (!(await confirmDialog(`Promote every staged version of ${ns}?`, "Promote"))) return;
    replace(output, "Promoting…");
    try {
      const r = await api("POST", nsPath(ns, "promote"), {});
      replace(output, h("p", { className: "ok", id: "promoted" }, `Promoted ${r.promoted.map((p) => `${p.schema} v${p.to_version}`).join(", ")} (revision ${r.revision}).`));
      await redraw();
    } catch (err) {
      showViolations(err);
    }
  };
  const discard = async () => {
    if (!(await confirmDialog(`Discard every staged version of ${ns}?`, "Discard"))) return;
    try {
      const r = await api("DELETE", nsPath(ns, "staging"));
      replace(output, h("p", { className: "ok" }, `Discarded ${r.discarded.join(", ")}.`));
      await redraw();
    } catch (err) {
      showViolations(err);
    }
  };
  const list = h("div", {});
  const redraw = async () => {
    const p = await get(nsPath(ns, "staging"), { signal: ctx.signal });
    drawList(p);
  };
  const drawList = (p) => replace(list, p.staged.length
    ? table("Staged versions", ["Schema", "Staged", "Current", "Diff"], p.staged.map((s) =>
      h("tr", { dataset: { schema: s.schema } },
        h("th", { scope: "row" }, h("a", { href: link(["ns", ns, "schemas", s.schema]) }, s.schema)),
        h("td", {}, h("a", { href: link(["ns", ns, "schemas", s.schema, "v", s.version]) }, `v${s.version}`)),
        h("td", {}, s.current_version ? `v${s.current_version}` : "—"),
        h("td", {}, s.current_version ? h("a", { href: link(["ns", ns, "schemas", s.schema, "diff"], { from: s.current_version, to: s.version }) }, "diff") : "new"),
      )), { id: "staged" })
    : h("p", { id: "nothing-staged" }, "Nothing is staged."));
  drawList(page);
  replace(
    ctx.main,
    heading(ctx, `Staging: ${ns}`, [ns, link(["ns", ns])], ["staging"]),
    list,
    h("div", { className: "buttons" },
      admin ? h("button", { type: "button", id: "dry-run", onclick: dryRun }, "Dry-run promote") : null,
      admin ? h("button", { type: "button", id: "promote", className: "primary", onclick: promote }, "Promote") : null,
      admin ? h("button", { type: "button", id: "discard", className: "danger", onclick: discard }, "Discard") : null,
    ),
    admin ? null : h("p", { className: "muted", id: "not-admin" }, "Promoting (and its dry run) and discarding need the admin role in this namespace."),
    output,
  );
}

// ---- search -----------------------------------------------------------------

function walkDescriptor(set) {
  const entries = [];
  for (const file of set.file || []) {
    const pkg = file.package ? `${file.package}.` : "";
    entries.push({ kind: "file", name: file.name, file: file.name });
    const message = (m, prefix) => {
      const full = `${prefix}${m.name}`;
      entries.push({ kind: "message", name: full, file: file.name });
      for (const f of m.field || []) entries.push({ kind: "field", name: `${full}.${f.name}`, type: full, file: file.name });
      for (const n of m.nestedType || m.nested_type || []) message(n, `${full}.`);
      for (const e of m.enumType || m.enum_type || []) entries.push({ kind: "enum", name: `${full}.${e.name}`, file: file.name });
    };
    for (const m of file.messageType || file.message_type || []) message(m, pkg);
    for (const e of file.enumType || file.enum_type || []) entries.push({ kind: "enum", name: `${pkg}${e.name}`, file: file.name });
    for (const s of file.service || []) entries.push({ kind: "service", name: `${pkg}${s.name}`, file: file.name });
  }
  return entries;
}

export async function search(ctx) {
  const { ns } = ctx.params;
  const q = (ctx.query.get("q") || "").trim();
  const input = h("input", { id: "search-q", type: "search", name: "q", value: q, autocomplete: "off" });
  const form = h("form", {
    role: "search",
    onsubmit: (e) => {
      e.preventDefault();
      location.hash = link(["ns", ns, "search"], { q: input.value });
    },
  }, h("label", { for: "search-q" }, "Type, field or file name"), input, h("button", { type: "submit" }, "Search"));
  let results = null;
  if (q) {
    const [set, index] = await Promise.all([get(`${nsPath(ns, "descriptor")}?format=json`, { signal: ctx.signal }), fileIndex(ctx, ns)]);
    const needle = q.toLowerCase();
    const hits = walkDescriptor(set).filter((e) => e.name.toLowerCase().includes(needle)).slice(0, 200);
    results = hits.length
      ? h("ul", { id: "search-results" }, hits.map((e) => {
        const owner = index.get(e.file);
        const href = e.kind === "file"
          ? owner ? link(["ns", ns, "schemas", owner.schema, "v", owner.version], { file: e.file }) : null
          : link(["ns", ns, "types", e.kind === "field" ? e.type : e.name]);
        return h("li", {}, badge(e.kind), " ", href ? h("a", { href }, e.name) : e.name, e.kind !== "file" ? h("span", { className: "muted" }, ` in ${e.file}`) : null);
      }))
      : h("p", { id: "search-results" }, "No match.");
  }
  replace(ctx.main, heading(ctx, `Search ${ns}`, [ns, link(["ns", ns])], ["search"]), form, results);
  if (!q) input.focus();
}
