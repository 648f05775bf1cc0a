// The HTTP API, as the console calls it: same origin, the token (if any)
// from session storage as a bearer token, problems as `ApiError`.

const TOKEN_KEY = "protoreg.token";

export function token() {
  return sessionStorage.getItem(TOKEN_KEY) || "";
}

export function setToken(value) {
  if (value) sessionStorage.setItem(TOKEN_KEY, value);
  else sessionStorage.removeItem(TOKEN_KEY);
}

export class ApiError extends Error {
  constructor(status, problem) {
    super(problem.detail || problem.title || `HTTP ${status}`);
    this.status = status;
    this.code = problem.code;
    this.title = problem.title;
    this.errors = problem.errors || [];
    this.violations = problem.violations || [];
  }
}

function headers(extra) {
  const out = Object.assign({ Accept: "application/json" }, extra || {});
  const t = token();
  if (t) out.Authorization = `Bearer ${t}`;
  return out;
}

/** `/v1/namespaces/{ns}/…` with each segment encoded. */
export function nsPath(ns, ...rest) {
  return ["/v1/namespaces", ns, ...rest].map((s, i) => (i ? encodeURIComponent(s) : s)).join("/");
}

async function fail(response) {
  let problem = {};
  try {
    problem = await response.json();
  } catch {
    problem = { title: response.statusText };
  }
  throw new ApiError(response.status, problem);
}

/** A JSON call: the parsed body, or throws `ApiError`. */
export async function api(method, path, body, options) {
  const init = { method, headers: headers(), signal: options && options.signal };
  if (body !== undefined) {
    init.headers["Content-Type"] = (options && options.contentType) || "application/json";
    init.body = typeof body === "string" ? body : JSON.stringify(body);
  }
  const response = await fetch(path, init);
  if (!response.ok) await fail(response);
  if (response.status === 204) return null;
  const type = response.headers.get("Content-Type") || "";
  return type.includes("json") ? response.json() : response.text();
}

export const get = (path, options) => api("GET", path, undefined, options);

/** Raw bytes of a GET (code generation archives), or throws `ApiError`. */
export async function getBlob(path) {
  const response = await fetch(path, { headers: headers({ Accept: "*/*" }) });
  if (!response.ok) await fail(response);
  return response.blob();
}

/** Follows `/v1/events/stream` (fetch, not EventSource, so that the token
 * goes in a header): calls `onEvent(event)` for each event after `after`
 * until `signal` aborts; reconnects after a drop, resuming after the last
 * id seen. */
export async function followEvents(query, after, signal, onEvent, onState) {
  let last = after;
  let delay = 500;
  while (!signal.aborted) {
    try {
      const params = new URLSearchParams(query);
      params.set("after", String(last));
      const response = await fetch(`/v1/events/stream?${params}`, {
        headers: headers({ Accept: "text/event-stream" }),
        signal,
      });
      if (!response.ok) await fail(response);
      onState("live");
      delay = 500;
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        let end;
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const data = block
            .split("\n")
            .filter((line) => line.startsWith("data:"))
            .map((line) => line.slice(5).trimStart())
            .join("\n");
          if (!data) continue;
          const event = JSON.parse(data);
          if (typeof event.id === "number") {
            last = event.id;
            onEvent(event);
          }
        }
      }
    } catch (err) {
      if (signal.aborted) return;
      if (err instanceof ApiError && (err.status === 401 || err.status === 403)) {
        onState(`stopped: ${err.message}`);
        return;
      }
    }
    if (signal.aborted) return;
    onState("reconnecting");
    await new Promise((resolve) => setTimeout(resolve, delay));
    delay = Math.min(delay * 2, 10000);
  }
}
