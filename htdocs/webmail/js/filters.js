// Filters (#/filters): rules, auto-reply, forwarding and white/black
// lists, kept by the server as one generated Sieve script (GET/PUT
// /api/filters); a hand-written active script is shown as text instead
// (PUT /api/filters/raw), never replaced without asking.
import {call} from './api.js';
import {t} from './i18n.js';

const FIELDS = ['subject', 'from', 'to', 'cc', 'header', 'size', 'attachment'];
const OPS = ['contains', 'not_contains', 'is', 'not_is', 'matches'];
const ACTIONS = ['fileinto', 'mark_read', 'flag', 'redirect', 'redirect_copy', 'discard', 'reject', 'stop'];
const VALUED = new Set(['fileinto', 'redirect', 'redirect_copy', 'reject']);

const lines = s => s.split(/[\n,]/).map(x => x.trim()).filter(Boolean);

export async function showFilters(ui) {
	const {h} = ui;
	let st = await call('GET', '/api/filters');
	const save = async (form, replace) => {
		ui.busy(true);
		try {
			st = await call('PUT', '/api/filters', replace ? {form, replace: true} : {form});
			draw();
			ui.flash(t('filters_saved'));
			return true;
		} catch (e) {
			ui.flash(ui.errText(e) + (e.field ? ' (' + e.field + ')' : ''), 'error');
			return false;
		} finally { ui.busy(false); }
	};
	const field = (id, label, el) => h('div', {class: 'field'}, h('label', {for: id, text: label}), el);
	const check = (id, label, on) => {
		const c = h('input', {type: 'checkbox', id, name: id, checked: !!on});
		return [c, h('div', {class: 'field check'}, c, h('label', {for: id, text: label}))];
	};
	const sel = (name, v, opts, label) => h('select', {name, 'aria-label': label},
		opts.map(k => h('option', {value: k, selected: k === v, text: t('flt_' + k)})));

	// ---- a hand-written script: the text, and a way out -------------
	function rawPage() {
		const ta = h('textarea', {id: 'f-script', name: 'script', rows: 18, spellcheck: 'false', class: 'mono'});
		ta.value = st.script;
		return [
			h('p', {class: 'note', id: 'filters-raw-note', text: t('flt_raw_note', {name: st.name})}),
			h('form', {class: 'settings wide', id: 'raw-form', on: {submit: async ev => {
				ev.preventDefault();
				ui.busy(true);
				try {
					st = await call('PUT', '/api/filters/raw', {script: ta.value});
					draw();
					ui.flash(t('filters_saved'));
				} catch (e) { ui.flash(ui.errText(e), 'error'); }
				finally { ui.busy(false); }
			}}}, field('f-script', t('flt_script'), ta),
				h('div', {class: 'actions'},
					h('button', {type: 'submit', class: 'primary', text: t('flt_save_script')}),
					h('button', {type: 'button', name: 'use_form', text: t('flt_use_form'), on: {click: () => {
						if (confirm(t('flt_use_form_confirm', {name: st.name}))) save(st.form, true);
					}}})))];
	}

	// ---- one rule's editor --------------------------------------------
	function ruleEditor(rule, index) {
		const r = JSON.parse(JSON.stringify(rule || {name: '', match: 'all', enabled: true,
			conditions: [{field: 'subject', op: 'contains', value: ''}], actions: [{type: 'fileinto', value: ''}]}));
		const name = h('input', {type: 'text', id: 'r-name', name: 'rule_name', value: r.name, maxlength: 200, required: true});
		const match = h('select', {id: 'r-match', name: 'match'},
			['all', 'any'].map(k => h('option', {value: k, selected: r.match === k, text: t('flt_match_' + k)})));
		const enabled = check('r-enabled', t('flt_enabled'), r.enabled !== false);
		const conds = h('div', {class: 'rows', id: 'r-conditions'});
		const acts = h('div', {class: 'rows', id: 'r-actions'});
		const folderList = h('datalist', {id: 'r-folders'},
			ui.folders().map(f => h('option', {value: f.name})));
		const condRow = c => {
			const f = sel('cond_field', c.field, FIELDS, t('flt_field'));
			const hdr = h('input', {type: 'text', name: 'cond_header', 'aria-label': t('flt_header_name'),
				placeholder: t('flt_header_name'), value: c.header || '', maxlength: 100});
			const size = c.field === 'size';
			const op = sel('cond_op', c.op, size ? ['over', 'under'] : OPS, t('flt_op'));
			const val = h('input', {type: 'text', name: 'cond_value', 'aria-label': t('flt_value'),
				value: c.value || '', maxlength: 500, placeholder: size ? '100K' : ''});
			const row = h('div', {class: 'row cond'}, f, hdr, op, val,
				h('button', {type: 'button', name: 'cond_remove', 'aria-label': t('delete'), text: '×',
					on: {click: () => row.remove()}}));
			const sync = () => {
				hdr.hidden = f.value !== 'header';
				val.hidden = f.value === 'attachment';
				op.hidden = f.value === 'attachment';
			};
			f.addEventListener('change', () => {
				const isSize = f.value === 'size';
				if (isSize !== (op.options[0].value === 'over')) {
					op.replaceChildren(...(isSize ? ['over', 'under'] : OPS).map(k =>
						h('option', {value: k, text: t('flt_' + k)})));
				}
				sync();
			});
			sync();
			row.read = () => ({field: f.value, op: f.value === 'attachment' ? 'contains' : op.value,
				...(f.value === 'header' ? {header: hdr.value.trim()} : {}),
				value: f.value === 'attachment' ? '' : val.value.trim()});
			return row;
		};
		const actRow = a => {
			const ty = sel('act_type', a.type, ACTIONS, t('flt_action'));
			const val = h('input', {type: 'text', name: 'act_value', 'aria-label': t('flt_value'),
				value: a.value || '', maxlength: 500, list: 'r-folders'});
			const row = h('div', {class: 'row act'}, ty, val,
				h('button', {type: 'button', name: 'act_remove', 'aria-label': t('delete'), text: '×',
					on: {click: () => row.remove()}}));
			const sync = () => {
				val.hidden = !VALUED.has(ty.value);
				val.placeholder = ty.value === 'fileinto' ? t('flt_folder') :
					ty.value === 'reject' ? t('flt_reject_text') : t('flt_address');
				if (ty.value === 'fileinto') val.setAttribute('list', 'r-folders');
				else val.removeAttribute('list');
			};
			ty.addEventListener('change', sync);
			sync();
			row.read = () => ({type: ty.value, ...(VALUED.has(ty.value) ? {value: val.value.trim()} : {})});
			return row;
		};
		conds.append(...r.conditions.map(condRow));
		acts.append(...r.actions.map(actRow));
		return h('form', {class: 'settings wide rule', id: 'rule-form', on: {submit: async ev => {
			ev.preventDefault();
			const nr = {name: name.value.trim(), match: match.value, enabled: enabled[0].checked,
				conditions: [...conds.children].map(x => x.read()),
				actions: [...acts.children].map(x => x.read())};
			const form = JSON.parse(JSON.stringify(st.form));
			if (index === null) form.rules.push(nr);
			else form.rules[index] = nr;
			await save(form);
		}}},
			h('h3', {text: index === null ? t('flt_new_rule') : t('flt_edit_rule')}),
			field('r-name', t('flt_rule_name'), name),
			field('r-match', t('flt_match'), match),
			h('fieldset', null, h('legend', {text: t('flt_conditions')}), conds,
				h('button', {type: 'button', name: 'cond_add', text: t('flt_add_condition'),
					on: {click: () => conds.append(condRow({field: 'subject', op: 'contains', value: ''}))}})),
			h('fieldset', null, h('legend', {text: t('flt_actions')}), acts, folderList,
				h('button', {type: 'button', name: 'act_add', text: t('flt_add_action'),
					on: {click: () => acts.append(actRow({type: 'fileinto', value: ''}))}})),
			enabled[1],
			h('div', {class: 'actions'},
				h('button', {type: 'submit', class: 'primary', text: t('save')}),
				h('button', {type: 'button', name: 'rule_cancel', text: t('cancel'), on: {click: () => draw()}})));
	}

	const summary = r => {
		const c = r.conditions.map(x => x.field === 'attachment' ? t('flt_attachment') :
			(x.field === 'header' ? x.header : t('flt_' + x.field)) + ' ' + t('flt_' + x.op) + ' "' + x.value + '"');
		const a = r.actions.map(x => t('flt_' + x.type) + (x.value ? ' "' + x.value + '"' : ''));
		return (c.length ? c.join(r.match === 'any' ? t('flt_or') : t('flt_and')) : t('flt_always')) + ' → ' + a.join(', ');
	};

	// ---- the form ------------------------------------------------------
	function formPage() {
		const f = st.form;
		const editor = h('div', {id: 'rule-editor'});
		const rows = f.rules.map((r, i) => h('tr', {'data-rule': i, class: r.enabled === false ? 'off' : null},
			h('td', {class: 'name', text: r.name || '–'}),
			h('td', {class: 'what', text: summary(r)}),
			h('td', null,
				h('button', {type: 'button', name: 'rule_edit', text: t('edit'), on: {click: () =>
					editor.replaceChildren(ruleEditor(r, i))}}),
				h('button', {type: 'button', name: 'rule_delete', text: t('delete'), on: {click: () => {
					if (!confirm(t('flt_delete_confirm', {name: r.name}))) return;
					const form = JSON.parse(JSON.stringify(f));
					form.rules.splice(i, 1);
					save(form);
				}}}))));
		const v = f.vacation, fw = f.forward;
		const vOn = check('v-enabled', t('flt_vacation_on'), v.enabled);
		const vSubject = h('input', {type: 'text', id: 'v-subject', name: 'v_subject', value: v.subject, maxlength: 200});
		const vBody = h('textarea', {id: 'v-body', name: 'v_body', rows: 5, maxlength: 8000});
		vBody.value = v.body;
		const vDays = h('input', {type: 'number', id: 'v-days', name: 'v_days', min: 1, max: 365, value: v.days});
		const vStart = h('input', {type: 'date', id: 'v-start', name: 'v_start', value: v.start});
		const vEnd = h('input', {type: 'date', id: 'v-end', name: 'v_end', value: v.end});
		const vAddr = h('input', {type: 'text', id: 'v-addresses', name: 'v_addresses', value: v.addresses.join(', ')});
		const fOn = check('fw-enabled', t('flt_forward_on'), fw.enabled);
		const fTo = h('input', {type: 'text', id: 'fw-to', name: 'fw_to', value: fw.to.join(', ')});
		const fKeep = check('fw-keep', t('flt_forward_keep'), fw.keep);
		const wl = h('textarea', {id: 'l-white', name: 'whitelist', rows: 4});
		wl.value = f.whitelist.join('\n');
		const bl = h('textarea', {id: 'l-black', name: 'blacklist', rows: 4});
		bl.value = f.blacklist.join('\n');
		const other = h('form', {class: 'settings', id: 'filters-form', on: {submit: ev => {
			ev.preventDefault();
			save({rules: f.rules,
				vacation: {enabled: vOn[0].checked, subject: vSubject.value, body: vBody.value.replace(/\r/g, ''),
					days: Number(vDays.value) || 1, start: vStart.value, end: vEnd.value, addresses: lines(vAddr.value)},
				forward: {enabled: fOn[0].checked, to: lines(fTo.value), keep: fKeep[0].checked},
				whitelist: lines(wl.value), blacklist: lines(bl.value)});
		}}},
			h('h2', {text: t('flt_vacation')}), vOn[1],
			field('v-subject', t('subject'), vSubject), field('v-body', t('flt_vacation_body'), vBody),
			field('v-days', t('flt_vacation_days'), vDays),
			h('div', {class: 'dates'}, field('v-start', t('flt_start'), vStart), field('v-end', t('flt_end'), vEnd)),
			field('v-addresses', t('flt_vacation_addresses'), vAddr),
			h('h2', {text: t('flt_forward')}), fOn[1], field('fw-to', t('flt_forward_to'), fTo), fKeep[1],
			h('h2', {text: t('flt_lists')}),
			field('l-white', t('flt_whitelist'), wl), h('p', {class: 'hint', text: t('flt_whitelist_hint')}),
			field('l-black', t('flt_blacklist'), bl), h('p', {class: 'hint', text: t('flt_blacklist_hint')}),
			h('div', {class: 'actions'}, h('button', {type: 'submit', class: 'primary', text: t('save')})));
		const script = h('pre', {class: 'mono script', id: 'f-generated', text: st.script});
		return [
			h('p', {class: 'note', id: 'filters-state', text: st.active ? t('flt_active') : t('flt_inactive')}),
			h('section', {class: 'rules', id: 'rules'},
				h('h2', {text: t('flt_rules')}),
				rows.length ? h('div', {class: 'table-wrap'}, h('table', {class: 'list'}, h('tbody', null, rows)))
					: h('p', {class: 'note', text: t('flt_no_rules')}),
				h('div', {class: 'actions'}, h('button', {type: 'button', name: 'rule_add', class: 'primary',
					text: t('flt_add_rule'), on: {click: () => editor.replaceChildren(ruleEditor(null, null))}})),
				editor),
			other,
			h('details', {class: 'script'}, h('summary', {text: t('flt_show_script')}), script,
				h('div', {class: 'actions'},
					h('button', {type: 'button', name: 'edit_raw', text: t('flt_edit_raw'), on: {click: () => {
						st = {...st, mode: 'raw', name: st.name};
						draw();
					}}}),
					st.active ? h('button', {type: 'button', name: 'filters_off', text: t('flt_off'), on: {click: async () => {
						ui.busy(true);
						try { st = await call('DELETE', '/api/filters'); draw(); ui.flash(t('flt_off_done')); }
						catch (e) { ui.flash(ui.errText(e), 'error'); }
						finally { ui.busy(false); }
					}}}) : null))];
	}

	function draw() {
		ui.frame(h('h1', {text: t('filters')}), ...(st.mode === 'raw' ? rawPage() : formPage()));
	}
	draw();
}
