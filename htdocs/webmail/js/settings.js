// Settings (#/settings): preferences (GET/PUT /api/prefs, stored in the
// Maildir as youju-webmail.cf) and the password (POST /api/password).
// The app reads prefs() for the page size, sort, signature and language.
import {call, setCsrf} from './api.js';
import {t, load, current, LANGS} from './i18n.js';
import {LOCAL_CHARSETS, remoteSendersSection} from './reading.js';
import {htmlEditor, importHtml, textNodes} from './editor.js';

let cur = {sort: 'date', order: 'desc', signature: '', lang: '', page_size: 0};

export function prefs() { return cur; }

export async function loadPrefs() {
	try { cur = await call('GET', '/api/prefs'); } catch (e) { /* defaults */ }
	if (cur.lang && cur.lang !== current()) await load(cur.lang);
	return cur;
}

export async function showSettings(ui) {
	const {h} = ui;
	const p = await call('GET', '/api/prefs');
	cur = p;
	const field = (name, label, el, hint) => h('div', {class: 'field'},
		h('label', {for: 's-' + name, text: label}), el, hint ? h('p', {class: 'hint', text: hint}) : null);
	const sel = (name, v, opts) => h('select', {name, id: 's-' + name},
		opts.map(([k, label]) => h('option', {value: k, selected: k === v, text: label})));
	const name = h('input', {type: 'text', name: 'name', id: 's-name', value: p.name, maxlength: 200});
	const psize = sel('page_size', String(p.page_size || 0),
		[['0', t('pref_default')], ...[10, 20, 25, 50, 100, 200].map(n => [String(n), String(n)])]);
	const zones = typeof Intl.supportedValuesOf === 'function' ? Intl.supportedValuesOf('timeZone') : [];
	const tz = sel('timezone', p.timezone, [['', t('pref_browser')], ...zones.map(z => [z, z])]);
	const sort = sel('sort', p.sort, ['date', 'arrival', 'from', 'subject', 'size'].map(k => [k, t(k)]));
	const order = sel('order', p.order, [['desc', t('desc')], ['asc', t('asc')]]);
	const del = sel('delete_mode', p.delete_mode, [['trash', t('pref_del_trash')], ['purge', t('pref_del_purge')]]);
	const html = h('input', {type: 'checkbox', name: 'prefer_html', id: 's-prefer_html', checked: p.prefer_html});
	const lang = sel('lang', p.lang, [['', t('pref_browser')], ...LANGS]);
	const lcs = sel('local_charset', p.local_charset || '', [['', t('pref_local_off')], ...LOCAL_CHARSETS.map(c => [c, c])]);
	// the signature in the compose editor (editor.js), without images;
	// the server sanitizes it and keeps its text for plain-text mail
	const sig = htmlEditor({id: 's-signature', label: t('pref_signature'), images: false,
		onError: e => ui.flash(ui.errText(e), 'error'), busy: () => {}});
	sig.set(p.signature_html ? importHtml(p.signature_html) : textNodes(p.signature || ''));
	const save = h('form', {class: 'settings', id: 'prefs-form', on: {submit: async ev => {
		ev.preventDefault();
		ui.busy(true);
		try {
			cur = await call('PUT', '/api/prefs', {name: name.value, page_size: Number(psize.value),
				timezone: tz.value, sort: sort.value, order: order.value, delete_mode: del.value,
				prefer_html: html.checked, lang: lang.value, local_charset: lcs.value,
				signature: sig.text().trim() ? sig.text() : '', signature_html: sig.text().trim() ? sig.serialize().html : ''});
			if (cur.lang && cur.lang !== current()) { await load(cur.lang); ui.redraw(); }
			ui.flash(t('prefs_saved'));
		} catch (e) { ui.flash(ui.errText(e), 'error'); }
		finally { ui.busy(false); }
	}}},
		h('h2', {text: t('prefs')}),
		field('name', t('pref_name'), name),
		field('page_size', t('pref_page_size'), psize),
		field('timezone', t('pref_timezone'), tz),
		field('sort', t('sort'), sort), field('order', t('order'), order),
		field('delete_mode', t('pref_delete_mode'), del),
		h('div', {class: 'field check'}, html, h('label', {for: 's-prefer_html', text: t('pref_prefer_html')})),
		field('lang', t('language'), lang),
		field('local_charset', t('pref_local_charset'), lcs),
		h('div', {class: 'field'}, h('span', {class: 'label', id: 's-signature-label', text: t('pref_signature')}), sig.el,
			h('p', {class: 'hint', text: t('pref_signature_hint')})),
		h('div', {class: 'actions'}, h('button', {class: 'primary', type: 'submit', text: t('save')})));
	const oldpw = h('input', {type: 'password', name: 'old', id: 's-old', autocomplete: 'current-password', required: true});
	const newpw = h('input', {type: 'password', name: 'new', id: 's-new', autocomplete: 'new-password', required: true});
	const again = h('input', {type: 'password', name: 'again', id: 's-again', autocomplete: 'new-password', required: true});
	const pw = h('form', {class: 'settings', id: 'password-form', on: {submit: async ev => {
		ev.preventDefault();
		if (newpw.value !== again.value) return ui.flash(t('pw_mismatch'), 'error');
		ui.busy(true);
		try {
			const r = await call('POST', '/api/password', {old: oldpw.value, new: newpw.value});
			if (r.csrf) setCsrf(r.csrf);
			oldpw.value = newpw.value = again.value = '';
			ui.flash(t('pw_changed'));
		} catch (e) { ui.flash(ui.errText(e), 'error'); }
		finally { ui.busy(false); }
	}}},
		h('h2', {text: t('pw_change')}),
		field('old', t('pw_old'), oldpw), field('new', t('pw_new'), newpw), field('again', t('pw_again'), again),
		h('div', {class: 'actions'}, h('button', {class: 'primary', type: 'submit', text: t('pw_change')})));
	ui.frame(h('h1', {text: t('settings')}), save, pw, await remoteSendersSection(ui), await popSection(ui));
}

// POP3 fetch: up to 6 remote accounts (GET/POST /api/popfetch); "Fetch
// now" starts the server's background job and polls for its end.
async function popSection(ui) {
	const {h} = ui;
	const sec = h('section', {class: 'popfetch', id: 'popfetch'});
	const draw = (r) => {
		const rows = r.accounts.map(a => h('tr', {'data-id': a.id},
			h('td', {text: a.user + '@' + a.host + ':' + a.port}),
			h('td', {text: a.keep ? t('pf_keep') : t('pf_delete_remote')}),
			h('td', {class: 'result', text: a.last_result ? t('pf_result', {r: a.last_result, n: a.last_fetched || 0}) : '–'}),
			h('td', null, h('button', {type: 'button', name: 'pf_delete', text: t('delete'), on: {click: () => act({op: 'delete', id: a.id})}}))));
		const host = h('input', {type: 'text', name: 'host', id: 'pf-host', required: true, maxlength: 253});
		const port = h('input', {type: 'number', name: 'port', id: 'pf-port', value: '995', min: 1, max: 65535});
		const user = h('input', {type: 'text', name: 'user', id: 'pf-user', required: true, autocomplete: 'off', maxlength: 255});
		const pass = h('input', {type: 'password', name: 'password', id: 'pf-password', required: true, autocomplete: 'new-password', maxlength: 255});
		const keep = h('input', {type: 'checkbox', name: 'keep', id: 'pf-keep', checked: true});
		const field = (id, label, el) => h('div', {class: 'field'}, h('label', {for: id, text: label}), el);
		sec.replaceChildren(...[h('h2', {text: t('pf_title')}),
			r.enabled ? null : h('p', {class: 'note', text: t('popfetch_off')}),
			rows.length ? h('div', {class: 'table-wrap'}, h('table', {class: 'list'}, h('tbody', null, rows))) : null,
			rows.length ? h('div', {class: 'actions'}, h('button', {type: 'button', name: 'pf_run', class: 'primary',
				disabled: r.running, text: r.running ? t('pf_running') : t('pf_run'), on: {click: run}})) : null,
			r.accounts.length < 6 ? h('form', {class: 'settings', id: 'popfetch-form', on: {submit: ev => {
				ev.preventDefault();
				act({op: 'add', host: host.value.trim(), port: Number(port.value), user: user.value.trim(),
					password: pass.value, keep: keep.checked});
			}}}, field('pf-host', t('pf_host'), host), field('pf-port', t('pf_port'), port),
				field('pf-user', t('pf_user'), user), field('pf-password', t('password'), pass),
				h('div', {class: 'field check'}, keep, h('label', {for: 'pf-keep', text: t('pf_keep')})),
				h('div', {class: 'actions'}, h('button', {type: 'submit', text: t('pf_add')}))) : null].filter(Boolean));
	};
	const act = async body => {
		ui.busy(true);
		try { draw(await call('POST', '/api/popfetch', body)); }
		catch (e) { ui.flash(ui.errText(e), 'error'); }
		finally { ui.busy(false); }
	};
	const run = async () => {
		ui.busy(true);
		try {
			await call('POST', '/api/popfetch', {op: 'run'});
			let r = await call('GET', '/api/popfetch');
			draw(r);
			for (let i = 0; i < 120 && r.running; i++) {
				await new Promise(res => setTimeout(res, 1000));
				r = await call('GET', '/api/popfetch');
			}
			draw(r);
			ui.flash(t('pf_done'));
		} catch (e) { ui.flash(ui.errText(e), 'error'); }
		finally { ui.busy(false); }
	};
	draw(await call('GET', '/api/popfetch'));
	return sec;
}
