// Shared page pieces: page header, flash messages, confirm dialog, paged
// list with search, tables that turn into cards on a phone.

import {h, clear} from './dom.js';
import {t} from './i18n.js';
import {items, total} from './api.js';
import {errorText} from './form.js';

// aria-busy on #app while a page renders or a list loads (screen readers
// wait; the browser tests wait for it too).
let pending = 0;
export function busy(delta) {
	pending = Math.max(0, pending + delta);
	const app = document.getElementById('app');
	if (app) app.setAttribute('aria-busy', pending ? 'true' : 'false');
}

let flashMsg = null;
export function flash(msg) { flashMsg = msg; }
export function takeFlash() { const m = flashMsg; flashMsg = null; return m; }

export function go(hash) {
	if (location.hash === hash) window.dispatchEvent(new HashChangeEvent('hashchange'));
	else location.hash = hash;
}

// "#/a/b" from segments, each encoded.
export function href(...segs) {
	return '#/' + segs.map(s => encodeURIComponent(s)).join('/');
}

export function pageHead(title, ...extra) {
	document.title = title + ' — ' + t('app.title');
	return h('div.page-head', null,
		h('h1', {tabindex: -1}, title),
		extra.length ? h('div.head-actions', null, extra) : null);
}

export function linkButton(label, to, cls) {
	return h('a', {class: 'button ' + (cls || ''), href: to}, label);
}

export function errorBox(e) {
	return h('p.form-alert', {role: 'alert'}, errorText(e));
}

export function crumbs(...parts) {
	const nav = h('nav.crumbs', {'aria-label': t('nav.breadcrumb')});
	const ol = h('ol');
	for (const [label, to] of parts) {
		ol.appendChild(h('li', null, to ? h('a', {href: to}, label) : h('span', {'aria-current': 'page'}, label)));
	}
	nav.appendChild(ol);
	return nav;
}

// confirmDialog(message, {extra: node, okLabel}) -> Promise<bool>
export function confirmDialog(message, opts) {
	opts = opts || {};
	return new Promise((resolve) => {
		const ok = h('button.danger', {type: 'submit', value: 'ok'}, opts.okLabel || t('delete'));
		const cancel = h('button', {type: 'button'}, t('cancel'));
		const form = h('form', {method: 'dialog'},
			h('p.dialog-msg', null, message),
			opts.extra || null,
			h('div.actions', null, ok, cancel));
		const dlg = h('dialog.confirm', {'aria-label': message}, form);
		document.body.appendChild(dlg);
		let result = false;
		ok.addEventListener('click', () => { result = true; });
		cancel.addEventListener('click', () => dlg.close());
		dlg.addEventListener('close', () => { dlg.remove(); resolve(result); });
		dlg.showModal();
		cancel.focus();
	});
}

// A table.  columns: [{label, cell: row => node|string, cls}]
export function table(columns, rows, caption) {
	const thead = h('thead', null, h('tr', null, columns.map(c => h('th', {scope: 'col', class: c.cls}, c.label))));
	const tbody = h('tbody');
	for (const r of rows) {
		tbody.appendChild(h('tr', null, columns.map(c =>
			h('td', {'data-label': c.label, class: c.cls}, c.cell(r)))));
	}
	return h('div.table-wrap', null,
		h('table.list', null, caption ? h('caption', null, caption) : null, thead, tbody));
}

// A searchable, paged list.
// opts: {fetch: state => Promise<resp>, columns, searchLabel, empty,
//        filters: [{name, label, type, options}] (more inputs), state: {q, page},
//        noSearch}
export function pagedList(opts) {
	const root = h('section.paged');
	const state = Object.assign({q: '', page: 1}, opts.state || {});
	const qIn = h('input', {type: 'search', name: 'q', id: 'list-q', value: state.q,
		placeholder: opts.searchLabel || t('search'), autocomplete: 'off'});
	const extraInputs = (opts.filters || []).map(f => {
		const id = 'flt-' + f.name;
		const input = h('input', {type: f.type || 'text', name: f.name, id, value: state[f.name] || '',
			list: f.options ? id + '-list' : null, autocomplete: 'off'});
		const dl = f.options ? h('datalist', {id: id + '-list'}, f.options.map(o => h('option', {value: o}))) : null;
		return {f, input, node: h('div.filter', null, h('label', {for: id}, f.label), input, dl)};
	});
	const searchForm = h('form.search', {role: 'search'},
		h('div.filter', null, h('label', {for: 'list-q'}, opts.searchLabel || t('search')), qIn),
		extraInputs.map(x => x.node),
		h('button', {type: 'submit'}, t('search')));
	const status = h('p.list-status', {role: 'status', 'aria-live': 'polite'});
	const body = h('div.list-body');
	const pager = h('nav.pager', {'aria-label': t('pager')});
	if (opts.noSearch) searchForm.hidden = true;
	root.append(searchForm, status, body, pager);

	searchForm.addEventListener('submit', (ev) => {
		ev.preventDefault();
		state.q = qIn.value.trim();
		for (const x of extraInputs) state[x.f.name] = x.input.value.trim();
		state.page = 1;
		load();
	});

	let pageSize = 0;
	async function load() {
		busy(1);
		try {
			await loadPage();
		} finally {
			busy(-1);
		}
	}
	async function loadPage() {
		clear(status).textContent = t('loading');
		let resp;
		try {
			resp = await opts.fetch(state);
		} catch (e) {
			clear(body);
			clear(pager);
			status.textContent = '';
			body.appendChild(errorBox(e));
			return;
		}
		const rows = items(resp);
		const n = total(resp, rows.length);
		if (resp && resp.page_size) pageSize = resp.page_size;
		if (!pageSize && state.page === 1 && n > rows.length) pageSize = rows.length;
		const pages = pageSize ? Math.max(1, Math.ceil(n / pageSize)) : 1;
		clear(body);
		if (!rows.length) {
			body.appendChild(h('p.empty', null, opts.empty || t('list.empty')));
		} else {
			body.appendChild(table(opts.columns, rows));
		}
		status.textContent = t('list.count', {n});
		clear(pager);
		if (pages > 1) {
			const prev = h('button', {type: 'button', disabled: state.page <= 1,
				onclick: () => { state.page -= 1; load(); }}, t('pager.prev'));
			const next = h('button', {type: 'button', disabled: state.page >= pages,
				onclick: () => { state.page += 1; load(); }}, t('pager.next'));
			const jump = h('input', {type: 'number', min: 1, max: pages, value: state.page,
				id: 'pager-jump', 'aria-label': t('pager.jump')});
			const jf = h('form.jump', null,
				h('label', {for: 'pager-jump'}, t('pager.page')), jump,
				h('span', null, t('pager.of', {pages})),
				h('button', {type: 'submit'}, t('pager.go')));
			jf.addEventListener('submit', (ev) => {
				ev.preventDefault();
				const p = parseInt(jump.value, 10);
				if (p >= 1 && p <= pages) { state.page = p; load(); }
			});
			pager.append(prev, jf, next);
		}
	}
	const alertBox = h('p.form-alert', {role: 'alert', hidden: true, tabindex: -1});
	root.insertBefore(alertBox, body);
	// an action on a row failed (a delete): say so above the list
	root.showError = (e) => {
		alertBox.textContent = errorText(e);
		alertBox.hidden = false;
		alertBox.focus();
	};
	root.reload = () => { alertBox.hidden = true; return load(); };
	load();
	return root;
}

export function yesNo(v) {
	return v === true || v === 1 || v === '1' ? t('yes') : t('no');
}

// A date or time from the API; '' and ExtMail's zero date read as
// `empty` (default "Never", for expiry dates).
export function dateText(v, empty) {
	if (!v || /^0000-00-00/.test(String(v))) return empty === undefined ? t('never') : empty;
	return String(v).replace('T', ' ').replace(/(\d\d:\d\d:\d\d).*$/, '$1');
}
