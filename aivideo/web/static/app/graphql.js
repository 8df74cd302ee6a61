// The page's only way to the server: GraphQL over HTTP, multipart uploads, graphql-ws.
import { createClient } from "../vendor/graphql-ws-5.16.2/client.mjs";

const KEY_STORAGE = "aivideo.apiKey";
const ENDPOINT = new URL("/graphql", window.location.href);

/** A GraphQL error with its extensions.code, or a transport failure. */
export class ApiError extends Error {
  constructor(code, message) {
    super(message);
    this.code = code;
  }
  toString() {
    return `${this.code}: ${this.message}`;
  }
}

const unauthenticatedListeners = new Set();
export function onUnauthenticated(listener) {
  unauthenticatedListeners.add(listener);
}
function unauthenticated(message) {
  for (const listener of unauthenticatedListeners) listener(message);
}

// The key stays in this browser: localStorage, sent only to this server.
export function apiKey() {
  return window.localStorage.getItem(KEY_STORAGE) || "";
}
export function setApiKey(key) {
  if (key) window.localStorage.setItem(KEY_STORAGE, key);
  else window.localStorage.removeItem(KEY_STORAGE);
  socket?.dispose(); // the next subscription reconnects with the new key
  socket = null;
}

function headers({ json }) {
  // JSON requests say so; multipart ones carry a header a cross-site form cannot send.
  const result = json ? { "Content-Type": "application/json" } : { "x-aivideo-csrf": "1" };
  const key = apiKey();
  if (key) result.Authorization = `Bearer ${key}`;
  return result;
}

async function post(body, requestHeaders) {
  let response;
  try {
    response = await fetch(ENDPOINT, { method: "POST", headers: requestHeaders, body });
  } catch (error) {
    throw new ApiError("NETWORK", `the server did not answer (${error.message})`);
  }
  const text = await response.text();
  let payload;
  try {
    payload = JSON.parse(text);
  } catch {
    throw new ApiError(`HTTP ${response.status}`, text.slice(0, 300) || response.statusText);
  }
  if (payload.errors?.length) {
    const [first] = payload.errors;
    const code = first.extensions?.code ?? `HTTP ${response.status}`;
    if (code === "UNAUTHENTICATED") unauthenticated(first.message);
    throw new ApiError(code, first.message);
  }
  return payload.data;
}

export function gql(query, variables = {}) {
  return post(JSON.stringify({ query, variables }), headers({ json: true }));
}

/** One file as `variables[name]`, by the GraphQL multipart request spec. */
export function upload(query, variables, name, file) {
  const form = new FormData();
  form.append("operations", JSON.stringify({ query, variables: { ...variables, [name]: null } }));
  form.append("map", JSON.stringify({ 0: [`variables.${name}`] }));
  form.append("0", file, file.name);
  return post(form, headers({ json: false }));
}

let socket = null;
const reconnectListeners = new Set();
/** Called after the websocket came back: events may have been missed meanwhile. */
export function onReconnect(listener) {
  reconnectListeners.add(listener);
}

function client() {
  if (socket) return socket;
  let connections = 0;
  socket = createClient({
    url: ENDPOINT.toString().replace(/^http/, "ws"),
    connectionParams: () => (apiKey() ? { Authorization: `Bearer ${apiKey()}` } : {}),
    retryAttempts: Infinity,
    shouldRetry: () => true,
    on: {
      connected: () => {
        connections += 1;
        if (connections > 1) for (const listener of reconnectListeners) listener();
      },
      closed: (event) => {
        // Strawberry closes with 4403 when connection_init is refused.
        if (event?.code === 4403 || event?.code === 4401) unauthenticated(event.reason);
      },
    },
  });
  return socket;
}

/** Subscribe; `onData(data)` per event. Returns the function that ends it. */
export function subscribe(query, variables, onData, onError = () => {}) {
  return client().subscribe(
    { query, variables },
    {
      next: (result) => {
        if (result.errors?.length) {
          const [first] = result.errors;
          onError(new ApiError(first.extensions?.code ?? "ERROR", first.message));
        } else onData(result.data);
      },
      error: (error) => onError(new ApiError("SUBSCRIPTION", String(error?.reason ?? error))),
      complete: () => {},
    },
  );
}
