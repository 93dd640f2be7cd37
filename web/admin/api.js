// The admin API client (api.md part C): the session token, requests, and JSON
// decoding that keeps every id a string.

const TOKEN_KEY = 'mdouyin.admin.token';
const EXPIRES_KEY = 'mdouyin.admin.expires_at';

// The API lives beside this module (/admin/api/ when the console is /admin/),
// so the console also works behind a proxy that mounts it under a prefix.
const BASE = new URL('./api/', import.meta.url);

// Keys whose values are ids. They are turned into strings when a response is
// parsed, so no code in the page ever does arithmetic or Number() on an id.
const ID_KEYS = new Set(['id', 'video_id', 'user_id', 'root_id', 'parent_id', 'comment_id', 'author_id']);

/** An HTTP error answer: status and the server's message. */
export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

let onUnauthorized = () => {};

/** Sets what happens when the server answers 401 (the token is gone or expired). */
export function setUnauthorizedHandler(fn) {
  onUnauthorized = fn;
}

/** Returns the stored token, or null when there is none or it has expired. */
export function token() {
  const t = sessionStorage.getItem(TOKEN_KEY);
  const exp = Number(sessionStorage.getItem(EXPIRES_KEY) || 0);
  if (!t || (exp && exp <= Date.now())) {
    clearToken();
    return null;
  }
  return t;
}

export function clearToken() {
  sessionStorage.removeItem(TOKEN_KEY);
  sessionStorage.removeItem(EXPIRES_KEY);
}

/** Logs in and keeps the token for this tab only (sessionStorage). */
export async function login(username, password) {
  const data = await request('login', { method: 'POST', body: { username, password }, anonymous: true });
  sessionStorage.setItem(TOKEN_KEY, data.token);
  if (data.expires_at) sessionStorage.setItem(EXPIRES_KEY, String(data.expires_at));
}

/**
 * Calls the admin API. path is relative to /admin/api/; params become the query
 * string (empty values left out). Resolves to the decoded JSON, rejects with an
 * ApiError carrying the server's message.
 */
export async function request(path, { method = 'GET', params, body, anonymous = false } = {}) {
  const url = new URL(path, BASE);
  for (const [k, v] of Object.entries(params || {})) {
    if (v !== undefined && v !== null && v !== '') url.searchParams.set(k, v);
  }
  const headers = { Accept: 'application/json' };
  if (!anonymous) {
    const t = token();
    if (!t) {
      onUnauthorized();
      throw new ApiError(401, '登录已过期，请重新登录');
    }
    headers.Authorization = `Bearer ${t}`;
  }
  if (body !== undefined) headers['Content-Type'] = 'application/json';

  let res;
  try {
    res = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch {
    throw new ApiError(0, '无法连接服务器');
  }
  const text = await res.text();
  let data = null;
  if (text) {
    try {
      data = parseJSON(text);
    } catch {
      data = { error: text.slice(0, 200) };
    }
  }
  if (res.status === 401 && !anonymous) {
    clearToken();
    onUnauthorized();
  }
  if (!res.ok) {
    throw new ApiError(res.status, (data && data.error) || `HTTP ${res.status}`);
  }
  return data;
}

/**
 * Parses JSON so that no id loses precision: integers of 16 or more digits are
 * quoted before JSON.parse sees them, every id-named field becomes a string, and
 * a field `x_str` (if a server sends one) replaces `x`.
 */
export function parseJSON(text) {
  return JSON.parse(quoteBigIntegers(text), (key, value) => {
    if (value && typeof value === 'object' && !Array.isArray(value)) {
      for (const k of Object.keys(value)) {
        const base = k.endsWith('_str') ? k.slice(0, -4) : '';
        if (base && base in value) value[base] = String(value[k]);
      }
      return value;
    }
    if (ID_KEYS.has(key) && typeof value === 'number') return String(value);
    return value;
  });
}

/** Wraps every integer literal of 16+ digits outside strings in quotes. */
export function quoteBigIntegers(text) {
  let out = '';
  let copied = 0;
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c === '"') {
      for (i++; i < text.length && text[i] !== '"'; i++) {
        if (text[i] === '\\') i++;
      }
      i++;
    } else if (c === '-' || (c >= '0' && c <= '9')) {
      let j = i + (c === '-' ? 1 : 0);
      while (j < text.length && text[j] >= '0' && text[j] <= '9') j++;
      const digits = j - i - (c === '-' ? 1 : 0);
      let end = j;
      while (end < text.length && '0123456789.eE+-'.includes(text[end])) end++;
      if (end === j && digits >= 16) {
        out += `${text.slice(copied, i)}"${text.slice(i, j)}"`;
        copied = j;
      }
      i = end;
    } else {
      i++;
    }
  }
  return out + text.slice(copied);
}
