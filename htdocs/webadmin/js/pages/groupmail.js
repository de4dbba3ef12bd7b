// Group mail: one plain-text message to every active mailbox of the
// chosen domains (admin: any; a postmaster: its own), sent by the server
// in the background.

import {h} from '../dom.js';
import {t} from '../i18n.js';
import * as api from '../api.js';
import {buildForm, onSubmit} from '../form.js';
import {pageHead, flash, go} from '../ui.js';

export async function page(params, query, ctx) {
	const domains = await api.allDomains();
	const pre = query.get('domain');
	const f = buildForm([
		{type: 'fieldset', legend: t('groupmail.domains'), help: t('groupmail.domains.help'),
			fields: domains.map(d => ({name: 'dom:' + d, type: 'checkbox', label: d,
				def: d === pre || domains.length === 1 ? 1 : 0, skip: true}))},
		{name: 'subject', label: t('groupmail.subject'), required: true, maxlength: 998},
		{name: 'text', type: 'textarea', label: t('groupmail.text'), required: true, rows: 10},
	], null, {submitLabel: t('groupmail.send'), fieldAliases: {domain: 'subject'}});
	onSubmit(f, async (v) => {
		v.domains = domains.filter(d => f.input('dom:' + d).checked);
		if (!v.domains.length) {
			f.showError({status: 400, message: t('groupmail.none')});
			return;
		}
		const r = await api.post('/api/groupmail', v);
		flash(t('groupmail.sent', {n: r && r.recipients !== undefined ? r.recipients : '?'}));
		go('#/groupmail');
	});
	return h('section', null,
		pageHead(t('nav.groupmail')),
		h('p', null, t('groupmail.intro')),
		f.form);
}
