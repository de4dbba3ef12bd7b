// Own password, audit log, API tokens (the status page: status.js).

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
