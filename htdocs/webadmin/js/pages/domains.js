// Domains: overview list (admin: all; postmaster: its own) and add/edit
// (admin) with every ExtMail column.

import {h} from '../dom.js';
import {t} from '../i18n.js';
import * as api from '../api.js';
import {buildForm, onSubmit, fmtMB, flag} from '../form.js';
import {pageHead, pagedList, linkButton, href, flash, go, yesNo, dateText, confirmDialog, crumbs} from '../ui.js';

export const SERVICES = ['smtpd', 'smtp', 'webmail', 'netdisk', 'imap', 'pop3'];

// The first of several names the API may use for a figure.
function pick(o, ...names) {
	for (const n of names) if (o && o[n] !== undefined && o[n] !== null) return o[n];
	return undefined;
}

function usage(used, max, fmt) {
	const u = used === undefined ? null : Number(String(used).replace(/S$/i, ''));
	const m = Number(String(max === undefined ? 0 : max).replace(/S$/i, ''));
	const f = fmt || String;
	const text = (u === null ? '–' : f(u)) + ' / ' + (m > 0 ? f(m) : t('unlimited'));
	const kids = [h('span.usage-text', null, text)];
	if (u !== null && m > 0) {
		kids.push(h('meter', {min: 0, max: m, value: Math.min(u, m), low: m * 0.8, high: m * 0.95, optimum: 0,
			'aria-label': text}));
	}
	return h('span.usage', null, kids);
}

const mb = (v) => fmtMB(v) + ' MB';

export function list(params, query, ctx) {
	const add = ctx.isAdmin ? linkButton(t('domain.add'), '#/domains/new', 'primary') : null;
	const columns = [
		{label: t('domain.domain'), cls: 'nowrap', cell: d => h('a', {href: href('domain', d.domain, 'mailboxes')}, d.domain)},
		{label: t('domain.description'), cell: d => d.description || ''},
		// usage: the mailboxes and aliases the domain has, and the sums of
		// its mailboxes' quotas (ExtMan's "used"), against the limits
		{label: t('domain.users'), cell: d => usage(pick(d.usage, 'users'), d.maxusers)},
		{label: t('domain.aliases'), cell: d => usage(pick(d.usage, 'aliases'), d.maxalias)},
		{label: t('domain.quota'), cell: d => usage(pick(d.usage, 'quota'), d.maxquota, mb)},
		{label: t('domain.netdisk'), cell: d => usage(pick(d.usage, 'netdiskquota'), d.maxnetdiskquota, mb)},
		{label: t('expiredate'), cls: 'nowrap', cell: d => dateText(d.expiredate)},
		{label: t('active'), cell: d => yesNo(d.active)},
		{label: t('actions'), cls: 'col-actions', cell: d => h('span.row-actions', null,
			h('a', {href: href('domain', d.domain, 'mailboxes')}, t('nav.mailboxes')),
			h('a', {href: href('domain', d.domain, 'aliases')}, t('nav.aliases')),
			h('a', {href: href('domain', d.domain, 'dkim')}, t('nav.dkim')),
			ctx.isAdmin ? h('a', {href: href('domain', d.domain), 'aria-label': t('edit') + ' ' + d.domain}, t('edit')) : null)},
	];
	return h('section', null,
		pageHead(t('nav.domains'), add),
		pagedList({
				searchLabel: t('domain.search'),
			state: {q: query.get('q') || ''},
			fetch: (s) => api.get('/api/domains' + api.qs({q: s.q, page: s.page})),
			columns,
			empty: t('domain.none'),
		}));
}

function addYears(n) {
	const d = new Date();
	d.setFullYear(d.getFullYear() + n);
	return d.toISOString().slice(0, 10);
}

export function expiryButtons(f, name) {
	const set = (v) => () => { f.input(name).value = v; };
	return h('span.quick', null,
		[1, 2, 3].map(n => h('button', {type: 'button', class: 'small', onclick: set(addYears(n))}, t('years', {n}))),
		h('button', {type: 'button', class: 'small', onclick: set('')}, t('never')));
}

export function serviceFields(prefixLegend, data, domain, lockFromDomain) {
	return {
		type: 'fieldset', legend: prefixLegend, help: t('services.help'),
		fields: SERVICES.map(s => ({
			name: 'disable' + s, type: 'service', label: t('service.' + s),
			def: domain ? (flag(domain['disable' + s]) ? 1 : 0) : 0,
			disabled: lockFromDomain && domain && flag(domain['disable' + s]),
		})),
	};
}

export async function edit(params, query, ctx) {
	const isNew = !params.d;
	let data = null;
	if (!isNew) data = await api.get('/api/domains/' + api.seg(params.d));
	const title = isNew ? t('domain.add') : t('domain.edit', {domain: params.d});
	const specs = [
		{name: 'domain', label: t('domain.domain'), required: true, readonly: !isNew,
			help: isNew ? t('domain.domain.help') : null, autocomplete: 'off'},
		{name: 'description', label: t('domain.description'), help: t('domain.description.help')},
		{type: 'fieldset', legend: t('domain.limits'), help: t('limits.help'), fields: [
			{name: 'maxusers', type: 'number', label: t('domain.maxusers'), def: 50},
			{name: 'maxalias', type: 'number', label: t('domain.maxalias'), def: 50},
			{name: 'maxquota', type: 'mb', label: t('domain.maxquota'), def: 1073741824},
			{name: 'maxnetdiskquota', type: 'mb', label: t('domain.maxnetdiskquota'), def: 1073741824},
		]},
		{type: 'fieldset', legend: t('domain.defaults'), fields: [
			{name: 'default_quota', type: 'mb', label: t('domain.default_quota'), def: 5242880},
			{name: 'default_netdiskquota', type: 'mb', label: t('domain.default_netdiskquota'), def: 5242880},
			{name: 'default_expire', label: t('domain.default_expire'), def: '1y',
				pattern: '^[0-9]+[dmy]$', help: t('domain.default_expire.help'), maxlength: 12},
		]},
		serviceFields(t('domain.services'), data, null, false),
		{name: 'transport', label: t('domain.transport'), help: t('domain.transport.help')},
		{name: 'can_signup', type: 'checkbox', label: t('domain.can_signup'), def: 0},
		{name: 'expiredate', type: 'date', label: t('expiredate'), help: t('expiredate.help')},
		{name: 'active', type: 'checkbox', label: t('active'), def: 1},
	];
	if (!isNew) specs.push({name: 'createdate', type: 'static', label: t('createdate')});
	const actions = [linkButton(t('cancel'), '#/domains')];
	if (!isNew) {
		actions.push(h('button.danger', {type: 'button', onclick: async () => {
			if (!await confirmDialog(t('domain.confirm_delete', {domain: params.d}))) return;
			try {
				await api.del('/api/domains/' + api.seg(params.d));
				flash(t('domain.deleted', {domain: params.d}));
				go('#/domains');
			} catch (e) { f.showError(e); }
		}}, t('delete')));
	}
	const f = buildForm(specs, data, {actions});
	// the expiry quick-set buttons go next to the date field
	const exp = f.fields.get('expiredate');
	exp.wrap.insertBefore(expiryButtons(f, 'expiredate'), exp.err);
	onSubmit(f, async (v) => {
		if (isNew) {
			await api.post('/api/domains', v);
			flash(t('domain.created', {domain: v.domain}));
		} else {
			await api.put('/api/domains/' + api.seg(params.d), v);
			flash(t('saved'));
		}
		go('#/domains');
	});
	return h('section', null,
		crumbs([t('nav.domains'), '#/domains'], [isNew ? t('domain.add') : params.d]),
		pageHead(title,
			!isNew ? linkButton(t('nav.mailboxes'), href('domain', params.d, 'mailboxes')) : null,
			!isNew ? linkButton(t('nav.aliases'), href('domain', params.d, 'aliases')) : null,
			!isNew ? linkButton(t('nav.dkim'), href('domain', params.d, 'dkim')) : null),
		f.form);
}

