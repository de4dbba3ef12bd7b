// CSV export and import of a domain's mailboxes or aliases: a dry run
// lists every bad row with its reason; the import writes all rows or none.

import {h, clear} from '../dom.js';
import {t} from '../i18n.js';
import * as api from '../api.js';
import {errorText} from '../form.js';
import {pageHead, href, crumbs, table, busy} from '../ui.js';

export function page(params, query, ctx) {
	const d = params.d;
	const type = query.get('type') === 'aliases' ? 'aliases' : 'mailboxes';
	const exportUrl = '/api/domains/' + api.seg(d) + '/export' + api.qs({type});
	const importUrl = (dry) => '/api/domains/' + api.seg(d) + '/import' + api.qs({type, dry_run: dry ? 1 : ''});
	const columns = type === 'mailboxes' ? t('csv.columns.mailboxes') : t('csv.columns.aliases');

	const typeNav = h('nav.tabs', {'aria-label': t('csv.type')}, h('ul', null,
		['mailboxes', 'aliases'].map(x => h('li', null, h('a', {
			href: href('domain', d, 'csv') + '?type=' + x,
			'aria-current': x === type ? 'page' : null,
		}, t('nav.' + x))))));

	const file = h('input', {type: 'file', id: 'csv-file', name: 'file', accept: '.csv,text/csv'});
	const text = h('textarea', {id: 'csv-text', name: 'csv', rows: 8, spellcheck: 'false', class: 'mono',
		'aria-describedby': 'csv-help'});
	file.addEventListener('change', async () => {
		if (file.files && file.files[0]) text.value = await file.files[0].text();
	});
	const report = h('div.csv-report', {role: 'status', 'aria-live': 'polite'});
	const dryBtn = h('button', {type: 'button', id: 'csv-check'}, t('csv.check'));
	const runBtn = h('button.primary', {type: 'button', id: 'csv-import'}, t('csv.import'));

	function show(r, dry) {
		clear(report);
		if (!r) return;
		const ok = !r.error_count;
		report.append(h('p', {class: ok ? 'flash' : 'form-alert'},
			dry ? t(ok ? 'csv.dry_ok' : 'csv.dry_bad', {rows: r.rows, valid: r.valid, errors: r.error_count})
				: ok ? t('csv.done', {n: r.imported}) : t('csv.refused', {errors: r.error_count})));
		if (r.errors && r.errors.length) {
			report.append(table([
				{label: t('csv.line'), cell: e => String(e.line)},
				{label: t('csv.field'), cell: e => e.field || ''},
				{label: t('csv.message'), cell: e => e.message || ''},
			], r.errors));
		}
	}

	async function run(dry) {
		clear(report);
		if (!text.value.trim()) {
			report.append(h('p.form-alert', null, t('csv.empty')));
			return;
		}
		dryBtn.disabled = runBtn.disabled = true;
		busy(1);
		try {
			show(await api.call('POST', importUrl(dry), text.value, 'text/csv; charset=utf-8'), dry);
		} catch (e) {
			if (e.body && typeof e.body.error_count === 'number') show(e.body, dry);
			else report.append(h('p.form-alert', {role: 'alert'}, errorText(e)));
		} finally {
			dryBtn.disabled = runBtn.disabled = false;
			busy(-1);
		}
	}
	dryBtn.addEventListener('click', () => run(true));
	runBtn.addEventListener('click', () => run(false));

	return h('section', null,
		crumbs([t('nav.domains'), '#/domains'], [d, href('domain', d, type)], [t('csv.title')]),
		pageHead(t('csv.heading', {domain: d})),
		typeNav,
		h('section.card', null,
			h('h2', null, t('csv.export')),
			h('p', null, t('csv.export.help')),
			h('a', {class: 'button', href: exportUrl, download: d + '-' + type + '.csv', id: 'csv-export'},
				t('csv.download', {what: t('nav.' + type)}))),
		h('section.card', null,
			h('h2', null, t('csv.import.title')),
			h('p#csv-help', null, t('csv.import.help'), ' ', h('code', null, columns)),
			h('div.field', null, h('label', {for: 'csv-file'}, t('csv.file')), file),
			h('div.field', null, h('label', {for: 'csv-text'}, t('csv.text')), text),
			h('div.actions', null, dryBtn, runBtn),
			report));
}
