// The console: login, the review queue, search, a comment's detail, the audit
// log. Views are chosen by the URL hash (#/queue, #/search?..., #/audit,
// #/comment/ID), so Back, reload and shared links work.

import { ApiError, clearToken, login, request, setUnauthorizedHandler, token } from './api.js';
import { fill, fromLocalInput, h, message, safeURL, timeEl, toLocalInput, toast } from './dom.js';

const STATES = { visible: '可见', pending: '待审核', rejected: '已拒绝', deleted: '已删除' };

// The review actions and the states each may start from (api.md part C). The
// server has the last word: a stale page gets 409 and is told the real state.
const ACTIONS = [
  { name: 'approve', label: '通过', from: ['pending', 'rejected'] },
  { name: 'reject', label: '拒绝', from: ['visible', 'pending'] },
  { name: 'delete', label: '删除', from: ['visible', 'pending', 'rejected'] },
  { name: 'restore', label: '恢复', from: ['deleted'] },
];
const ACTION_LABELS = Object.fromEntries(ACTIONS.map((a) => [a.name, a.label]));

// The search index is fed asynchronously and may show a comment's old state for
// up to about 2 s after an action. Lists are reloaded once it has caught up, and
// until then the page trusts what the action answered.
const REFRESH_AFTER_MS = 2500;
const TRUST_ACTION_MS = 15000;

const PAGE = 20;

const $ = (id) => document.getElementById(id);

/** Actions taken from this page: comment id → {state, at}. */
const recent = new Map();

const views = {
  queue: { load: loadQueue, loadedHash: '' },
  search: { load: loadSearch, loadedHash: '' },
  audit: { load: loadAudit, loadedHash: '' },
};
let current = ''; // the list view on screen
let lastListHash = '#/queue';
let lastRouted = '';
let refreshTimer = 0;
let detailSeq = 0;
const listSeq = {};

// ---------------------------------------------------------------- routing

function parseHash(hash) {
  const raw = hash.replace(/^#\/?/, '');
  const at = raw.indexOf('?');
  const path = at < 0 ? raw : raw.slice(0, at);
  const [view = '', arg = ''] = path.split('/');
  return { view: view || 'queue', arg: decodeURIComponent(arg), params: new URLSearchParams(at < 0 ? '' : raw.slice(at + 1)) };
}

function route({ force = false } = {}) {
  if (!token()) {
    showLogin();
    return;
  }
  if (!force && location.href === lastRouted) return;
  lastRouted = location.href;
  showApp();
  const r = parseHash(location.hash);
  if (r.view === 'comment' && /^\d+$/.test(r.arg)) {
    if (!current) showView('queue', '#/queue', force);
    openDetail(r.arg);
    return;
  }
  if ($('detail').open) $('detail').close();
  if (!views[r.view]) {
    history.replaceState(null, '', '#/queue');
    lastRouted = location.href;
    showView('queue', '#/queue', force);
    return;
  }
  showView(r.view, location.hash || '#/queue', force);
}

function showView(name, hash, force) {
  current = name;
  lastListHash = hash;
  for (const n of Object.keys(views)) $(n).hidden = n !== name;
  for (const a of document.querySelectorAll('.tabs a')) {
    if (a.dataset.view === name) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  const v = views[name];
  if (force || v.loadedHash !== hash) {
    v.loadedHash = hash;
    if (name === 'search') syncSearchForm(parseHash(hash).params);
    v.load(parseHash(hash).params);
  }
}

/** Goes to hash, reloading the view even when the hash is already there. */
function navigate(hash) {
  if (new URL(hash, location.href).hash === location.hash) route({ force: true });
  else location.hash = hash;
}

/** Reloads the list on screen with the parameters it was loaded with. */
function reloadCurrent() {
  if (current) views[current].load(parseHash(views[current].loadedHash).params);
}

function scheduleRefresh() {
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(reloadCurrent, REFRESH_AFTER_MS);
}

// ---------------------------------------------------------------- login

function showLogin(note = '') {
  $('app').hidden = true;
  $('login').hidden = false;
  if ($('detail').open) $('detail').close();
  message($('login-error'), note);
  $('login-password').focus();
}

function showApp() {
  $('login').hidden = true;
  $('app').hidden = false;
}

function forgetLoadedViews() {
  current = '';
  lastRouted = '';
  for (const v of Object.values(views)) v.loadedHash = '';
}

setUnauthorizedHandler(() => {
  forgetLoadedViews();
  showLogin('登录已过期，请重新登录');
});

const LOGIN_ERRORS = {
  401: '用户名或密码错误',
  429: '尝试次数过多，请稍后再试',
  503: '管理后台未开放：服务器没有配置管理员密码',
};

async function submitLogin(event) {
  event.preventDefault();
  const form = event.currentTarget;
  const button = form.querySelector('button[type=submit]');
  button.disabled = true;
  message($('login-error'), '');
  try {
    await login(form.elements.username.value.trim(), form.elements.password.value);
    form.elements.password.value = '';
    forgetLoadedViews();
    route({ force: true });
  } catch (err) {
    const hint = LOGIN_ERRORS[err.status];
    const text = hint && err.message && !err.message.startsWith('HTTP ') ? `${hint}（${err.message}）` : hint || err.message;
    message($('login-error'), text);
  } finally {
    button.disabled = false;
  }
}

function logout() {
  clearToken();
  forgetLoadedViews();
  showLogin();
}

// ---------------------------------------------------------------- lists

function loadQueue(params) {
  const offset = intParam(params, 'offset', 0);
  return loadList('queue', { state: 'pending', offset, limit: PAGE }, {
    empty: '没有待审核的评论',
    pageHash: (o) => `#/queue?offset=${o}`,
  });
}

const SEARCH_KEYS = ['q', 'video_id', 'user_id', 'state', 'from', 'to'];

function loadSearch(params) {
  const query = {};
  for (const k of SEARCH_KEYS) query[k] = params.get(k) || '';
  query.offset = intParam(params, 'offset', 0);
  query.limit = intParam(params, 'limit', PAGE);
  return loadList('search', query, {
    empty: '没有符合条件的评论',
    pageHash: (o) => {
      const p = new URLSearchParams(params);
      p.set('offset', String(o));
      return `#/search?${p}`;
    },
  });
}

function intParam(params, key, fallback) {
  const n = Number.parseInt(params.get(key) || '', 10);
  return Number.isFinite(n) && n >= 0 ? n : fallback;
}

/** Fetches one page of comments into the list of the view name. */
async function loadList(name, params, { empty, pageHash }) {
  const list = $(`${name}-list`);
  const seq = (listSeq[name] = (listSeq[name] || 0) + 1);
  list.setAttribute('aria-busy', 'true');
  try {
    const data = await request('comments', { params });
    if (seq !== listSeq[name]) return;
    const items = (data.items || []).map(withRecentState);
    message($(`${name}-error`), '');
    renderComments(list, items, empty);
    $(`${name}-total`).textContent = `共 ${data.total ?? items.length} 条`;
    renderPager($(`${name}-pager`), data.total ?? items.length, params.offset, params.limit, pageHash);
  } catch (err) {
    if (seq !== listSeq[name] || err.status === 401) return;
    message($(`${name}-error`), `${err.status === 400 ? '筛选条件有误' : '加载失败'}：${err.message}`);
    fill(list);
    fill($(`${name}-pager`));
    $(`${name}-total`).textContent = '';
  } finally {
    if (seq === listSeq[name]) list.removeAttribute('aria-busy');
  }
}

/** Shows the state an action from this page answered while the index may lag. */
function withRecentState(item) {
  const r = recent.get(item.id);
  if (r && Date.now() - r.at < TRUST_ACTION_MS) return { ...item, state: r.state };
  return item;
}

const COLUMNS = ['ID', '内容', '用户', '视频', '状态', '楼层', '赞 / 回复', '时间', '操作'];

function renderComments(list, items, empty) {
  if (!items.length) {
    fill(list, h('p', { class: 'empty' }, empty));
    return;
  }
  fill(list, h('table', { class: 'comments' },
    h('thead', {}, h('tr', {}, COLUMNS.map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', {}, items.map(commentRow))));
}

function commentRow(c) {
  const cell = (label, ...children) => h('td', { dataset: { label } }, ...children);
  return h('tr', { dataset: { kind: 'row', id: c.id, state: c.state } },
    cell('ID', h('a', { class: 'mono', href: `#/comment/${c.id}`, title: '查看详情' }, c.id)),
    cell('内容', isReply(c) ? h('span', { class: 'tag' }, '回复') : null, h('span', { class: 'content' }, c.content)),
    cell('用户', userLink(c)),
    cell('视频', h('a', { class: 'mono', href: searchHash({ video_id: c.video_id }), title: '搜索该视频的评论' }, c.video_id)),
    cell('状态', badge(c.state)),
    cell('楼层', floorLabel(c)),
    cell('赞 / 回复', `${c.like_count ?? 0} / ${c.reply_count ?? 0}`),
    cell('时间', timeEl(c.create_time)),
    cell('操作', actionsFor(c)));
}

function isReply(c) {
  return Boolean(c.root_id) && c.root_id !== '0' && c.root_id !== c.id;
}

function floorLabel(c) {
  if (!c.floor) return '';
  return isReply(c) ? `回复 #${c.floor}` : `${c.floor} 楼`;
}

function userLink(c) {
  return h('a', { href: searchHash({ user_id: c.user_id }), title: `用户 ID ${c.user_id}，搜索其评论` },
    c.user_name || `用户 ${c.user_id}`);
}

function searchHash(filters) {
  return `#/search?${new URLSearchParams(filters)}`;
}

function badge(state) {
  return h('span', { class: `badge ${state}`, title: state }, STATES[state] || state);
}

function actionsFor(c) {
  return h('div', { class: 'actions' }, ACTIONS.filter((a) => a.from.includes(c.state)).map((a) =>
    h('button', { type: 'button', class: `act ${a.name}`, dataset: { action: a.name, id: c.id } }, a.label)));
}

function renderPager(el, total, offset, limit, pageHash) {
  const first = total ? offset + 1 : 0;
  const last = Math.min(offset + limit, total);
  const go = (o) => () => navigate(pageHash(o));
  fill(el,
    h('button', { type: 'button', class: 'secondary', disabled: offset <= 0, on: { click: go(Math.max(0, offset - limit)) } }, '‹ 上一页'),
    h('span', {}, `第 ${first}–${last} 条，共 ${total} 条`),
    h('button', { type: 'button', class: 'secondary', disabled: last >= total, on: { click: go(offset + limit) } }, '下一页 ›'));
}

// ---------------------------------------------------------------- search form

function syncSearchForm(params) {
  const f = $('search-form').elements;
  for (const k of ['q', 'video_id', 'user_id', 'state']) f[k].value = params.get(k) || '';
  f.from.value = toLocalInput(params.get('from'));
  f.to.value = toLocalInput(params.get('to'));
  f.limit.value = params.get('limit') || String(PAGE);
}

function submitSearch(event) {
  event.preventDefault();
  const f = event.currentTarget.elements;
  const p = new URLSearchParams();
  const put = (k, v) => {
    if ((v = v.trim())) p.set(k, v);
  };
  put('q', f.q.value);
  put('video_id', f.video_id.value);
  put('user_id', f.user_id.value);
  put('state', f.state.value);
  put('from', fromLocalInput(f.from.value));
  put('to', fromLocalInput(f.to.value));
  if (f.limit.value !== String(PAGE)) p.set('limit', f.limit.value);

  for (const [k, label] of [['video_id', '视频 ID'], ['user_id', '用户 ID']]) {
    if (p.has(k) && !/^\d+$/.test(p.get(k))) {
      message($('search-error'), `${label}只能是数字`);
      f[k].focus();
      return;
    }
  }
  if (p.has('from') && p.has('to') && Number(p.get('from')) > Number(p.get('to'))) {
    message($('search-error'), '起始时间晚于截止时间');
    return;
  }
  message($('search-error'), '');
  navigate(`#/search?${p}`);
}

// ---------------------------------------------------------------- audit

async function loadAudit() {
  const list = $('audit-list');
  const seq = (listSeq.audit = (listSeq.audit || 0) + 1);
  list.setAttribute('aria-busy', 'true');
  try {
    const data = await request('audit', { params: { limit: 50 } });
    if (seq !== listSeq.audit) return;
    message($('audit-error'), '');
    const items = data.items || [];
    if (!items.length) {
      fill(list, h('p', { class: 'empty' }, '还没有操作记录'));
      return;
    }
    const cell = (label, ...children) => h('td', { dataset: { label } }, ...children);
    fill(list, h('table', { class: 'audit' },
      h('thead', {}, h('tr', {}, ['时间', '管理员', '操作', '评论', '状态变化'].map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', {}, items.map((a) => h('tr', { dataset: { commentId: a.comment_id, action: a.action } },
        cell('时间', timeEl(a.at)),
        cell('管理员', a.admin),
        cell('操作', ACTION_LABELS[a.action] || a.action),
        cell('评论', h('a', { class: 'mono', href: `#/comment/${a.comment_id}` }, a.comment_id)),
        cell('状态变化', h('span', {}, badge(a.old_state), ' → ', badge(a.new_state))))))));
  } catch (err) {
    if (seq !== listSeq.audit || err.status === 401) return;
    message($('audit-error'), `加载失败：${err.message}`);
  } finally {
    if (seq === listSeq.audit) list.removeAttribute('aria-busy');
  }
}

// ---------------------------------------------------------------- detail

async function openDetail(id) {
  const dialog = $('detail');
  const seq = ++detailSeq;
  $('detail-title').textContent = `评论 ${id}`;
  fill($('detail-body'), h('p', { class: 'muted' }, '加载中…'));
  if (!dialog.open) dialog.showModal();
  try {
    const data = await request(`comments/${encodeURIComponent(id)}`);
    if (seq === detailSeq) renderDetail(data);
  } catch (err) {
    if (seq !== detailSeq || err.status === 401) return;
    fill($('detail-body'), h('p', { class: 'error', role: 'alert' },
      err.status === 404 ? `评论 ${id} 不存在` : `加载失败：${err.message}`));
  }
}

function renderDetail({ comment: c, thread = [], video }) {
  const pair = (term, ...value) => [h('dt', {}, term), h('dd', {}, ...value)];
  const link = (id) => (id && id !== '0' ? h('a', { class: 'mono', href: `#/comment/${id}` }, id) : '—');
  fill($('detail-body'), h('div', { class: 'detail' },
    h('article', { class: 'subject', dataset: { kind: 'detail', id: c.id, state: c.state } },
      h('p', { class: 'content' }, c.content),
      h('dl', { class: 'meta' },
        pair('状态', badge(c.state)),
        pair('用户', userLink(c), h('span', { class: 'muted mono' }, ` ${c.user_id}`)),
        pair('视频', h('a', { class: 'mono', href: searchHash({ video_id: c.video_id }) }, c.video_id)),
        pair('楼层', floorLabel(c) || '—'),
        pair('所在楼', link(isReply(c) ? c.root_id : '')),
        pair('回复对象', link(isReply(c) ? c.parent_id : '')),
        pair('赞 / 回复', `${c.like_count ?? 0} / ${c.reply_count ?? 0}`),
        pair('时间', timeEl(c.create_time)),
        pair('ID', h('span', { class: 'mono' }, c.id))),
      actionsFor(c)),
    videoPanel(video),
    h('section', { class: 'thread' },
      h('h3', {}, `整楼评论（${thread.length} 条，含所有状态）`),
      h('ol', {}, thread.map((t) => h('li', {
        class: t.id === c.id ? 'current' : '',
        'aria-current': t.id === c.id ? 'true' : null,
        dataset: { kind: 'thread', id: t.id, state: t.state },
      },
      h('div', { class: 'line' },
        h('span', { class: 'floor' }, floorLabel(t)), ' ',
        h('a', { href: `#/comment/${t.id}` }, t.user_name || `用户 ${t.user_id}`), ' ',
        timeEl(t.create_time), ' ', badge(t.state)),
      h('p', { class: 'content' }, t.content),
      actionsFor(t)))))));
}

function videoPanel(video) {
  if (!video) {
    return h('aside', { class: 'video' }, h('h3', {}, '视频'), h('p', { class: 'muted' }, '视频不存在或已删除'));
  }
  return h('aside', { class: 'video' },
    h('h3', {}, '视频'),
    h('video', {
      controls: true,
      preload: 'metadata',
      playsInline: true,
      src: safeURL(video.play_url) || null,
      poster: safeURL(video.cover_url) || null,
    }),
    h('p', { class: 'title' }, video.title || '（无标题）'),
    h('p', { class: 'muted' }, '视频 ', h('span', { class: 'mono' }, video.id), ' · 作者 ',
      h('a', { class: 'mono', href: searchHash({ user_id: video.author_id }) }, video.author_id)));
}

/** Closes the detail: back to where it was opened from, or to the last list. */
function leaveDetail() {
  const depth = history.state && history.state.detail;
  if (depth) history.go(-depth);
  else location.hash = lastListHash;
}

// ---------------------------------------------------------------- actions

async function act(button) {
  const { id, action } = button.dataset;
  const holder = button.closest('[data-kind]');
  for (const b of button.parentElement.querySelectorAll('button')) b.disabled = true;
  try {
    const res = await request(`comments/${encodeURIComponent(id)}/${action}`, { method: 'POST' });
    recent.set(id, { state: res.new_state, at: Date.now() });
    showState(id, res.new_state);
    toast(`评论 ${id} 已${ACTION_LABELS[action]}：${STATES[res.old_state] || res.old_state} → ${STATES[res.new_state] || res.new_state}`);
    scheduleRefresh();
  } catch (err) {
    if (err.status === 401) return;
    toast(`${ACTION_LABELS[action]}失败：${err.message}`, 'error');
    if (err.status === 409) {
      reread(id);
    } else if (err.status === 404) {
      for (const el of nodesOf(id)) el.querySelector('.actions')?.replaceChildren();
    } else if (holder) {
      showState(id, holder.dataset.state);
    }
  }
}

/** After a 409 the page was stale: show the state the database has now. */
async function reread(id) {
  try {
    const { comment } = await request(`comments/${encodeURIComponent(id)}`);
    recent.set(id, { state: comment.state, at: Date.now() });
    showState(id, comment.state);
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
  }
}

function nodesOf(id) {
  return document.querySelectorAll(`[data-kind][data-id="${CSS.escape(id)}"]`);
}

/** Updates every row, card and thread entry of the comment to state. */
function showState(id, state) {
  for (const el of nodesOf(id)) {
    el.dataset.state = state;
    el.querySelector('.badge')?.replaceWith(badge(state));
    el.querySelector('.actions')?.replaceWith(actionsFor({ id, state }));
  }
}

// ---------------------------------------------------------------- wiring

document.addEventListener('click', (event) => {
  const button = event.target.closest('button[data-action]');
  if (button) {
    act(button);
    return;
  }
  // A comment opened from the page is a history entry of its own, numbered, so
  // closing the dialog goes back past every comment opened from there.
  const a = event.target.closest('a[href^="#/comment/"]');
  if (a && event.button === 0 && !event.ctrlKey && !event.metaKey && !event.shiftKey) {
    event.preventDefault();
    const depth = ((history.state && history.state.detail) || 0) + 1;
    history.pushState({ detail: depth }, '', a.getAttribute('href'));
    route();
  }
});

$('login-form').addEventListener('submit', submitLogin);
$('logout').addEventListener('click', logout);
$('search-form').addEventListener('submit', submitSearch);
$('search-form').addEventListener('reset', () => {
  message($('search-error'), '');
  navigate('#/search');
});
for (const name of Object.keys(views)) {
  $(`${name}-refresh`).addEventListener('click', () => {
    if (current === name) reloadCurrent();
  });
}
$('detail-close').addEventListener('click', () => $('detail').close());
$('detail').addEventListener('close', () => {
  if (parseHash(location.hash).view === 'comment') leaveDetail();
});
window.addEventListener('hashchange', () => route());
window.addEventListener('popstate', () => route());

route();
