// Small DOM helpers. Every piece of data reaches the page as a text node or an
// attribute value set through the DOM, never as HTML: comments are hostile input.

/**
 * Builds an element. attrs: `class`, `dataset` (an object), `on` (event name →
 * handler), a property name the element has (hidden, disabled, href, ...) or
 * else an attribute. children: nodes, strings (as text), or null/false (skipped).
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k === 'on') for (const [ev, fn] of Object.entries(v)) el.addEventListener(ev, fn);
    else if (k in el && typeof el[k] !== 'function') el[k] = v;
    else el.setAttribute(k, v === true ? '' : v);
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** Replaces the children of el. */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/** Shows a short message at the corner of the screen; kind is 'ok' or 'error'. */
export function toast(message, kind = 'ok') {
  const box = document.getElementById('toasts');
  const el = h('div', { class: `toast ${kind}`, role: kind === 'error' ? 'alert' : null }, message);
  const remove = () => el.remove();
  el.addEventListener('click', remove);
  box.append(el);
  setTimeout(remove, kind === 'error' ? 8000 : 4000);
}

/** Shows or hides an inline message element. */
export function message(el, text) {
  el.textContent = text || '';
  el.hidden = !text;
}

/** Formats an epoch time (ms, or s when small) as local YYYY-MM-DD HH:mm:ss. */
export function formatTime(v) {
  const d = toDate(v);
  if (!d) return '';
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** A <time> element for an epoch time. */
export function timeEl(v) {
  const d = toDate(v);
  return d ? h('time', { dateTime: d.toISOString() }, formatTime(v)) : '';
}

function toDate(v) {
  if (v === undefined || v === null || v === '') return null;
  let n = Number(v);
  if (!Number.isFinite(n)) {
    const d = new Date(v);
    return Number.isNaN(d.getTime()) ? null : d;
  }
  if (n < 1e11) n *= 1000; // seconds
  return new Date(n);
}

/** The value for an <input type=datetime-local> from epoch ms, or ''. */
export function toLocalInput(ms) {
  if (!ms) return '';
  const d = new Date(Number(ms));
  if (Number.isNaN(d.getTime())) return '';
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** Epoch ms (as a string) from an <input type=datetime-local> value, or ''. */
export function fromLocalInput(value) {
  if (!value) return '';
  const t = new Date(value).getTime();
  return Number.isNaN(t) ? '' : String(t);
}

/** The URL if it is http(s), else '' (a media link from the server, kept honest). */
export function safeURL(u) {
  try {
    const url = new URL(u, location.href);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : '';
  } catch {
    return '';
  }
}
