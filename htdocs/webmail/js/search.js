// Search (GET /api/search): the box in the header ("/" focuses it), the
// advanced form and the results, and the list's quick filters (unread,
// flagged), which are searches of one folder.  Route:
//   #/search?q=&in=&folder=&since=&before=&attachment=&flag=&page=
import {call} from './api.js';
import {t} from './i18n.js';

const FIELDS = ['subject', 'from', 'to', 'body'];

export function searchHash(params) {
	const q = new URLSearchParams();
	for (const [k, v] of Object.entries(params))
		if (v !== undefined && v !== null && v !== '') q.set(k, v);
	return '#/search?' + q.toString();
}

// The header's search box: subject, sender and recipients of every folder.
export function searchBox(ui) {
	const q = ui.h('input', {type: 'search', name: 'q', id: 'search-q', 'aria-label': t('search'),
		placeholder: t('search_hint'), maxlength: 500});
	return ui.h('form', {class: 'searchbox', role: 'search', on: {submit: ev => {
		ev.preventDefault();
		if (q.value.trim()) ui.go(searchHash({q: q.value.trim()}));
	}}}, q, ui.h('button', {type: 'submit', text: t('search')}));
}

export async function showSearch(ui, qs) {
	const params = Object.fromEntries(qs.entries());
	const page = Math.max(1, parseInt(params.page || '1', 10) || 1);
	const r = await call('GET', '/api/search', undefined, {...params, page});
	const {h} = ui;
	// the advanced form, filled with the search shown
	const inSet = new Set((params.in || 'subject,from,to').split(','));
	const qIn = h('input', {type: 'text', name: 'q', id: 's-q', value: params.q || '', maxlength: 500});
	const boxes = FIELDS.map(f => h('input', {type: 'checkbox', name: 'in_' + f, id: 's-in-' + f,
		checked: inSet.has(f) || inSet.has('all')}));
	const folderSel = h('select', {name: 'folder', id: 's-folder'},
		h('option', {value: '', text: t('all_folders')}),
		ui.folders().map(f => h('option', {value: f.name, selected: f.name === params.folder, text: ui.folderLabel(f.name)})));
	const since = h('input', {type: 'date', name: 'since', id: 's-since', value: params.since || ''});
	const before = h('input', {type: 'date', name: 'before', id: 's-before', value: params.before || ''});
	const att = h('input', {type: 'checkbox', name: 'attachment', id: 's-att', checked: params.attachment === '1'});
	const field = (id, label, el) => h('div', {class: 'field'}, h('label', {for: id, text: label}), el);
	const form = h('form', {class: 'advsearch', on: {submit: ev => {
		ev.preventDefault();
		const inn = FIELDS.filter((f, i) => boxes[i].checked).join(',');
		ui.go(searchHash({q: qIn.value.trim(), in: inn || undefined, folder: folderSel.value,
			since: since.value, before: before.value, attachment: att.checked ? '1' : '',
			flag: params.flag}));
	}}},
		field('s-q', t('search_words'), qIn),
		h('fieldset', {class: 'in'}, h('legend', {text: t('search_in')}),
			FIELDS.map((f, i) => h('span', {class: 'check'}, boxes[i], h('label', {for: 's-in-' + f, text: t('in_' + f)})))),
		field('s-folder', t('folder'), folderSel),
		h('div', {class: 'dates'}, field('s-since', t('since'), since), field('s-before', t('before'), before)),
		h('div', {class: 'field check'}, att, h('label', {for: 's-att', text: t('with_attachments')})),
		h('div', {class: 'actions'}, h('button', {class: 'primary', type: 'submit', name: 'search', text: t('search')})));
	const rows = r.messages.map(m => {
		const unread = !m.flags.includes('\\Seen');
		const flagged = m.flags.includes('\\Flagged');
		return h('li', {class: 'msg' + (unread ? ' unread' : '') + (flagged ? ' flagged' : ''), 'data-uid': m.uid, 'data-folder': m.folder},
			h('a', {href: '#/message/' + encodeURIComponent(m.folder) + '/' + m.uid, class: 'open'},
				h('span', {class: 'from', text: m.from || '-'}),
				h('span', {class: 'subject', text: m.subject || t('no_subject')}),
				h('span', {class: 'meta'},
					h('span', {class: 'infolder', text: ui.folderLabel(m.folder)}),
					flagged ? h('span', {class: 'mark flag', title: t('flagged'), text: '⚑'}) : null,
					m.attachments ? ui.clip() : null,
					h('time', {datetime: new Date(m.date * 1000).toISOString(), text: ui.fmtDate(m.date)}))));
	});
	const pages = Math.max(1, Math.ceil(r.total / (r.page_size || 50)));
	const nav = p => ui.go(searchHash({...params, page: p}));
	const title = params.flag ? t('filter_' + params.flag) + ' · ' + ui.folderLabel(params.folder || 'INBOX') : t('search_results');
	ui.frame(h('h1', {text: title}),
		params.flag ? h('p', null, h('a', {class: 'button', href: ui.folderHash(params.folder || 'INBOX'), text: t('show_all')})) : form,
		h('p', {class: 'found', role: 'status', text: t('found_n', {n: r.total}) + (r.limited ? ' ' + t('limited') : '')}),
		rows.length ? h('ul', {class: 'messages results'}, rows) : h('p', {class: 'empty', text: t('nothing_found')}),
		h('div', {class: 'pager'},
			h('button', {type: 'button', name: 'prev', disabled: page <= 1, text: t('prev'), on: {click: () => nav(page - 1)}}),
			h('span', {text: t('page_of', {p: page, n: pages, total: r.total})}),
			h('button', {type: 'button', name: 'next', disabled: page >= pages, text: t('next'), on: {click: () => nav(page + 1)}})));
	ui.setList(null, r.messages.map(m => [m.folder, m.uid]));
}
