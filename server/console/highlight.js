// Protocol Buffers source: a tokenizer for highlighting, the imports, the
// package and the top-level types of a file, and its lines as elements.

import { h } from "./dom.js";

const KEYWORDS = new Set([
  "syntax", "edition", "package", "import", "public", "weak", "option", "message", "enum",
  "service", "rpc", "returns", "stream", "oneof", "map", "reserved", "extensions", "extend",
  "to", "max", "repeated", "optional", "required", "group",
]);
const SCALARS = new Set([
  "double", "float", "int32", "int64", "uint32", "uint64", "sint32", "sint64", "fixed32",
  "fixed64", "sfixed32", "sfixed64", "bool", "string", "bytes",
]);
const CONSTANTS = new Set(["true", "false", "inf", "nan"]);

const RULES = [
  ["comment", /\/\/[^\n]*|\/\*[\s\S]*?(?:\*\/|$)/y],
  ["string", /"(?:[^"\\\n]|\\.)*"?|'(?:[^'\\\n]|\\.)*'?/y],
  ["number", /-?(?:0[xX][0-9a-fA-F]+|\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)/y],
  ["ident", /[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*/y],
  ["space", /\s+/y],
  ["punct", /./y],
];

/** The tokens of `text`: `{kind, text}`, kinds `comment`, `string`,
 * `number`, `keyword`, `scalar`, `constant`, `ident`, `space`, `punct`. */
export function tokenize(text) {
  const tokens = [];
  let at = 0;
  while (at < text.length) {
    for (const [kind, re] of RULES) {
      re.lastIndex = at;
      const m = re.exec(text);
      if (!m || !m[0]) continue;
      let k = kind;
      if (kind === "ident") {
        if (KEYWORDS.has(m[0])) k = "keyword";
        else if (SCALARS.has(m[0])) k = "scalar";
        else if (CONSTANTS.has(m[0])) k = "constant";
      }
      tokens.push({ kind: k, text: m[0] });
      at += m[0].length;
      break;
    }
  }
  return tokens;
}

/** The imports (`{path, token}`), package and top-level types
 * (`{kind, name, token}`) of a file's tokens. */
export function outline(tokens) {
  const out = { imports: [], package: "", types: [] };
  let depth = 0;
  const significant = [];
  tokens.forEach((t, i) => {
    if (t.kind !== "space" && t.kind !== "comment") significant.push(i);
  });
  significant.forEach((i, n) => {
    const t = tokens[i];
    if (t.kind === "punct" && t.text === "{") depth += 1;
    else if (t.kind === "punct" && t.text === "}") depth = Math.max(0, depth - 1);
    if (depth !== 0 || t.kind !== "keyword") return;
    const next = tokens[significant[n + 1]];
    if (!next) return;
    if (t.text === "import") {
      let j = n + 1;
      let target = tokens[significant[j]];
      if (target && target.kind === "keyword" && (target.text === "public" || target.text === "weak")) {
        j += 1;
        target = tokens[significant[j]];
      }
      if (target && target.kind === "string") {
        out.imports.push({ path: target.text.slice(1, -1), token: significant[j] });
      }
    } else if (t.text === "package" && next.kind === "ident") {
      out.package = next.text;
    } else if ((t.text === "message" || t.text === "enum" || t.text === "service") && next.kind === "ident") {
      out.types.push({ kind: t.text, name: next.text, token: significant[n + 1] });
    }
  });
  return out;
}

/** `text` as highlighted, numbered lines: `<div class="line" id="{idPrefix}L{n}">`.
 * `importHref(path)` gives an import's link (or null); `typeHref(name)` a
 * top-level type's. */
export function sourceLines(text, idPrefix, importHref, typeHref) {
  const tokens = tokenize(text);
  const info = outline(tokens);
  const links = new Map();
  for (const imp of info.imports) {
    const href = importHref(imp.path);
    if (href) links.set(imp.token, { href, className: "import", label: `import ${imp.path}` });
  }
  for (const type of info.types) {
    const href = typeHref(type.name);
    if (href) links.set(type.token, { href, className: "type-link", label: `${type.kind} ${type.name}` });
  }
  const lines = [];
  let current = [];
  const flush = () => {
    const n = lines.length + 1;
    lines.push(
      h(
        "div",
        { className: "line", id: `${idPrefix}L${n}`, dataset: { line: n } },
        h("span", { className: "ln", "aria-hidden": "true" }, n),
        h("span", { className: "text" }, current),
      ),
    );
    current = [];
  };
  tokens.forEach((t, i) => {
    const parts = t.text.split("\n");
    parts.forEach((part, p) => {
      if (p > 0) flush();
      if (!part) return;
      const link = links.get(i);
      if (link) current.push(h("a", { href: link.href, className: `tok-${t.kind} ${link.className}`, title: link.label }, part));
      else if (t.kind === "space" || t.kind === "punct") current.push(part);
      else current.push(h("span", { className: `tok-${t.kind}` }, part));
    });
  });
  if (current.length || !text.endsWith("\n")) flush();
  return { lines, outline: info };
}
