// NetDisk (#/netdisk?path=DIR): ExtMail's file store in Maildir/fileman/
// (GET/POST /api/netdisk, downloads from /api/netdisk/file).  Files go up
// through POST /api/upload and are then saved into the folder shown.
import {call, upload} from './api.js';
import {t} from './i18n.js';

export async function showNetdisk(ui, q) {
	const {h} = ui;
	const path = (q.get('path') || '').replace(/^\/+|\/+$/g, '');
	const r = await call('GET', '/api/netdisk', undefined, {path});
	const join = n => path ? path + '/' + n : n;
	const here = p => '#/netdisk' + (p ? '?path=' + encodeURIComponent(p) : '');
	const act = async fn => {
		ui.busy(true);
		try { await fn(); await showNetdisk(ui, q); } catch (e) { ui.flash(ui.errText(e), 'error'); }
		finally { ui.busy(false); }
	};
	const crumbs = [h('a', {href: here(''), text: t('netdisk')})];
	let acc = '';
	for (const seg of path ? path.split('/') : []) {
		acc = acc ? acc + '/' + seg : seg;
		crumbs.push(' / ', h('a', {href: here(acc), text: seg}));
	}
	const rows = r.entries.sort((a, b) => (b.dir - a.dir) || a.name.localeCompare(b.name)).map(e => h('tr', {'data-name': e.name},
		h('td', null, e.dir ? h('a', {href: here(join(e.name)), class: 'dir', text: e.name + '/'}) :
			h('a', {href: '/api/netdisk/file?path=' + encodeURIComponent(join(e.name)), download: e.name, text: e.name})),
		h('td', {text: e.dir ? '' : ui.fmtSize(e.size)}),
		h('td', {text: new Date(e.mtime * 1000).toLocaleString()}),
		h('td', null, h('button', {type: 'button', name: 'rename', text: t('nd_rename'), on: {click: () => {
			// a new name here, or a path from the top ("a/b") to move it
			const to = window.prompt(t('nd_rename_to'), join(e.name));
			if (to && to !== join(e.name)) act(() => call('POST', '/api/netdisk', {op: 'rename', path: join(e.name), to}));
		}}}), ' ', h('button', {type: 'button', name: 'delete', text: t('delete'),
			on: {click: () => act(() => call('POST', '/api/netdisk', {op: 'delete', path: join(e.name)}))}}))));
	const dirname = h('input', {type: 'text', name: 'dirname', id: 'nd-dirname', maxlength: 255});
	const mk = h('form', {class: 'netdisk-mkdir', id: 'mkdir-form', on: {submit: ev => {
		ev.preventDefault();
		if (dirname.value.trim()) act(() => call('POST', '/api/netdisk', {op: 'mkdir', path, name: dirname.value.trim()}));
	}}}, h('label', {for: 'nd-dirname', text: t('nd_new_folder')}), dirname, h('button', {type: 'submit', text: t('create')}));
	const file = h('input', {type: 'file', name: 'file', id: 'nd-file', multiple: true, on: {change: () => act(async () => {
		for (const f of file.files) {
			const fd = new FormData();
			fd.append('file', f, f.name);
			const u = await upload(fd);
			await call('POST', '/api/netdisk', {op: 'save', path, id: u.id});
		}
	})}});
	const qv = r.quota;
	const pct = qv.max_bytes ? Math.min(100, Math.round(qv.bytes * 100 / qv.max_bytes)) : 0;
	ui.frame(h('h1', {text: t('netdisk')}),
		h('p', {class: 'crumbs'}, crumbs),
		h('div', {class: 'quota' + (pct >= 90 ? ' warn' : '')},
			h('progress', {max: 100, value: pct, 'aria-label': t('quota')}),
			h('span', {text: t('quota_used', {used: ui.fmtSize(qv.bytes), max: qv.max_bytes ? ui.fmtSize(qv.max_bytes) : '∞', pct})})),
		rows.length ? h('div', {class: 'table-wrap'}, h('table', {class: 'list netdisk'},
			h('thead', null, h('tr', null, ['nd_name', 'size', 'date', 'actions'].map(k => h('th', {text: t(k)})))),
			h('tbody', null, rows))) : h('p', {class: 'empty', text: t('nd_empty')}),
		h('div', {class: 'field'}, h('label', {for: 'nd-file', text: t('nd_upload')}), file),
		mk);
}
