// The address book (#/contacts: GET/POST/PUT/DELETE /api/contacts, CSV
// import and export) and the domain directory (GET /api/directory), plus
// address completion for the compose form's To/Cc/Bcc fields.
import {call} from './api.js';
import {t} from './i18n.js';

const FIELDS = ['name', 'email', 'nick', 'company', 'phone', 'group', 'notes'];

// Splits "Name <a@b>" or a bare address.
export function parseAddress(s) {
	const m = /^\s*"?([^"<]*?)"?\s*<([^>]+)>\s*$/.exec(s || '');
	return m ? {name: m[1].trim(), email: m[2].trim()} : {name: '', email: (s || '').trim()};
}

export async function addSender(ui, from) {
	const a = parseAddress(from);
	try {
		await call('POST', '/api/contacts', {name: a.name, email: a.email});
		ui.flash(t('contact_added', {email: a.email}));
	} catch (e) { ui.flash(ui.errText(e), 'error'); }
}

export async function showContacts(ui, q) {
	const {h} = ui;
	const [book, dir] = await Promise.all([call('GET', '/api/contacts'),
		call('GET', '/api/directory').catch(() => ({entries: []}))]);
	const group = q.get('group') || '';
	const editing = q.get('edit') || '';
	const needle = (q.get('q') || '').toLowerCase();
	const list = book.contacts.filter(c => (!group || c.group === group) &&
		(!needle || [c.name, c.email, c.nick, c.company].some(v => (v || '').toLowerCase().includes(needle))));
	const input = (name, v) => h('input', {type: name === 'email' ? 'email' : 'text', name, id: 'ct-' + name, value: v || '', maxlength: 1000});
	const cur = book.contacts.find(c => c.id === editing) || {};
	const els = Object.fromEntries(FIELDS.map(f => [f, f === 'notes' ?
		Object.assign(h('textarea', {name: f, id: 'ct-' + f, rows: 2}), {value: cur.notes || ''}) : input(f, cur[f])]));
	const form = h('form', {class: 'contact', id: 'contact-form', on: {submit: async ev => {
		ev.preventDefault();
		ui.busy(true);
		try {
			const body = Object.fromEntries(FIELDS.map(f => [f, els[f].value]));
			if (cur.id) await call('PUT', '/api/contacts/' + encodeURIComponent(cur.id), body);
			else await call('POST', '/api/contacts', body);
			ui.go('#/contacts');
		} catch (e) { ui.flash(ui.errText(e), 'error'); ui.busy(false); }
	}}},
		h('h2', {text: cur.id ? t('contact_edit') : t('contact_new')}),
		FIELDS.map(f => h('div', {class: 'field'}, h('label', {for: 'ct-' + f, text: t('ct_' + f)}), els[f])),
		h('div', {class: 'actions'}, h('button', {class: 'primary', type: 'submit', text: t('save')}),
			cur.id ? h('a', {class: 'button', href: '#/contacts', text: t('back')}) : null));
	const groups = h('p', {class: 'groups'},
		h('a', {href: '#/contacts', class: group ? null : 'current', text: t('ct_all')}), ' ',
		book.groups.flatMap(g => [h('a', {href: '#/contacts?group=' + encodeURIComponent(g), class: g === group ? 'current' : null, text: g}), ' ']));
	const rows = list.map(c => h('tr', {'data-id': c.id},
		h('td', {text: c.name}), h('td', {text: c.email}), h('td', {text: c.group}), h('td', {text: c.phone}),
		h('td', null,
			h('a', {class: 'button', href: '#/compose?to=' + encodeURIComponent(c.email), text: t('ct_write')}), ' ',
			h('a', {class: 'button', href: '#/contacts?edit=' + encodeURIComponent(c.id), text: t('ct_edit')}), ' ',
			h('button', {type: 'button', name: 'delete', text: t('delete'), on: {click: async () => {
				ui.busy(true);
				try { await call('DELETE', '/api/contacts/' + encodeURIComponent(c.id)); await showContacts(ui, q); }
				catch (e) { ui.flash(ui.errText(e), 'error'); }
				finally { ui.busy(false); }
			}}}))));
	const file = h('input', {type: 'file', name: 'csv', id: 'ct-csv', accept: '.csv,text/csv'});
	const imp = h('form', {class: 'import', id: 'import-form', on: {submit: async ev => {
		ev.preventDefault();
		if (!file.files.length) return;
		ui.busy(true);
		try {
			const r = await call('POST', '/api/contacts/import', {csv: await file.files[0].text()});
			await showContacts(ui, q);
			ui.flash(t('ct_imported', {n: r.added}));
		} catch (e) { ui.flash(ui.errText(e), 'error'); }
		finally { ui.busy(false); }
	}}}, h('label', {for: 'ct-csv', text: t('ct_import')}), file,
		h('button', {type: 'submit', text: t('ct_import_go')}), ' ',
		h('a', {class: 'button', href: '/api/contacts.csv', download: 'contacts.csv', text: t('ct_export')}));
	const table = (head, body) => h('div', {class: 'table-wrap'}, h('table', {class: 'list'},
		h('thead', null, h('tr', null, head.map(k => h('th', {text: t(k)})))), h('tbody', null, body)));
	const sq = h('input', {type: 'search', name: 'q', id: 'ct-q', value: q.get('q') || '', 'aria-label': t('ct_search'), placeholder: t('ct_search')});
	const search = h('form', {class: 'ct-search', role: 'search', on: {submit: ev => {
		ev.preventDefault();
		const p = new URLSearchParams();
		if (group) p.set('group', group);
		if (sq.value.trim()) p.set('q', sq.value.trim());
		ui.go('#/contacts' + (p.toString() ? '?' + p : ''));
	}}}, sq, h('button', {type: 'submit', text: t('ct_search')}));
	ui.frame(h('h1', {text: t('contacts')}), search, groups,
		rows.length ? table(['ct_name', 'ct_email', 'ct_group', 'ct_phone', 'actions'], rows) :
			h('p', {class: 'empty', text: t('ct_none')}),
		form, imp,
		h('h2', {text: t('directory')}),
		dir.entries.length ? table(['ct_name', 'ct_email'], dir.entries.map(e => h('tr', null,
			h('td', {text: e.name}), h('td', null, h('a', {href: '#/compose?to=' + encodeURIComponent(e.address), text: e.address}))))) :
			h('p', {class: 'empty', text: t('ct_none')}));
}

// Completion for an address field: the part after the last comma is
// matched against the book and the directory; a list under the field
// offers the matches (arrow keys, Enter or a click).
export function complete(input) {
	let pool = null;
	const box = document.createElement('ul');
	box.className = 'complete';
	box.setAttribute('role', 'listbox');
	box.hidden = true;
	input.setAttribute('autocomplete', 'off');
	input.after(box);
	let sel = -1, items = [];
	const fetchPool = async () => {
		if (pool) return pool;
		const [b, d] = await Promise.all([call('GET', '/api/contacts').catch(() => ({contacts: []})),
			call('GET', '/api/directory').catch(() => ({entries: []}))]);
		const seen = new Set();
		pool = [];
		for (const x of [...b.contacts.map(c => ({name: c.name, email: c.email})),
			...d.entries.map(e => ({name: e.name, email: e.address}))]) {
			const k = x.email.toLowerCase();
			if (!seen.has(k)) { seen.add(k); pool.push(x); }
		}
		return pool;
	};
	const pick = i => {
		const x = items[i];
		if (!x) return;
		const parts = input.value.split(/[,;]/);
		parts[parts.length - 1] = ' ' + (x.name ? '"' + x.name.replace(/"/g, '') + '" <' + x.email + '>' : x.email);
		input.value = parts.join(',').replace(/^\s+/, '') + ', ';
		box.hidden = true;
		input.focus();
	};
	const draw = () => {
		box.replaceChildren(...items.map((x, i) => {
			const li = document.createElement('li');
			li.setAttribute('role', 'option');
			li.textContent = x.name ? x.name + ' <' + x.email + '>' : x.email;
			if (i === sel) li.className = 'sel';
			li.addEventListener('mousedown', ev => { ev.preventDefault(); pick(i); });
			return li;
		}));
		box.hidden = items.length === 0;
	};
	input.addEventListener('input', async () => {
		const word = input.value.split(/[,;]/).pop().trim().toLowerCase();
		if (word.length < 1) { items = []; draw(); return; }
		const all = await fetchPool();
		items = all.filter(x => x.email.toLowerCase().includes(word) || (x.name || '').toLowerCase().includes(word)).slice(0, 8);
		sel = items.length ? 0 : -1;
		draw();
	});
	input.addEventListener('keydown', ev => {
		if (box.hidden) return;
		if (ev.key === 'ArrowDown') { sel = Math.min(items.length - 1, sel + 1); draw(); ev.preventDefault(); }
		else if (ev.key === 'ArrowUp') { sel = Math.max(0, sel - 1); draw(); ev.preventDefault(); }
		else if (ev.key === 'Enter' && sel >= 0) { pick(sel); ev.preventDefault(); ev.stopPropagation(); }
		else if (ev.key === 'Escape') { box.hidden = true; }
	});
	input.addEventListener('blur', () => { box.hidden = true; });
}
