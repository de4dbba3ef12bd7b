// Mailboxes of one domain: list, add, edit, delete (optionally purging the
// Maildir).  Passwords are set or reset, never shown.

import {h} from '../dom.js';
import {t} from '../i18n.js';
import * as api from '../api.js';
import {buildForm, onSubmit, fmtMB} from '../form.js';
import {pageHead, pagedList, linkButton, href, flash, go, yesNo, dateText, confirmDialog, crumbs} from '../ui.js';
import {serviceFields, expiryButtons} from './domains.js';

const base = (d) => '/api/domains/' + api.seg(d) + '/mailboxes';

function localOf(m) {
	if (m.uid) return m.uid;
	return String(m.username || '').replace(/@[^@]*$/, '');
}

async function remove(domain, local) {
	const purge = h('input', {type: 'checkbox', id: 'purge-maildir', name: 'purge'});
	const ok = await confirmDialog(t('mailbox.confirm_delete', {address: local + '@' + domain}), {
		extra: h('div.field.check', null, purge, h('label', {for: 'purge-maildir'}, t('mailbox.purge'))),
	});
	if (!ok) return false;
	const r = await api.del(base(domain) + '/' + api.seg(local) + (purge.checked ? api.qs({purge: 1}) : ''));
	// with purge the server moves the files aside at once and removes
	// them in the background; it says whether it could
	const key = !purge.checked ? 'mailbox.deleted'
		: r && r.purged ? 'mailbox.deleted_purge' : 'mailbox.deleted_nopurge';
	flash(t(key, {address: local + '@' + domain}));
	return true;
}

// "This mailbox forwards" (webadmin/forwards.c): an alias of its own
// address that sends mail elsewhere, or redirects in its active Sieve
// script (which may hold conditions: "may forward").
function forwardTargets(f) {
	const to = [];
	for (const k of ['alias', 'sieve'])
		for (const a of (f && f[k] && f[k].to) || []) if (!to.includes(a)) to.push(a);
	return to;
}

function forwardBadge(m) {
	if (!m.forwards) return '';
	const to = forwardTargets(m.forwards);
	return h('span.forwards', {title: t('mailbox.forwards_to', {to: to.join(', ')})}, '→ ' + to.join(', '));
}

function forwardNote(f) {
	if (!f) return null;
	const lines = [];
	if (f.alias) lines.push(t(f.alias.keep ? 'mailbox.fwd_alias_keep' : 'mailbox.fwd_alias', {to: f.alias.to.join(', ')}));
	if (f.sieve) lines.push(t(f.sieve.copy ? 'mailbox.fwd_sieve_copy' : 'mailbox.fwd_sieve', {to: f.sieve.to.join(', '), script: f.sieve.script}));
	return h('div.note.forwards', {id: 'mailbox-forwards', role: 'note'}, h('strong', null, t('mailbox.forwards')), ...lines.map(l => h('p', null, l)));
}

export function list(params, query, ctx) {
	const d = params.d;
	let listEl;
	const columns = [
		{label: t('mailbox.address'), cell: m => h('a', {href: href('domain', d, 'mailbox', localOf(m))}, m.username || (localOf(m) + '@' + d))},
		{label: t('mailbox.name'), cell: m => m.name || ''},
		{label: t('mailbox.forwards'), cls: 'col-forwards', cell: forwardBadge},
		{label: t('mailbox.quota'), cell: m => fmtMB(m.quota) + ' MB'},
		{label: t('mailbox.netdiskquota'), cell: m => fmtMB(m.netdiskquota) + ' MB'},
		{label: t('expiredate'), cls: 'nowrap', cell: m => dateText(m.expiredate)},
		{label: t('active'), cell: m => yesNo(m.active)},
		{label: t('actions'), cls: 'col-actions', cell: m => h('span.row-actions', null,
			h('a', {href: href('domain', d, 'mailbox', localOf(m)), 'aria-label': t('edit') + ' ' + (m.username || localOf(m))}, t('edit')),
			h('button.link.danger-text', {type: 'button', 'aria-label': t('delete') + ' ' + (m.username || localOf(m)), onclick: async () => {
				try {
					if (await remove(d, localOf(m))) listEl.reload();
				} catch (e) { listEl.showError(e); }
			}}, t('delete')))},
	];
	listEl = pagedList({
		searchLabel: t('mailbox.search'),
		state: {q: query.get('q') || ''},
		fetch: (s) => api.get(base(d) + api.qs({q: s.q, page: s.page})),
		columns,
		empty: t('mailbox.none'),
	});
	return h('section', null,
		crumbs([t('nav.domains'), '#/domains'], [d, ctx.isAdmin ? href('domain', d) : null], [t('nav.mailboxes')]),
		pageHead(t('mailbox.list', {domain: d}),
			linkButton(t('mailbox.add'), href('domain', d, 'mailboxes', 'new'), 'primary'),
			linkButton(t('nav.aliases'), href('domain', d, 'aliases')),
			linkButton(t('csv.title'), href('domain', d, 'csv') + '?type=mailboxes')),
		listEl);
}

function expireFrom(spec) {
	const m = /^(\d+)([dmy])$/.exec(spec || '');
	if (!m) return '';
	const n = parseInt(m[1], 10);
	const dt = new Date();
	if (m[2] === 'd') dt.setDate(dt.getDate() + n);
	if (m[2] === 'm') dt.setMonth(dt.getMonth() + n);
	if (m[2] === 'y') dt.setFullYear(dt.getFullYear() + n);
	return dt.toISOString().slice(0, 10);
}

export async function edit(params, query, ctx) {
	const d = params.d;
	const isNew = !params.l;
	let domain = null;
	try { domain = await api.get('/api/domains/' + api.seg(d)); } catch (e) {
		if (e.status === 403 || e.status === 404) throw e;
	}
	let data = null;
	if (!isNew) data = await api.get(base(d) + '/' + api.seg(params.l));
	// ExtMan's defaults: the domain's quotas and expiry (not after the
	// domain's own)
	let defExp = domain ? expireFrom(domain.default_expire) : '';
	const domExp = domain && domain.expiredate && !/^0000/.test(domain.expiredate)
		? String(domain.expiredate).slice(0, 10) : '';
	if (domExp && (!defExp || defExp > domExp)) defExp = domExp;
	const defaults = domain ? {
		quota: domain.default_quota, netdiskquota: domain.default_netdiskquota, expiredate: defExp,
	} : {};
	const addr = isNew ? '' : (data.username || params.l + '@' + d);
	const title = isNew ? t('mailbox.add') : t('mailbox.edit', {address: addr});
	const specs = [
		{name: 'uid', label: t('mailbox.uid'), required: true, readonly: !isNew, suffix: '@' + d,
			help: isNew ? t('mailbox.uid.help') : null, autocomplete: 'off', def: isNew ? '' : params.l},
		{name: 'name', label: t('mailbox.name'), autocomplete: 'off'},
		{name: 'password', type: 'password', label: isNew ? t('password') : t('mailbox.newpassword'),
			required: isNew, autocomplete: 'new-password', help: isNew ? t('password.help') : t('mailbox.newpassword.help')},
		{name: 'password2', type: 'password', label: t('password.confirm'), required: isNew,
			autocomplete: 'new-password', skip: true},
		{type: 'fieldset', legend: t('mailbox.quotas'), fields: [
			{name: 'quota', type: 'mb', label: t('mailbox.quota'), def: defaults.quota},
			{name: 'netdiskquota', type: 'mb', label: t('mailbox.netdiskquota'), def: defaults.netdiskquota},
		]},
		serviceFields(t('mailbox.services'), isNew ? domain : data, domain, !ctx.isAdmin),
		{name: 'expiredate', type: 'date', label: t('expiredate'), def: defaults.expiredate,
			help: domExp ? t('mailbox.expire.help', {date: domExp}) : t('expiredate.help')},
		{name: 'active', type: 'checkbox', label: t('active'), def: 1},
		{name: 'disablepwdchange', type: 'checkbox', label: t('mailbox.disablepwdchange'), def: 0},
		{name: 'mailhost', label: t('mailbox.mailhost'), help: t('mailbox.mailhost.help')},
		{type: 'fieldset', legend: t('mailbox.recovery'), help: t('mailbox.recovery.help'), fields: [
			{name: 'question', label: t('mailbox.question'), autocomplete: 'off'},
			{name: 'answer', label: t('mailbox.answer'), autocomplete: 'off', omitEmpty: true,
				help: isNew ? null : t('mailbox.answer.help')},
		]},
	];
	const storage = [
		{name: 'uidnumber', type: 'number', label: t('mailbox.uidnumber'), omitEmpty: isNew},
		{name: 'gidnumber', type: 'number', label: t('mailbox.gidnumber'), omitEmpty: isNew},
	];
	if (!isNew) {
		storage.push({name: 'maildir', type: 'static', label: t('mailbox.maildir')});
		storage.push({name: 'homedir', type: 'static', label: t('mailbox.homedir')});
		storage.push({name: 'createdate', type: 'static', label: t('createdate')});
	}
	specs.push({type: 'fieldset', legend: t('mailbox.storage'), help: t('mailbox.storage.help'), fields: storage});
	const back = href('domain', d, 'mailboxes');
	const actions = [linkButton(t('cancel'), back)];
	if (!isNew) {
		actions.push(h('button.danger', {type: 'button', onclick: async () => {
			try {
				if (await remove(d, params.l)) go(back);
			} catch (e) { f.showError(e); }
		}}, t('delete')));
	}
	const f = buildForm(specs, data, {actions, fieldAliases: {username: 'uid'}});
	const exp = f.fields.get('expiredate');
	exp.wrap.insertBefore(expiryButtons(f, 'expiredate'), exp.err);
	onSubmit(f, async (v) => {
		const p2 = f.input('password2').value;
		if (v.password !== p2) {
			f.fieldError('password2', t('password.mismatch'));
			return;
		}
		if (!v.password) delete v.password;
		if (isNew) {
			v.uid = v.uid.trim();
			const r = await api.post(base(d), v);
			flash(t('mailbox.created', {address: (r && r.username) || v.uid + '@' + d}));
		} else {
			await api.put(base(d) + '/' + api.seg(params.l), v);
			flash(t('saved'));
		}
		go(back);
	});
	return h('section', null,
		crumbs([t('nav.domains'), '#/domains'], [d, back], [isNew ? t('mailbox.add') : addr]),
		pageHead(title),
		isNew ? null : forwardNote(data.forwards),
		f.form);
}

