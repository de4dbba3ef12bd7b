// Managers (admin only): list, add, edit with their domains, delete (never
// yourself).

import {h} from '../dom.js';
import {t} from '../i18n.js';
import * as api from '../api.js';
import {buildForm, onSubmit} from '../form.js';
import {pageHead, pagedList, linkButton, href, flash, go, yesNo, dateText, confirmDialog, crumbs} from '../ui.js';
import {expiryButtons} from './domains.js';

function domainsOf(m) {
	const ds = m.domains || [];
	return ds.map(x => typeof x === 'string' ? x : x.domain).filter(Boolean);
}

function typeLabel(type) {
	return type === 'admin' ? t('role.admin') : t('role.postmaster');
}

export function list(params, query, ctx) {
	let listEl;
	const columns = [
		{label: t('manager.username'), cell: m => h('a', {href: href('manager', m.username)}, m.username)},
		{label: t('manager.name'), cell: m => m.name || ''},
		{label: t('manager.type'), cell: m => typeLabel(m.type)},
		{label: t('manager.domains'), cell: m => m.type === 'admin' ? t('manager.alldomains') : domainsOf(m).join(', ')},
		{label: t('expiredate'), cls: 'nowrap', cell: m => dateText(m.expiredate)},
		{label: t('active'), cell: m => yesNo(m.active)},
		{label: t('actions'), cls: 'col-actions', cell: m => h('span.row-actions', null,
			h('a', {href: href('manager', m.username), 'aria-label': t('edit') + ' ' + m.username}, t('edit')),
			m.username === ctx.me.user ? null : h('button.link.danger-text', {type: 'button', 'aria-label': t('delete') + ' ' + m.username, onclick: async () => {
				if (!await confirmDialog(t('manager.confirm_delete', {user: m.username}))) return;
				try {
					await api.del('/api/managers/' + api.seg(m.username));
					flash(t('manager.deleted', {user: m.username}));
					listEl.reload();
				} catch (e) { listEl.showError(e); }
			}}, t('delete')))},
	];
	listEl = pagedList({
		searchLabel: t('manager.search'),
		state: {q: query.get('q') || ''},
		fetch: (s) => api.get('/api/managers' + api.qs({q: s.q, page: s.page})),
		columns,
		empty: t('manager.none'),
	});
	return h('section', null,
		pageHead(t('nav.managers'), linkButton(t('manager.add'), '#/managers/new', 'primary')),
		listEl);
}

export async function edit(params, query, ctx) {
	const isNew = !params.u;
	let data = null;
	if (!isNew) data = await api.get('/api/managers/' + api.seg(params.u));
	const domains = await api.allDomains();
	const mine = new Set(data ? domainsOf(data) : []);
	const title = isNew ? t('manager.add') : t('manager.edit', {user: params.u});
	const specs = [
		{name: 'username', type: isNew ? 'email' : 'static', label: t('manager.username'), required: true,
			autocomplete: 'off', help: isNew ? t('manager.username.help') : null},
		{name: 'name', label: t('manager.name'), autocomplete: 'off'},
		{name: 'password', type: 'password', label: isNew ? t('password') : t('mailbox.newpassword'),
			required: isNew, autocomplete: 'new-password', help: isNew ? t('password.help') : t('mailbox.newpassword.help')},
		{name: 'password2', type: 'password', label: t('password.confirm'), required: isNew,
			autocomplete: 'new-password', skip: true},
		{name: 'type', type: 'select', label: t('manager.type'), def: 'postmaster',
			options: [['postmaster', t('role.postmaster')], ['admin', t('role.admin')]]},
		{type: 'fieldset', legend: t('manager.domains'), help: t('manager.domains.help'),
			fields: domains.map(d => ({name: 'dom:' + d, type: 'checkbox', label: d, def: mine.has(d) ? 1 : 0, skip: true}))},
		{name: 'expiredate', type: 'date', label: t('expiredate'), help: t('expiredate.help')},
		{name: 'active', type: 'checkbox', label: t('active'), def: 1},
		{name: 'disablepwdchange', type: 'checkbox', label: t('mailbox.disablepwdchange'), def: 0},
		{type: 'fieldset', legend: t('mailbox.recovery'), fields: [
			{name: 'question', label: t('mailbox.question'), autocomplete: 'off'},
			{name: 'answer', label: t('mailbox.answer'), autocomplete: 'off', omitEmpty: true,
				help: isNew ? null : t('mailbox.answer.help')},
		]},
	];
	if (!isNew) specs.push({name: 'createdate', type: 'static', label: t('createdate')});
	if (data && !data.type) data.type = 'postmaster';
	const actions = [linkButton(t('cancel'), '#/managers')];
	if (!isNew && params.u !== ctx.me.user) {
		actions.push(h('button.danger', {type: 'button', onclick: async () => {
			if (!await confirmDialog(t('manager.confirm_delete', {user: params.u}))) return;
			try {
				await api.del('/api/managers/' + api.seg(params.u));
				flash(t('manager.deleted', {user: params.u}));
				go('#/managers');
			} catch (e) { f.showError(e); }
		}}, t('delete')));
	}
	const f = buildForm(specs, data, {actions});
	const typeSel = f.input('type');
	const domFs = f.form.querySelectorAll('fieldset.group')[0];
	const syncType = () => { domFs.hidden = typeSel.value === 'admin'; };
	typeSel.addEventListener('change', syncType);
	syncType();
	const exp = f.fields.get('expiredate');
	exp.wrap.insertBefore(expiryButtons(f, 'expiredate'), exp.err);
	onSubmit(f, async (v) => {
		if (v.password !== f.input('password2').value) {
			f.fieldError('password2', t('password.mismatch'));
			return;
		}
		if (!v.password) delete v.password;
		v.domains = v.type === 'admin' ? [] : domains.filter(d => f.input('dom:' + d).checked);
		if (isNew) {
			await api.post('/api/managers', v);
			flash(t('manager.created', {user: v.username}));
		} else {
			await api.put('/api/managers/' + api.seg(params.u), v);
			flash(t('saved'));
		}
		go('#/managers');
	});
	return h('section', null,
		crumbs([t('nav.managers'), '#/managers'], [isNew ? t('manager.add') : params.u]),
		pageHead(title),
		f.form);
}
