// DKIM keys of a domain (docs/mta.md "DKIM"): the DNS records to publish,
// a new key (rotation: a new selector beside the old one), retiring a key.

import {h} from '../dom.js';
import {t} from '../i18n.js';
import * as api from '../api.js';
import {buildForm, onSubmit} from '../form.js';
import {pageHead, crumbs, table, flash, go, href, linkButton, confirmDialog, errorBox} from '../ui.js';

function recordBox(k) {
	const id = 'rec-' + k.selector;
	const area = h('textarea.dkim-record', {id, readonly: true, rows: 4, spellcheck: 'false',
		'aria-label': t('dkim.record_of', {selector: k.selector})}, k.record);
	const copy = h('button.small', {type: 'button', onclick: async () => {
		area.select();
		try { await navigator.clipboard.writeText(k.record); } catch (e) { document.execCommand('copy'); }
		copy.textContent = t('dkim.copied');
	}}, t('dkim.copy'));
	return h('div.dkim-rec', null, area, copy);
}

export async function page(params, query, ctx) {
	const d = params.d;
	const path = '/api/domains/' + api.seg(d) + '/dkim';
	const here = href('domain', d, 'dkim');
	const data = await api.get(path);
	const keys = data.keys || [];
	const columns = [
		{label: t('dkim.selector'), cls: 'nowrap', cell: k => h('code', null, k.selector)},
		{label: t('dkim.algorithm'), cls: 'nowrap', cell: k => k.algorithm === 'ed25519' ? 'Ed25519' : 'RSA-2048'},
		{label: t('dkim.name'), cell: k => h('code.dkim-name', null, k.name)},
		{label: t('dkim.record'), cell: recordBox},
		{label: t('actions'), cls: 'col-actions', cell: k => h('button.danger.small', {type: 'button',
			'aria-label': t('delete') + ' ' + k.selector, onclick: async (ev) => {
				if (!await confirmDialog(t('dkim.confirm_delete', {selector: k.selector, domain: d}))) return;
				try {
					await api.del(path + '/' + api.seg(k.selector));
					flash(t('dkim.deleted', {selector: k.selector}));
					go(here);
				} catch (e) { ev.target.parentNode.appendChild(errorBox(e)); }
			}}, t('delete'))},
	];
	const f = buildForm([
		{name: 'selector', label: t('dkim.selector'), help: t('dkim.selector.help'),
			pattern: '^[a-z0-9_][a-z0-9_-]*$', maxlength: 63, autocomplete: 'off'},
		{name: 'algorithm', type: 'select', label: t('dkim.algorithm'), def: 'rsa',
			options: [['rsa', 'RSA-2048'], ['ed25519', 'Ed25519 (RFC 8463)']]},
	], null, {submitLabel: keys.length ? t('dkim.rotate') : t('dkim.generate')});
	onSubmit(f, async (v) => {
		const body = {algorithm: v.algorithm};
		if (v.selector) body.selector = v.selector;
		const k = await api.post(path, body);
		flash(t('dkim.created', {selector: k.selector}));
		go(here);
	});
	return h('section', null,
		crumbs([t('nav.domains'), '#/domains'], [d, href('domain', d, 'mailboxes')], [t('nav.dkim')]),
		pageHead(t('dkim.title', {domain: d}),
			linkButton(t('nav.mailboxes'), href('domain', d, 'mailboxes'))),
		h('p.help', null, t('dkim.intro')),
		keys.length ? [h('h2', null, t('dkim.keys')), table(columns, keys)]
			: h('p.empty#dkim-none', null, t('dkim.none')),
		h('h2', null, keys.length ? t('dkim.rotate_title') : t('dkim.generate_title')),
		h('p.help', null, keys.length ? t('dkim.rotate_help') : t('dkim.generate_help')),
		f.form);
}
