// Aliases of one domain: list, add, edit, delete.  "@domain" is the
// catch-all; targets one per line on screen (the table keeps ExtMail's
// comma list).

import {h} from '../dom.js';
import {t} from '../i18n.js';
import * as api from '../api.js';
import {buildForm, onSubmit} from '../form.js';
import {pageHead, pagedList, linkButton, href, flash, go, yesNo, dateText, confirmDialog, crumbs} from '../ui.js';

const base = (d) => '/api/domains/' + api.seg(d) + '/aliases';

function targets(a) {
	const g = a.goto;
	return (Array.isArray(g) ? g : String(g || '').split(',')).map(s => s.trim()).filter(Boolean);
}

async function remove(d, address) {
	if (!await confirmDialog(t('alias.confirm_delete', {address}))) return false;
	await api.del(base(d) + '/' + api.seg(address));
	flash(t('alias.deleted', {address}));
	return true;
}

export function list(params, query, ctx) {
	const d = params.d;
	let listEl;
	const columns = [
		{label: t('alias.address'), cell: a => h('a', {href: href('domain', d, 'alias', a.address)},
			a.address[0] === '@' ? a.address + ' (' + t('alias.catchall') + ')' : a.address)},
		{label: t('alias.goto'), cell: a => h('ul.targets', null, targets(a).map(x => h('li', null, x)))},
		{label: t('createdate'), cls: 'nowrap', cell: a => dateText(a.createdate, '')},
		{label: t('active'), cell: a => yesNo(a.active)},
		{label: t('actions'), cls: 'col-actions', cell: a => h('span.row-actions', null,
			h('a', {href: href('domain', d, 'alias', a.address), 'aria-label': t('edit') + ' ' + a.address}, t('edit')),
			h('button.link.danger-text', {type: 'button', 'aria-label': t('delete') + ' ' + a.address, onclick: async () => {
				try {
					if (await remove(d, a.address)) listEl.reload();
				} catch (e) { listEl.showError(e); }
			}}, t('delete')))},
	];
	listEl = pagedList({
		searchLabel: t('alias.search'),
		state: {q: query.get('q') || ''},
		fetch: (s) => api.get(base(d) + api.qs({q: s.q, page: s.page})),
		columns,
		empty: t('alias.none'),
	});
	return h('section', null,
		crumbs([t('nav.domains'), '#/domains'], [d, ctx.isAdmin ? href('domain', d) : null], [t('nav.aliases')]),
		pageHead(t('alias.list', {domain: d}),
			linkButton(t('alias.add'), href('domain', d, 'aliases', 'new'), 'primary'),
			linkButton(t('nav.mailboxes'), href('domain', d, 'mailboxes')),
			linkButton(t('csv.title'), href('domain', d, 'csv') + '?type=aliases')),
		listEl);
}

export async function edit(params, query, ctx) {
	const d = params.d;
	const isNew = !params.a;
	let data = null;
	if (!isNew) {
		data = await api.get(base(d) + '/' + api.seg(params.a));
		data = Object.assign({}, data, {goto: targets(data)});
	}
	const title = isNew ? t('alias.add') : t('alias.edit', {address: params.a});
	const specs = [
		isNew
			? {name: 'local', label: t('alias.local'), suffix: '@' + d, help: t('alias.local.help'), autocomplete: 'off', skip: true}
			: {name: 'address', type: 'static', label: t('alias.address')},
		{name: 'goto', type: 'lines', label: t('alias.goto'), required: true, rows: 5, help: t('alias.goto.help')},
		{name: 'active', type: 'checkbox', label: t('active'), def: 1},
	];
	if (!isNew) specs.push({name: 'createdate', type: 'static', label: t('createdate')});
	const back = href('domain', d, 'aliases');
	const actions = [linkButton(t('cancel'), back)];
	if (!isNew) {
		actions.push(h('button.danger', {type: 'button', onclick: async () => {
			try { if (await remove(d, params.a)) go(back); } catch (e) { f.showError(e); }
		}}, t('delete')));
	}
	const f = buildForm(specs, data, {actions, fieldAliases: {address: 'local'}});
	onSubmit(f, async (v) => {
		if (isNew) {
			const local = f.input('local').value.trim();
			v.address = (local ? local : '') + '@' + d;
			const r = await api.post(base(d), v);
			flash(t('alias.created', {address: (r && r.address) || v.address}));
		} else {
			await api.put(base(d) + '/' + api.seg(params.a), v);
			flash(t('saved'));
		}
		go(back);
	});
	return h('section', null,
		crumbs([t('nav.domains'), '#/domains'], [d, back], [isNew ? t('alias.add') : params.a]),
		pageHead(title),
		f.form);
}
