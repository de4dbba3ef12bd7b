// youju webmail: the single-page app.  Routes live in the URL hash:
//   #/folder/<folder>[?page=&sort=&order=]   the message list
//   #/message/<folder>/<uid>                 one message (DESIGN §10)
//   #/compose                                a new message
//   #/search?q=...                           search results (search.js)
//   #/thread/<folder>/<uid>                  a conversation (thread.js)
// Data from mail reaches the page only through textContent and attribute
// setters (never innerHTML); the CSP forbids inline script.
import {call, upload, setCsrf, ApiError} from './api.js';
import {h} from './dom.js';
import {t, load, preferred, current, LANGS, has} from './i18n.js';
import {messageFrame, fitFrame} from './msgframe.js';
import {prefs, loadPrefs, showSettings} from './settings.js';
import {showFilters} from './filters.js';
import {showContacts, complete, addSender} from './contacts.js';
import {showNetdisk} from './netdisk.js';
import {searchBox, searchHash, showSearch} from './search.js';
import {showThread} from './thread.js';
import {autosave} from './drafts.js';
import {remoteControls, saveToNetdisk} from './reading.js';
import {htmlEditor, importHtml, textNodes} from './editor.js';
import {mdnBar, thumbs} from './readextra.js';

const app = document.getElementById('app');
const HINT = 'youju.webmail.user';
const SYSTEM = ['INBOX', 'Sent', 'Drafts', 'Trash', 'Junk'];
let me = null;          // {user, name, csrf, page_size}
let folders = [];
let draft = null;       // prefilled compose fields (reply)
let pending = null;     // a message for the next page drawn
let keys = {};          // keyboard shortcuts of the page shown
let lastList = [];      // [folder, uid] of the list shown last (previous/next)

// ---- DOM helpers ----
// The attachment mark: a small paperclip drawn in SVG (no icon font).
function clip() {
	const NS = 'http://www.w3.org/2000/svg';
	const svg = document.createElementNS(NS, 'svg');
	svg.setAttribute('viewBox', '0 0 16 16');
	svg.setAttribute('class', 'mark att');
	svg.setAttribute('role', 'img');
	svg.setAttribute('aria-label', t('has_attachment'));
	const p = document.createElementNS(NS, 'path');
	p.setAttribute('d', 'M10.5 4.5v6a2.5 2.5 0 0 1-5 0V3.8a1.7 1.7 0 0 1 3.4 0v6.4a.9.9 0 0 1-1.8 0V5');
	p.setAttribute('fill', 'none');
	p.setAttribute('stroke', 'currentColor');
	p.setAttribute('stroke-width', '1.6');
	p.setAttribute('stroke-linecap', 'round');
	svg.append(p);
	return svg;
}

function busy(on) { app.setAttribute('aria-busy', on ? 'true' : 'false'); }

function folderLabel(name) {
	return SYSTEM.includes(name) && has('folder.' + name) ? t('folder.' + name) : name;
}

function fmtDate(sec) {
	const d = new Date(sec * 1000);
	const now = new Date();
	const loc = current().replace('_', '-');
	const timeZone = prefs().timezone || undefined; // preferences
	if (d.toDateString() === now.toDateString())
		return d.toLocaleTimeString(loc, {hour: '2-digit', minute: '2-digit', timeZone});
	return d.toLocaleDateString(loc, {year: 'numeric', month: '2-digit', day: '2-digit', timeZone});
}

function fmtSize(n) {
	if (n < 1024) return n + ' B';
	if (n < 1048576) return (n / 1024).toFixed(n < 10240 ? 1 : 0) + ' KiB';
	return (n / 1048576).toFixed(1) + ' MiB';
}

function flash(msg, kind) {
	const old = document.querySelector('p.flash');
	if (old) old.remove();
	const p = h('p', {class: 'flash ' + (kind || 'ok'), role: 'status', text: msg});
	const main = document.getElementById('main');
	if (main) main.prepend(p);
}

function errText(e) {
	if (e instanceof ApiError && has(e.code)) return t(e.code);
	return t('error', {msg: e.message});
}

// what the settings, contacts and NetDisk modules draw with
const ui = {h, flash, frame: (...k) => frame(...k), busy, go: (x) => go(x), errText, fmtSize,
	redraw: () => { renderShell(); route(); },
	// search.js, thread.js
	folderHash: (f, q) => folderHash(f, q), folderLabel: n => folderLabel(n),
	fmtDate: x => fmtDate(x), clip: () => clip(), folders: () => folders,
	setList: (f, list) => { lastList = list; }};

// ---- routing ----
function parseHash() {
	const [path, qs] = location.hash.replace(/^#\/?/, '').split('?');
	const parts = path.split('/').map(decodeURIComponent);
	const q = new URLSearchParams(qs || '');
	return {parts, q};
}

function go(hash) {
	if (location.hash === hash) route();
	else location.hash = hash;
}

function folderHash(f, q) {
	const s = q ? '?' + new URLSearchParams(q).toString() : '';
	return '#/folder/' + encodeURIComponent(f) + s;
}

async function route() {
	if (!me) return;
	busy(true);
	const {parts, q} = parseHash();
	try {
		if (parts[0] === 'message' && parts.length >= 3)
			await showMessage(parts[1], parts[2]);
		else if (parts[0] === 'search')
			await showSearch(ui, q);
		else if (parts[0] === 'thread' && parts.length >= 3)
			await showThread(ui, parts[1], parts[2]);
		else if (parts[0] === 'compose')
			showCompose(q);
		else if (parts[0] === 'settings')
			await showSettings(ui);
		else if (parts[0] === 'filters')
			await showFilters(ui);
		else if (parts[0] === 'contacts')
			await showContacts(ui, q);
		else if (parts[0] === 'netdisk')
			await showNetdisk(ui, q);
		else
			await showList(parts[0] === 'folder' && parts[1] ? parts[1] : 'INBOX', q);
	} catch (e) {
		if (e instanceof ApiError && e.status === 401) return loggedOut();
		frame(h('h1', {text: t('folders')}));
		flash(errText(e), 'error');
	} finally {
		if (pending) { flash(pending); pending = null; }
		app.dataset.route = location.hash;
		busy(false);
	}
}

// ---- login ----
function loginPage(msg) {
	app.replaceChildren();
	const user = h('input', {type: 'email', name: 'user', id: 'login-user', required: true,
		autocomplete: 'username', value: localStorage.getItem(HINT + '.remember') || ''});
	const pw = h('input', {type: 'password', name: 'password', id: 'login-password',
		required: true, autocomplete: 'current-password'});
	const remember = h('input', {type: 'checkbox', name: 'remember', id: 'login-remember',
		checked: !!localStorage.getItem(HINT + '.remember')});
	const bindIp = h('input', {type: 'checkbox', name: 'bind_ip', id: 'login-bind-ip'});
	const err = h('p', {class: 'flash error', role: 'alert', hidden: !msg, text: msg || ''});
	const form = h('form', {class: 'login', method: 'post', action: '/api/session', on: {submit: async ev => {
		ev.preventDefault();
		busy(true);
		try {
			const r = await call('POST', '/api/session', {user: user.value, password: pw.value, bind_ip: bindIp.checked});
			if (remember.checked) localStorage.setItem(HINT + '.remember', user.value);
			else localStorage.removeItem(HINT + '.remember');
			await start(r);
		} catch (e) {
			err.hidden = false;
			err.textContent = errText(e);
			pw.value = '';
			busy(false);
		}
	}}},
		h('div', {class: 'field'}, h('label', {for: 'login-user', text: t('user')}), user),
		h('div', {class: 'field'}, h('label', {for: 'login-password', text: t('password')}), pw),
		h('div', {class: 'field check'}, remember, h('label', {for: 'login-remember', text: t('remember')})),
		h('div', {class: 'field check'}, bindIp, h('label', {for: 'login-bind-ip', text: t('bind_ip')})),
		h('div', {class: 'actions'}, h('button', {class: 'primary', type: 'submit', text: t('signin')})));
	app.append(h('main', {class: 'login-wrap', id: 'main'}, h('div', {class: 'login-card'},
		h('p', {class: 'brand'}, h('span', {class: 'brand-mark', 'aria-hidden': 'true', text: '邮'}), t('app')),
		h('h1', {text: t('signin')}), err, form, langSelect())));
	app.dataset.route = location.hash;
	busy(false);
	user.value ? pw.focus() : user.focus();
}

function langSelect() {
	const s = h('select', {name: 'lang', 'aria-label': t('language'), on: {change: async () => {
		await load(s.value);
		me ? (renderShell(), route()) : loginPage();
	}}}, LANGS.map(([v, n]) => h('option', {value: v, selected: v === current(), text: n})));
	return s;
}

function loggedOut() {
	me = null;
	localStorage.removeItem(HINT);
	setCsrf(null);
	loginPage();
}

async function start(session) {
	me = session;
	setCsrf(session.csrf);
	localStorage.setItem(HINT, session.user);
	await loadPrefs();
	renderShell();
	await refreshFolders();
	await route();
}

// ---- the frame: header, folder list, main ----
function renderShell() {
	app.replaceChildren(
		h('header', {class: 'top'},
			h('p', {class: 'brand'}, h('span', {class: 'brand-mark', 'aria-hidden': 'true', text: '邮'}), t('app')),
			searchBox(ui),
			h('span', {class: 'who', text: me.user}),
			langSelect(),
			h('button', {type: 'button', class: 'logout', text: t('logout'), on: {click: async () => {
				try { await call('DELETE', '/api/session'); } catch (e) { /* gone already */ }
				loggedOut();
			}}})),
		h('div', {class: 'body'},
			h('nav', {class: 'folders', 'aria-label': t('folders')},
				h('a', {class: 'button primary compose', href: '#/compose', text: t('compose')}),
				h('ul', {id: 'folder-list'}),
				newFolderForm(),
				h('div', {id: 'quota', class: 'quota'}),
				h('ul', {class: 'extras'},
					h('li', null, h('a', {href: '#/contacts', text: t('contacts')})),
					h('li', null, h('a', {href: '#/netdisk', text: t('netdisk')})),
					h('li', null, h('a', {href: '#/settings', text: t('settings')})),
					h('li', null, h('a', {href: '#/filters', text: t('filters')})))),
			h('main', {id: 'main'})));
}

function newFolderForm() {
	const name = h('input', {type: 'text', name: 'newfolder', 'aria-label': t('new_folder'), placeholder: t('new_folder'), maxlength: 200});
	return h('form', {class: 'newfolder', on: {submit: async ev => {
		ev.preventDefault();
		if (!name.value.trim()) return;
		busy(true);
		try {
			await call('POST', '/api/folders', {name: name.value.trim()});
			const f = name.value.trim();
			name.value = '';
			go(folderHash(f));
		} catch (e) { flash(errText(e), 'error'); busy(false); }
	}}}, name, h('button', {type: 'submit', text: t('create')}));
}

// The quota bar: a warning from 90 %, over quota from 100 %.
function drawQuota(q) {
	const box = document.getElementById('quota');
	if (!box) return;
	if (!q || !q.max_bytes) { box.replaceChildren(); return; }
	const pct = Math.min(100, Math.round(q.bytes * 100 / q.max_bytes));
	box.className = 'quota' + (q.bytes >= q.max_bytes ? ' over' : pct >= 90 ? ' warn' : '');
	box.replaceChildren(...[
		h('progress', {max: 100, value: pct, 'aria-label': t('quota')}),
		h('span', {text: t('quota_used', {used: fmtSize(q.bytes), max: fmtSize(q.max_bytes), pct})}),
		q.bytes >= q.max_bytes ? h('strong', {text: t('quota_over')}) :
			pct >= 90 ? h('strong', {text: t('quota_near')}) : null].filter(Boolean));
}

async function refreshFolders() {
	const [list, session] = await Promise.all([call('GET', '/api/folders'), call('GET', '/api/session')]);
	folders = list;
	drawQuota(session.quota);
	folders.sort((a, b) => {
		const ia = SYSTEM.indexOf(a.name), ib = SYSTEM.indexOf(b.name);
		if (ia >= 0 || ib >= 0) return (ia < 0 ? 99 : ia) - (ib < 0 ? 99 : ib);
		return a.name.localeCompare(b.name);
	});
	const ul = document.getElementById('folder-list');
	if (!ul) return;
	const cur = parseHash();
	const active = cur.parts[0] === 'folder' || cur.parts[0] === 'message' ? cur.parts[1] : 'INBOX';
	ul.replaceChildren(...folders.map(f => h('li', null,
		h('a', {href: folderHash(f.name), class: f.name === active ? 'current' : null,
			title: t('folder_counts', {total: f.total, unseen: f.unseen, size: fmtSize(f.size)}),
			on: dropTarget(f.name),
			'data-folder': f.name, 'aria-current': f.name === active ? 'page' : null},
			h('span', {class: 'fname', text: folderLabel(f.name)}),
			f.unseen ? h('span', {class: 'count', title: t('unread_n', {n: f.unseen}), text: String(f.unseen)}) : null))));
	const inbox = folders.find(f => f.name === 'INBOX');
	document.title = (inbox && inbox.unseen ? '(' + inbox.unseen + ') ' : '') + t('app');
}

// Drag and drop of messages onto a folder of the list: the dragged rows'
// UIDs travel as application/x-youju-uids ({folder, uids}).
const DRAG = 'application/x-youju-uids';
function dropTarget(name) {
	return {
		dragover: ev => { if (ev.dataTransfer.types.includes(DRAG)) { ev.preventDefault(); ev.currentTarget.classList.add('drop'); } },
		dragleave: ev => ev.currentTarget.classList.remove('drop'),
		drop: async ev => {
			ev.preventDefault();
			ev.currentTarget.classList.remove('drop');
			let d;
			try { d = JSON.parse(ev.dataTransfer.getData(DRAG)); } catch (e) { return; }
			if (!d || d.folder === name || !Array.isArray(d.uids)) return;
			busy(true);
			try {
				const x = await call('POST', '/api/move', {folder: d.folder, uids: d.uids, to: name});
				pending = t('moved_n', {n: x.moved});
				await route();
			} catch (e) { flash(errText(e), 'error'); busy(false); }
		},
	};
}

function frame(...kids) {
	keys = {};
	const main = document.getElementById('main');
	main.replaceChildren(...kids.filter(Boolean));
	return main;
}

// ---- the message list ----
async function showList(folder, q) {
	const sort = q.get('sort') || prefs().sort || 'date', order = q.get('order') || prefs().order || 'desc';
	const page = Math.max(1, parseInt(q.get('page') || '1', 10) || 1);
	const r = await call('GET', '/api/messages', undefined, {folder, page, sort, order});
	await refreshFolders();
	const pages = Math.max(1, Math.ceil(r.total / (r.page_size || 50)));
	const boxes = [];
	const selected = () => boxes.filter(b => b.checked).map(b => Number(b.value));
	const act = async (fn) => {
		const uids = selected();
		if (!uids.length) return flash(t('nothing_selected'), 'error');
		busy(true);
		try { const msg = await fn(uids); await showList(folder, q); if (msg) flash(msg); }
		catch (e) { flash(errText(e), 'error'); }
		finally { busy(false); }
	};
	const nav = (p, s, o) => go(folderHash(folder, {page: p, sort: s, order: o}));
	const sortSel = h('select', {name: 'sort', 'aria-label': t('sort'), on: {change: () => nav(1, sortSel.value, order)}},
		['date', 'arrival', 'from', 'subject', 'size'].map(k => h('option', {value: k, selected: k === sort, text: t(k)})));
	const orderSel = h('select', {name: 'order', 'aria-label': t('order'), on: {change: () => nav(1, sort, orderSel.value)}},
		['desc', 'asc'].map(k => h('option', {value: k, selected: k === order, text: t(k)})));
	const moveSel = h('select', {name: 'to', 'aria-label': t('move_to')},
		folders.filter(f => f.name !== folder).map(f => h('option', {value: f.name, text: folderLabel(f.name)})));
	const all = h('input', {type: 'checkbox', 'aria-label': t('select_all'), on: {change: () => boxes.forEach(b => { b.checked = all.checked; })}});
	const flags = (add, remove) => uids => call('POST', '/api/flags', {folder, uids, add, remove});
	const toolbar = h('div', {class: 'toolbar'},
		h('label', {class: 'selall'}, all, h('span', {class: 'sr', text: t('select_all')})),
		h('button', {type: 'button', name: 'delete', text: folder === 'Trash' ? t('delete_forever') : t('delete'),
			on: {click: () => act(async uids => { const x = await call('POST', '/api/delete', {folder, uids}); return t('deleted_n', {n: x.moved ?? x.expunged}); })}}),
		h('button', {type: 'button', name: 'read', text: t('mark_read'), on: {click: () => act(flags(['\\Seen'], []))}}),
		h('button', {type: 'button', name: 'unread', text: t('mark_unread'), on: {click: () => act(flags([], ['\\Seen']))}}),
		h('button', {type: 'button', name: 'flag', text: t('flag'), on: {click: () => act(flags(['\\Flagged'], []))}}),
		h('button', {type: 'button', name: 'forward_att', text: t('forward_att'), on: {click: () => {
			// each ticked message a message/rfc822 part (POST /api/send
			// attach_message), as ExtMail and Roundcube forward several
			const uids = selected();
			if (!uids.length) return flash(t('nothing_selected'), 'error');
			const first = r.messages.find(x => x.uid === uids[0]);
			draft = {to: '', cc: '', text: '',
				subject: 'Fwd: ' + ((first && first.subject) || '') + (uids.length > 1 ? ' ' + t('and_n_more', {n: uids.length - 1}) : ''),
				attach_message: uids.map(uid => ({folder, uid}))};
			go('#/compose');
		}}}),
		h('span', {class: 'move'}, moveSel, h('button', {type: 'button', name: 'move', text: t('move'),
			on: {click: () => act(async uids => { const x = await call('POST', '/api/move', {folder, uids, to: moveSel.value}); return t('moved_n', {n: x.moved}); })}})),
		folder === 'Trash' || folder === 'Junk' ? h('button', {type: 'button', name: 'empty', text: t('empty_folder'),
			on: {click: async () => {
				busy(true);
				try { const x = await call('POST', '/api/empty', {folder}); await showList(folder, q); flash(t('deleted_n', {n: x.expunged})); }
				catch (e) { flash(errText(e), 'error'); }
				finally { busy(false); }
			}}}) : null,
		h('span', {class: 'sort'}, sortSel, orderSel));
	const rows = r.messages.map(m => {
		const box = h('input', {type: 'checkbox', value: m.uid, 'aria-label': t('select')});
		boxes.push(box);
		const unread = !m.flags.includes('\\Seen');
		const flagged = m.flags.includes('\\Flagged');
		const href = '#/message/' + encodeURIComponent(folder) + '/' + m.uid;
		return h('li', {class: 'msg' + (unread ? ' unread' : '') + (flagged ? ' flagged' : ''), 'data-uid': m.uid,
			draggable: 'true', on: {dragstart: ev => {
				const sel = selected();
				ev.dataTransfer.setData(DRAG, JSON.stringify({folder, uids: sel.includes(m.uid) ? sel : [m.uid]}));
				ev.dataTransfer.effectAllowed = 'move';
			}}},
			box,
			h('a', {href, class: 'open'},
				h('span', {class: 'from', text: m.from || '-'}),
				h('span', {class: 'subject', text: m.subject || t('no_subject')}),
				h('span', {class: 'meta'},
					flagged ? h('span', {class: 'mark flag', title: t('flagged'), text: '⚑'}) : null,
					m.attachments ? clip() : null,
					h('time', {datetime: new Date(m.date * 1000).toISOString(), text: fmtDate(m.date)}),
					h('span', {class: 'size', text: fmtSize(m.size)}))));
	});
	const pager = h('div', {class: 'pager'},
		h('button', {type: 'button', name: 'prev', disabled: page <= 1, text: t('prev'), on: {click: () => nav(page - 1, sort, order)}}),
		h('span', {text: t('page_of', {p: page, n: pages, total: r.total})}),
		h('button', {type: 'button', name: 'next', disabled: page >= pages, text: t('next'), on: {click: () => nav(page + 1, sort, order)}}));
	const fi = folders.find(f => f.name === folder);
	lastList = r.messages.map(m => [folder, m.uid]);
	frame(h('h1', {text: folderLabel(folder)}),
		fi ? h('p', {class: 'finfo', text: t('folder_counts', {total: fi.total, unseen: fi.unseen, size: fmtSize(fi.size)})}) : null,
		h('p', {class: 'filters'}, t('show') + ' ',
			h('a', {href: searchHash({folder, flag: 'unseen'}), name: 'filter-unseen', text: t('filter_unseen')}), ' · ',
			h('a', {href: searchHash({folder, flag: 'flagged'}), name: 'filter-flagged', text: t('filter_flagged')})),
		toolbar,
		rows.length ? h('ul', {class: 'messages'}, rows) : h('p', {class: 'empty', text: t('empty')}),
		pager, SYSTEM.includes(folder) ? null : folderOps(folder));
	// j/k move the cursor, Enter opens (the row's link has the focus),
	// # deletes, s flags, u marks unread, the cursor's message or the
	// ticked ones
	let cur = -1;
	const moveTo = i => {
		if (!rows.length) return;
		cur = Math.max(0, Math.min(rows.length - 1, i));
		rows.forEach((r, k) => r.classList.toggle('cursor', k === cur));
		rows[cur].querySelector('a.open').focus();
	};
	const target = () => {
		const sel = selected();
		return sel.length ? sel : cur >= 0 ? [r.messages[cur].uid] : [];
	};
	const on = fn => () => { const u = target(); if (u.length) { boxes.forEach(b => { b.checked = u.includes(Number(b.value)); }); act(fn); } };
	keys = {
		j: () => moveTo(cur + 1), k: () => moveTo(cur - 1),
		'#': on(async uids => { const x = await call('POST', '/api/delete', {folder, uids}); return t('deleted_n', {n: x.moved ?? x.expunged}); }),
		s: on(flags(['\\Flagged'], [])),
		u: on(flags([], ['\\Seen'])),
	};
}

// Rename or delete a user folder (system folders have no such form).
function folderOps(folder) {
	const name = h('input', {type: 'text', name: 'rename', 'aria-label': t('rename_to'), value: folder, maxlength: 200});
	let armed = false;
	const del = h('button', {type: 'button', name: 'delete_folder', text: t('delete_folder'), on: {click: async () => {
		if (!armed) { armed = true; del.textContent = t('delete_folder_confirm'); return; }
		busy(true);
		try {
			const x = await call('POST', '/api/folders/delete', {name: folder});
			pending = t('folder_deleted', {n: x.expunged});
			go('#/folder/INBOX');
		} catch (e) { flash(errText(e), 'error'); busy(false); }
	}}});
	return h('form', {class: 'folderops', on: {submit: async ev => {
		ev.preventDefault();
		const to = name.value.trim();
		if (!to || to === folder) return;
		busy(true);
		try {
			await call('POST', '/api/folders/rename', {name: folder, to});
			go(folderHash(to));
		} catch (e) { flash(errText(e), 'error'); busy(false); }
	}}}, h('label', {for: 'rename-' + folder, text: t('rename_to')}), name,
		h('button', {type: 'submit', name: 'rename_folder', text: t('rename')}), del);
}

// ---- one message ----
async function showMessage(folder, uid) {
	const m = await call('GET', '/api/message', undefined, {folder, uid});
	if (!m.flags.includes('\\Seen')) {
		await call('POST', '/api/flags', {folder, uids: [m.uid], add: ['\\Seen']});
		m.flags.push('\\Seen');
	}
	await refreshFolders();
	const hd = m.headers || {};
	const back = folderHash(folder);
	const row = (k, v) => v ? h('div', {class: 'hrow'}, h('dt', {text: t(k)}), h('dd', {text: v})) : null;
	const isFlagged = m.flags.includes('\\Flagged');
	const doit = async (fn) => {
		busy(true);
		try { await fn(); } catch (e) { flash(errText(e), 'error'); busy(false); }
	};
	const moveSel = h('select', {name: 'to', 'aria-label': t('move_to')},
		folders.filter(f => f.name !== folder).map(f => h('option', {value: f.name, text: folderLabel(f.name)})));
	// RFC 5322 §3.6.4: the parent's References (or In-Reply-To) and its
	// Message-ID; reply-all leaves out one's own address
	const refs = [hd.references || hd.in_reply_to || '', hd.message_id || ''].join(' ').trim();
	const reply = (all) => doit(async () => {
		const subj = hd.subject || '';
		const to = [hd.reply_to || hd.from || ''];
		const mine = a => a.toLowerCase().includes(me.user.toLowerCase());
		const cc = all ? [hd.to, hd.cc].filter(Boolean).join(',').split(',').map(x => x.trim())
			.filter(x => x && !mine(x)).join(', ') : '';
		const quoted = (m.text || '').split('\n').map(l => '> ' + l).join('\n');
		const head = t('wrote', {date: hd.date || '', from: hd.from || ''});
		// images of the HTML too large to travel in it (data: URLs up to
		// 512 KiB) are copied to uploads and quoted from there
		let html = m.html, note = '';
		if (html && html.includes('src="/api/attachment?')) {
			try { html = (await call('POST', '/api/reattach', {folder, uid: m.uid, inline_only: true})).html || html; }
			catch (e) { note = t('quote_images_left_out'); }
		}
		draft = {to: to.join(', '), cc, subject: /^re:/i.test(subj) ? subj : 'Re: ' + subj,
			text: html ? '' : '\n\n' + head + '\n' + quoted,
			quote: html ? {head, html} : null, note,
			in_reply_to: hd.message_id || '', references: refs};
		busy(false);
		go('#/compose');
	});
	const forwardAtt = () => {
		draft = {to: '', cc: '', subject: 'Fwd: ' + (hd.subject || ''), text: '',
			attach_message: [{folder, uid: m.uid}]};
		go('#/compose');
	};
	const editDraft = () => doit(async () => {
		// its files and images back as uploads, its HTML for the editor
		const r = await call('POST', '/api/reattach', {folder, uid: m.uid});
		draft = {to: hd.to || '', cc: hd.cc || '', bcc: hd.bcc || '', subject: hd.subject || '', text: m.text || '',
			in_reply_to: hd.in_reply_to || '', references: hd.references || '', draft_uid: m.uid,
			html: r.html, atts: r.attachments, priority: r.priority, receipt: r.receipt};
		busy(false);
		go('#/compose');
	});
	const forward = () => doit(async () => {
		// the original's files (and the images of its HTML) go along
		const r = m.attachments.length ? await call('POST', '/api/reattach', {folder, uid: m.uid}) : null;
		const subj = hd.subject || '';
		const head = '---------- Forwarded message ----------\n' + t('from') + ': ' + (hd.from || '') +
			'\n' + t('date') + ': ' + (hd.date || '') + '\n' + t('subject') + ': ' + subj;
		const html = (r && r.html) || m.html;
		draft = {to: '', cc: '', subject: 'Fwd: ' + subj,
			text: html ? '' : '\n\n' + head + '\n\n' + (m.text || ''),
			quote: html ? {head, html} : null,
			atts: r ? r.attachments : []};
		busy(false);
		go('#/compose');
	});
	const actions = h('div', {class: 'toolbar'},
		h('a', {class: 'button', href: back, text: t('back')}),
		h('button', {type: 'button', name: 'reply', text: t('reply'), on: {click: () => reply(false)}}),
		h('button', {type: 'button', name: 'reply_all', text: t('reply_all'), on: {click: () => reply(true)}}),
		h('button', {type: 'button', name: 'forward', text: t('forward'), on: {click: forward}}),
		h('button', {type: 'button', name: 'forward_att', text: t('forward_att'), on: {click: forwardAtt}}),
		folder === 'Drafts' ? h('button', {type: 'button', name: 'edit_draft', class: 'primary', text: t('edit_draft'), on: {click: editDraft}}) : null,
		hd.from ? h('button', {type: 'button', name: 'add_sender', text: t('add_sender'), on: {click: () => addSender(ui, hd.from)}}) : null,
		h('button', {type: 'button', name: 'flag', text: isFlagged ? t('unflag') : t('flag'), on: {click: () => doit(async () => {
			await call('POST', '/api/flags', {folder, uids: [m.uid], add: isFlagged ? [] : ['\\Flagged'], remove: isFlagged ? ['\\Flagged'] : []});
			await route();
		})}}),
		h('button', {type: 'button', name: 'unread', text: t('mark_unread'), on: {click: () => doit(async () => {
			await call('POST', '/api/flags', {folder, uids: [m.uid], remove: ['\\Seen']});
			go(back);
		})}}),
		h('button', {type: 'button', name: 'delete', text: folder === 'Trash' ? t('delete_forever') : t('delete'), on: {click: () => doit(async () => {
			await call('POST', '/api/delete', {folder, uids: [m.uid]});
			go(back);
		})}}),
		h('span', {class: 'move'}, moveSel, h('button', {type: 'button', name: 'move', text: t('move'), on: {click: () => doit(async () => {
			await call('POST', '/api/move', {folder, uids: [m.uid], to: moveSel.value});
			go(back);
		})}})));
	const atts = m.attachments.length ? h('section', {class: 'attachments'},
		h('h2', {text: t('attachments')}),
		h('ul', null, m.attachments.map(a => h('li', null,
			h('a', {href: a.url, download: a.name, text: a.name}),
			h('span', {class: 'size', text: ' ' + a.type + ' · ' + fmtSize(a.size) + ' '}),
			saveToNetdisk(ui, folder, uid, a))), thumbs(m.attachments))) : null;
	const click = name => () => { const b = actions.querySelector(`button[name=${name}]`); if (b) b.click(); };
	const textView = h('pre', {class: 'text', text: m.text || ''});
	// the charset menu: the text and the HTML part read again as the
	// charset chosen
	const csSel = h('select', {name: 'charset', 'aria-label': t('charset'), on: {change: async () => {
		try {
			const m2 = await call('GET', '/api/message', undefined, {folder, uid, charset: csSel.value, remote: remote ? 1 : 0});
			textView.textContent = m2.text || '';
			renderBar(m2);
		} catch (e) { flash(errText(e), 'error'); }
	}}}, h('option', {value: '', text: t('charset_auto')}),
	['UTF-8', 'GB18030', 'GBK', 'GB2312', 'HZ-GB-2312', 'BIG5', 'BIG5-HKSCS', 'ISO-2022-JP', 'SHIFT_JIS', 'EUC-JP',
		'EUC-KR', 'CP949', 'ISO-8859-1', 'WINDOWS-1252', 'KOI8-R'].map(c => h('option', {value: c, text: c})));
	const at = lastList.findIndex(([f, u]) => f === folder && String(u) === String(uid));
	const step = d => at >= 0 && lastList[at + d] ? '#/message/' + encodeURIComponent(lastList[at + d][0]) + '/' + lastList[at + d][1] : null;
	const prev = step(-1), next = step(1);
	const q = 'folder=' + encodeURIComponent(folder) + '&uid=' + encodeURIComponent(uid);
	const tools = h('div', {class: 'tools'},
		prev ? h('a', {class: 'button', href: prev, name: 'prev_msg', rel: 'prev', text: t('prev_msg')}) : null,
		next ? h('a', {class: 'button', href: next, name: 'next_msg', rel: 'next', text: t('next_msg')}) : null,
		h('a', {class: 'button', name: 'thread', href: '#/thread/' + encodeURIComponent(folder) + '/' + uid, text: t('conversation')}),
		h('a', {class: 'button', name: 'source', href: '/api/source?' + q, target: '_blank', rel: 'noopener', text: t('source')}),
		h('button', {type: 'button', name: 'print', text: t('print'), on: {click: () => window.print()}}),
		csSel);
	const body = h('div', {class: 'body'}, textView);
	const bar = h('div', {class: 'htmlbar'});
	// The message HTML on its own sandboxed URL (msgframe.js)
	// as tall as its text needs, within the window (msgframe.js)
	const showHtml = (html, remote) => {
		const f = messageFrame(folder, uid, remote, t('html_frame'), csSel.value);
		body.replaceChildren(f);
		fitFrame(f, html, textView.textContent, atts);
	};
	let remote = false;
	const renderBar = (mm) => {
		const kids = [];
		if (mm.html) {
			// "show HTML mail as HTML" off (preferences): the text first
			let asText = !prefs().prefer_html && !remote;
			const tog = h('button', {type: 'button', name: 'view', text: asText ? t('show_html') : t('show_text'), on: {click: () => {
				asText = !asText;
				tog.textContent = asText ? t('show_html') : t('show_text');
				if (asText) body.replaceChildren(textView); else showHtml(mm.html, remote);
			}}});
			kids.push(tog);
			if (mm.remote_always) remote = true;
			if (!remote || mm.remote_always) kids.push(...remoteControls(ui, mm, async () => {
				try {
					const m2 = await call('GET', '/api/message', undefined, {folder, uid, remote: 1, charset: csSel.value});
					remote = true;
					renderBar(m2);
				} catch (e) { flash(errText(e), 'error'); }
			}, () => route()));
			if (asText) body.replaceChildren(textView); else showHtml(mm.html, remote);
		} else if (mm.has_html) {
			kids.push(h('p', {class: 'note', text: t(mm.html_error ? 'html_refused' : 'html_hidden')}));
		}
		bar.replaceChildren(...kids);
	};
	renderBar(m);
	frame(actions,
		h('article', {class: 'message'},
			h('h1', {class: 'subject', text: hd.subject || t('no_subject')}),
			h('dl', {class: 'headers'}, row('from', hd.from), row('to', hd.to), row('cc', hd.cc), row('date', hd.date)),
			tools,
			mdnBar(m, folder, e => flash(errText(e), 'error')),
			bar,
			body,
			atts));
	// r reply, a reply all, f forward, # delete, s flag, u unread
	keys = {r: () => reply(false), a: () => reply(true), f: forward, '#': click('delete'),
		s: click('flag'), u: click('unread'),
		j: () => { if (next) go(next); }, k: () => { if (prev) go(prev); }};
}

// ---- compose ----
// d.quote {head, html}: an HTML message replied to or forwarded, quoted
// in the HTML editor; d.html: a draft's HTML (POST /api/reattach);
// d.atts: files already uploaded (a draft's)
const MODE = 'youju.webmail.compose_mode';
function showCompose(q) {
	const d = draft || {to: (q && q.get('to')) || '', cc: '', subject: '', text: '', in_reply_to: ''};
	draft = null;
	const state = {draft_uid: d.draft_uid || 0};
	let html = !!(d.html || d.quote) || (!d.draft_uid && localStorage.getItem(MODE) === 'html');
	// the signature (preferences) goes above a quoted message: its text
	// in plain text, its HTML form (when there is one) in rich text
	const sig = prefs().signature && !d.draft_uid ? prefs().signature : '';
	const sigHtml = sig && prefs().signature_html ? prefs().signature_html : '';
	if (sig && !html) d.text = '\n\n' + sig + (d.text || '');
	const field = (name, label, el) => h('div', {class: 'field'}, h('label', {for: 'c-' + name, text: label}), el);
	const input = (name, v, type) => h('input', {type: type || 'text', name, id: 'c-' + name, value: v || ''});
	const to = input('to', d.to), cc = input('cc', d.cc), bcc = input('bcc', d.bcc || ''), subject = input('subject', d.subject);
	const text = h('textarea', {name: 'text', id: 'c-text', rows: 14});
	text.value = d.text || '';
	const btn = h('button', {class: 'primary', type: 'submit', text: t('send')});
	// attachments: each file is uploaded when chosen; the send names them
	const atts = [...(d.atts || [])];
	const attList = h('ul', {class: 'att-list'});
	const drawAtts = () => attList.replaceChildren(...atts.map((a, i) => h('li', null,
		h('span', {text: a.name + ' · ' + fmtSize(a.size)}), ' ',
		h('button', {type: 'button', class: 'link', 'aria-label': t('remove') + ' ' + a.name, text: t('remove'),
			on: {click: () => { atts.splice(i, 1); drawAtts(); }}}))));
	drawAtts();
	const attach = async files => {
		btn.disabled = true;
		try {
			for (const f of files) {
				const fd = new FormData();
				fd.append('file', f, f.name);
				atts.push(await upload(fd));
				drawAtts();
			}
		} catch (e) { flash(errText(e), 'error'); }
		finally { btn.disabled = false; }
	};
	const file = h('input', {type: 'file', name: 'file', id: 'c-file', multiple: true, on: {change: async () => {
		await attach([...file.files]);
		file.value = '';
	}}});
	// the HTML editor (editor.js) and the switch between the two
	const ed = htmlEditor({onFiles: attach, onError: e => flash(errText(e), 'error'),
		busy: on => { btn.disabled = on; }});
	if (d.html) ed.set(importHtml(d.html));
	else if (html) {
		const f = textNodes(d.text || '');
		if (sigHtml) {
			const box = document.createElement('div');
			box.append(importHtml(sigHtml));
			f.prepend(textNodes(''), box);
		} else if (sig) f.prepend(textNodes('\n' + sig));
		if (d.quote) {
			f.append(textNodes(d.quote.head));
			const bq = h('blockquote', {type: 'cite'});
			bq.append(importHtml(d.quote.html));
			f.append(bq);
		}
		ed.set(f);
	}
	const modeBtn = h('button', {type: 'button', name: 'mode', class: 'link'});
	const show = () => {
		text.hidden = html;
		ed.el.hidden = !html;
		modeBtn.textContent = html ? t('ed_to_text') : t('ed_to_html');
	};
	modeBtn.addEventListener('click', () => {
		if (html) text.value = ed.text();
		else ed.set(textNodes(text.value));
		html = !html;
		localStorage.setItem(MODE, html ? 'html' : 'text');
		show();
		(html ? ed.area : text).focus();
	});
	show();
	const priority = h('select', {name: 'priority', id: 'c-priority'},
		['normal', 'high', 'low'].map(p => h('option', {value: p, text: t('prio_' + p)})));
	priority.value = d.priority || 'normal';
	const receipt = h('input', {type: 'checkbox', name: 'receipt', id: 'c-receipt'});
	receipt.checked = !!d.receipt;
	const split = s => s.split(/[,;]/).map(x => x.trim()).filter(Boolean);
	const fields = () => {
		const f = {to: split(to.value), cc: split(cc.value), bcc: split(bcc.value),
			subject: subject.value, text: text.value, in_reply_to: d.in_reply_to || undefined,
			references: d.references || undefined, attach_message: d.attach_message || undefined,
			attachments: atts.map(a => a.id), priority: priority.value, receipt: receipt.checked};
		if (html) {
			const s = ed.serialize();
			Object.assign(f, {text: ed.text(), html: s.html, inline: s.inline});
		}
		return f;
	};
	const status = h('span', {class: 'draftstatus', role: 'status'});
	const send = async ev => {
		ev.preventDefault();
		if (btn.disabled) return;
		btn.disabled = true;
		btn.textContent = t('sending');
		busy(true);
		try {
			await saver.stop();
			const r = await call('POST', '/api/send', {...fields(), draft_uid: state.draft_uid || undefined});
			pending = t('sent', {id: r.queue_id}) + (r.sent_saved ? ' ' + t('saved_sent') : '');
			go('#/folder/INBOX');
		} catch (e) {
			flash(errText(e), 'error');
			btn.disabled = false;
			btn.textContent = t('send');
			busy(false);
		}
	};
	const form = h('form', {class: 'compose', on: {submit: send, keydown: ev => {
		if (ev.key === 'Enter' && (ev.ctrlKey || ev.metaKey)) send(ev);
	}, dragover: ev => { if (ev.dataTransfer.types.includes('Files')) ev.preventDefault(); },
	drop: ev => {
		// files dropped on the form (not on the editor) are attached
		if (!ev.dataTransfer.files.length) return;
		ev.preventDefault();
		attach([...ev.dataTransfer.files]);
	}}},
		field('to', t('to'), to), h('p', {class: 'hint', text: t('addresses_hint')}),
		field('cc', t('cc'), cc), field('bcc', t('bcc'), bcc), field('subject', t('subject'), subject),
		h('div', {class: 'field'}, h('div', {class: 'msghead'}, h('label', {for: 'c-text', text: t('text')}), modeBtn),
			text, ed.el),
		field('file', t('attach'), file), attList,
		d.attach_message ? h('p', {class: 'hint', name: 'forwarded', text: d.attach_message.length > 1
			? t('forwarded_attached_n', {n: d.attach_message.length}) : t('forwarded_attached')}) : null,
		d.note ? h('p', {class: 'hint warn', name: 'compose_note', text: d.note}) : null,
		h('div', {class: 'options'},
			h('label', {for: 'c-priority', text: t('priority') + ' '}), priority, ' ',
			receipt, h('label', {for: 'c-receipt', text: ' ' + t('receipt')})),
		h('div', {class: 'actions'}, btn,
			h('button', {type: 'button', name: 'save_draft', text: t('save_draft'), on: {click: () => saver.save()}}),
			h('a', {class: 'button', href: '#/folder/INBOX', text: t('back')}), status));
	const saver = autosave(form, fields, status, state);
	frame(h('h1', {text: t('compose')}), form);
	[to, cc, bcc].forEach(complete);
	(d.to ? (html ? ed.area : text) : to).focus();
}

// ---- keyboard: c composes everywhere; the page shown adds its own ----
document.addEventListener('keydown', ev => {
	if (!me || ev.ctrlKey || ev.metaKey || ev.altKey) return;
	const tag = (ev.target && ev.target.tagName) || '';
	if (['INPUT', 'TEXTAREA', 'SELECT'].includes(tag) || (ev.target && ev.target.isContentEditable)) return;
	const search = document.getElementById('search-q');
	const fn = ev.key === 'c' ? () => go('#/compose') : ev.key === '/' && search ? () => search.focus() : keys[ev.key];
	if (fn) { ev.preventDefault(); fn(); }
});

// ---- start ----
async function boot() {
	busy(true);
	await load(preferred());
	window.addEventListener('hashchange', route);
	if (localStorage.getItem(HINT)) {
		try { return await start(await call('GET', '/api/session')); }
		catch (e) { localStorage.removeItem(HINT); }
	}
	loginPage();
}

boot();
