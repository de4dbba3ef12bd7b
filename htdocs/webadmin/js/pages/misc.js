// Own password, audit log, status, API tokens.

import {h, clear} from '../dom.js';
import {t} from '../i18n.js';
import * as api from '../api.js';
import {buildForm, onSubmit} from '../form.js';
import {pageHead, pagedList, flash, go, dateText, confirmDialog, table, errorBox} from '../ui.js';

export function password(params, query, ctx) {
	const specs = [
		{name: 'old', type: 'password', label: t('password.old'), required: true, autocomplete: 'current-password'},
		{name: 'new', type: 'password', label: t('password.new'), required: true, autocomplete: 'new-password', help: t('password.help')},
		{name: 'password2', type: 'password', label: t('password.confirm'), required: true, autocomplete: 'new-password', skip: true},
	];
	const f = buildForm(specs, null, {submitLabel: t('password.change'),
		fieldAliases: {password: 'new', old_password: 'old'}});
	// for password managers: whose password this is
	f.form.prepend(h('input', {type: 'text', name: 'username', value: ctx.me.user, autocomplete: 'username',
		hidden: true, readonly: true, tabindex: -1, 'aria-hidden': 'true'}));
	onSubmit(f, async (v) => {
		if (v.new !== f.input('password2').value) {
			f.fieldError('password2', t('password.mismatch'));
			return;
		}
		await api.put('/api/password', v);
		for (const n of ['old', 'new', 'password2']) f.input(n).value = '';
		flash(t('password.changed'));
		go('#/password');
	});
	return h('section.narrow', null,
		pageHead(t('nav.password')),
		h('p', null, t('password.intro', {user: ctx.me.user})),
		f.form);
}

function asObject(v) {
	if (typeof v === 'string') {
		try { v = JSON.parse(v); } catch (e) { return {value: v}; }
	}
	return v && typeof v === 'object' && !Array.isArray(v) ? v : null;
}

function show(v) {
	if (v === undefined || v === null || v === '') return '–';
	if (Array.isArray(v)) return v.join(', ');
	if (typeof v === 'object') return JSON.stringify(v);
	return String(v);
}

// before/after of an audit row as "field: before -> after", only the
// fields that changed (all of them for a create or a delete)
function changes(before, after) {
	const b = asObject(before), a = asObject(after);
	if (!b && !a) return null;
	const keys = [];
	for (const o of [b, a]) if (o) for (const k of Object.keys(o)) if (!keys.includes(k)) keys.push(k);
	const rows = keys.filter(k => !b || !a || JSON.stringify(b[k]) !== JSON.stringify(a[k]));
	if (!rows.length) return null;
	return h('table.diff', null,
		h('thead', null, h('tr', null, h('th', {scope: 'col'}, t('audit.field')),
			b ? h('th', {scope: 'col'}, t('audit.before')) : null,
			a ? h('th', {scope: 'col'}, t('audit.after')) : null)),
		h('tbody', null, rows.map(k => h('tr', null, h('th', {scope: 'row'}, k),
			b ? h('td', null, show(b[k])) : null,
			a ? h('td', null, show(a[k])) : null))));
}

const AUDIT_ACTIONS = ['domain', 'mailbox', 'alias', 'manager', 'token']
	.flatMap(o => ['create', 'update', 'delete'].map(a => o + '.' + a));

export function audit(params, query, ctx) {
	const columns = [
		{label: t('audit.when'), cell: r => dateText(r.ts, '')},
		{label: t('audit.who'), cell: r => r.username || ''},
		{label: t('audit.ip'), cell: r => r.ip || ''},
		{label: t('audit.action'), cell: r => r.action || ''},
		{label: t('audit.object'), cell: r => r.object || ''},
		{label: t('audit.domain'), cell: r => r.domain || ''},
		{label: t('audit.change'), cls: 'change', cell: r => {
			const c = changes(r.before, r.after);
			return c ? h('details', null, h('summary', null, t('audit.details')), c) : '';
		}},
	];
	return h('section', null,
		pageHead(t('nav.audit')),
		pagedList({
			searchLabel: t('audit.search'),
			filters: [
				{name: 'action', label: t('audit.action'), options: AUDIT_ACTIONS},
				{name: 'domain', label: t('audit.domain')},
			],
			state: {q: query.get('q') || '', domain: query.get('domain') || '', action: query.get('action') || ''},
			fetch: (s) => api.get('/api/audit' + api.qs({q: s.q, page: s.page, action: s.action, domain: s.domain})),
			columns,
			empty: t('audit.none'),
		}));
}

// The status answer shown as it comes: objects as definition lists,
// arrays of objects as tables, scalars as text.
function render(v, depth) {
	if (v === null || v === undefined) return h('span.muted', null, '–');
	if (Array.isArray(v)) {
		if (v.length && v.every(x => x && typeof x === 'object' && !Array.isArray(x))) {
			const keys = [];
			for (const x of v) for (const k of Object.keys(x)) if (!keys.includes(k)) keys.push(k);
			return table(keys.map(k => ({label: label(k), cell: r => render(r[k], depth + 1)})), v);
		}
		return h('span', null, v.map(x => typeof x === 'object' ? JSON.stringify(x) : String(x)).join(', '));
	}
	if (typeof v === 'object') {
		const dl = h('dl.kv');
		for (const [k, x] of Object.entries(v)) {
			dl.append(h('dt', null, label(k)), h('dd', null, render(x, depth + 1)));
		}
		return dl;
	}
	if (typeof v === 'boolean') return h('span', {class: v ? 'ok' : 'bad'}, v ? t('yes') : t('no'));
	if (v === 'up' || v === 'running') return h('span.ok', null, t('status.up'));
	if (v === 'down' || v === 'stopped') return h('span.bad', null, t('status.down'));
	return h('span', null, String(v));
}

function label(k) {
	const key = 'status.k.' + k;
	const s = t(key);
	return s === key ? k : s;
}

function duration(sec) {
	const n = Math.floor(Number(sec) || 0);
	const d = Math.floor(n / 86400), hh = Math.floor(n % 86400 / 3600), m = Math.floor(n % 3600 / 60);
	return d ? t('unit.days', {d, h: hh, m}) : t('unit.hours', {h: hh, m});
}

function bytes(n) {
	n = Number(n) || 0;
	const units = ['B', 'KB', 'MB', 'GB', 'TB'];
	let i = 0;
	while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
	return (i ? n.toFixed(1) : String(n)) + ' ' + units[i];
}

// How a known status field reads; others are shown as they come.
const FORMAT = {
	uptime: duration,
	loadavg: v => Array.isArray(v) ? v.map(x => Number(x).toFixed(2)).join('  ') : String(v),
	mailbox_free: bytes,
	database: v => render(v, 1),
};

function kv(obj, keys) {
	const dl = h('dl.kv');
	for (const k of keys) {
		if (!(k in obj)) continue;
		const f = FORMAT[k];
		dl.append(h('dt', null, label(k)), h('dd', null, f ? f(obj[k]) : render(obj[k], 1)));
	}
	return dl;
}

export async function status(params, query, ctx) {
	const box = h('div.status-body');
	async function load() {
		clear(box).append(h('p', null, t('loading')));
		try {
			const s = await api.get('/api/status') || {};
			const sections = [];
			const sys = ['hostname', 'kernel', 'uptime', 'loadavg', 'database'];
			const totals = ['domains', 'mailboxes', 'aliases', 'managers', 'mailbox_free'];
			sections.push(h('section.card', null, h('h2', null, t('status.system')), kv(s, sys)));
			if (Array.isArray(s.daemons)) {
				sections.push(h('section.card', null, h('h2', null, t('status.daemons')),
					table([
						{label: label('name'), cell: r => r.name || ''},
						{label: label('running'), cell: r => render(r.running === undefined ? r.state : (r.running ? 'up' : 'down'), 1)},
						{label: label('pid'), cell: r => r.pid ? String(r.pid) : '–'},
					], s.daemons)));
			}
			if (totals.some(k => k in s)) {
				sections.push(h('section.card', null, h('h2', null, t('status.totals')), kv(s, totals)));
			}
			const rest = Object.keys(s).filter(k => !sys.includes(k) && !totals.includes(k) && k !== 'daemons');
			for (const k of rest) {
				sections.push(h('section.card', null, h('h2', null, label(k)), render(s[k], 0)));
			}
			clear(box).append(...sections);
		} catch (e) {
			clear(box).append(errorBox(e));
		}
	}
	await load();
	return h('section', null,
		pageHead(t('nav.status'), h('button', {type: 'button', onclick: load}, t('refresh'))),
		box);
}

export function tokens(params, query, ctx) {
	const created = h('div.token-created', {role: 'status'});
	let listEl;
	const f = buildForm([
		{name: 'name', label: t('token.name'), required: true, help: t('token.name.help'), autocomplete: 'off', maxlength: 64},
	], null, {submitLabel: t('token.create')});
	onSubmit(f, async (v) => {
		const r = await api.post('/api/tokens', v);
		f.input('name').value = '';
		const id = 'new-token';
		const out = h('input', {id, type: 'text', readonly: true, value: r.token || '', class: 'mono'});
		clear(created).append(
			h('p', null, t('token.once')),
			h('div.field', null, h('label', {for: id}, t('token.value')), out));
		out.focus();
		out.select();
		listEl.reload();
	});
	const columns = [
		{label: t('token.name'), cell: r => r.name || r.label || ''},
		{label: t('token.id'), cell: r => h('code', null, String(r.id === undefined ? r.prefix || '' : r.id))},
		{label: t('createdate'), cell: r => dateText(r.createdate || r.created, '')},
		{label: t('token.lastused'), cell: r => dateText(r.last_used || r.lastused, '–')},
		{label: t('actions'), cls: 'col-actions', cell: r => h('button.link.danger-text', {type: 'button', 'aria-label': t('token.revoke') + ' ' + (r.name || r.id), onclick: async () => {
			if (!await confirmDialog(t('token.confirm_delete', {name: r.name || r.id}))) return;
			try {
				await api.del('/api/tokens/' + api.seg(String(r.id)));
				listEl.reload();
			} catch (e) { listEl.showError(e); }
		}}, t('token.revoke'))},
	];
	listEl = pagedList({
		noSearch: true,
		fetch: (s) => api.get('/api/tokens' + api.qs({q: s.q, page: s.page})),
		columns,
		empty: t('token.none'),
	});
	return h('section', null,
		pageHead(t('nav.tokens')),
		h('p', null, t('token.intro')),
		f.form, created,
		h('h2', null, t('token.list')),
		listEl);
}
