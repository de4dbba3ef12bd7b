// Forms from a list of field specs, with the API's field errors shown next
// to the field they name.
//
// spec: {name, label, type, help, required, readonly, min, max, pattern,
//        options: [[value, label]], suffix, autocomplete, def, skip (never
//        sent), omitEmpty (not sent when empty), disabled}
// types: text, email, number, mb (bytes in the API, MB on screen),
//        checkbox, service (a disable* column shown as "enabled"), date,
//        textarea, lines (one item per line), password, select, static,
//        fieldset ({legend, fields}).

import {h, clear, uid} from './dom.js';
import {t, has, current} from './i18n.js';

const MB = 1048576;

export function bytesToMB(v) {
	const n = Number(String(v === undefined || v === null ? '' : v).replace(/S$/i, ''));
	if (!isFinite(n) || n <= 0) return 0;
	const mb = n / MB;
	return Number.isInteger(mb) ? mb : Math.round(mb * 100) / 100;
}

export function fmtMB(v) {
	return String(bytesToMB(v));
}

// '0000-00-00' (ExtMail's "never"), '' and null all mean no date.
export function dateOnly(v) {
	if (!v || /^0000-00-00/.test(v)) return '';
	return String(v).slice(0, 10);
}

export const NEVER = '0000-00-00';

export function flag(v) {
	return v === true || v === 1 || v === '1';
}

export function buildForm(specs, data, opts) {
	opts = opts || {};
	const fields = new Map();    // name -> {spec, input, err, wrap}
	const form = h('form.form', {novalidate: true});
	const alert = h('p.form-alert', {role: 'alert', hidden: true});
	form.appendChild(alert);

	function field(spec) {
		if (spec.type === 'fieldset') {
			const fs = h('fieldset.group', null, h('legend', null, spec.legend));
			if (spec.help) fs.appendChild(h('p.help', null, spec.help));
			const box = h('div.checks');
			for (const s of spec.fields) box.appendChild(field(s));
			fs.appendChild(box);
			return fs;
		}
		const id = uid('in-' + spec.name);
		const errId = id + '-err';
		const helpId = id + '-help';
		const v = data ? data[spec.name] : undefined;
		const describedBy = [spec.help ? helpId : '', errId].filter(Boolean).join(' ');
		const common = {
			id, name: spec.name, 'aria-describedby': describedBy,
			required: !!spec.required, readonly: !!spec.readonly,
			autocomplete: spec.autocomplete,
		};
		let input;
		let wrapClass = 'field';
		switch (spec.type) {
		case 'checkbox':
		case 'service':
			wrapClass = 'field check';
			input = h('input', Object.assign(common, {
				type: 'checkbox',
				checked: spec.type === 'service' ? !flag(v === undefined ? spec.def : v)
					: flag(v === undefined ? spec.def : v),
				disabled: !!spec.disabled,
			}));
			break;
		case 'textarea':
		case 'lines': {
			let text = v === undefined || v === null ? (spec.def || '') : v;
			if (spec.type === 'lines') {
				text = (Array.isArray(text) ? text : String(text).split(','))
					.map(s => s.trim()).filter(Boolean).join('\n');
			}
			input = h('textarea', Object.assign(common, {rows: spec.rows || 4, value: text}));
			break;
		}
		case 'select':
			input = h('select', common, spec.options.map(([val, label]) =>
				h('option', {value: val, selected: String(v) === String(val)}, label)));
			break;
		case 'mb':
			input = h('input', Object.assign(common, {
				type: 'number', min: 0, step: 'any', inputmode: 'decimal',
				value: v === undefined || v === null ? (spec.def === undefined ? '' : bytesToMB(spec.def)) : bytesToMB(v),
			}));
			break;
		case 'number':
			input = h('input', Object.assign(common, {
				type: 'number', min: spec.min === undefined ? 0 : spec.min, step: 1,
				inputmode: 'numeric',
				value: v === undefined || v === null ? (spec.def === undefined ? '' : spec.def) : v,
			}));
			break;
		case 'date':
			input = h('input', Object.assign(common, {
				type: 'date', value: dateOnly(v === undefined ? spec.def : v),
			}));
			break;
		case 'static':
			input = h('output', {id, 'aria-describedby': describedBy},
				v === undefined || v === null ? '' : String(v));
			break;
		default:
			input = h('input', Object.assign(common, {
				type: spec.type || 'text', pattern: spec.pattern,
				maxlength: spec.maxlength || 255, spellcheck: 'false',
				autocapitalize: 'off',
				value: v === undefined || v === null ? (spec.def || '') : v,
			}));
		}
		const err = h('p.field-error', {id: errId, hidden: true});
		const label = h('label', {for: id}, spec.label);
		let control = input;
		if (spec.suffix) control = h('span.with-suffix', null, input, h('span.suffix', null, spec.suffix));
		if (spec.extra) control = h('span.with-extra', null, control, spec.extra);
		const wrap = (spec.type === 'checkbox' || spec.type === 'service')
			? h('div', {class: wrapClass}, input, label, err)
			: h('div', {class: wrapClass}, label, control,
				spec.help ? h('p.help', {id: helpId}, spec.help) : null, err);
		fields.set(spec.name, {spec, input, err, wrap});
		return wrap;
	}

	for (const s of specs) form.appendChild(field(s));

	const actions = h('div.actions');
	const submit = h('button.primary', {type: 'submit'}, opts.submitLabel || t('save'));
	actions.appendChild(submit);
	for (const extra of opts.actions || []) actions.appendChild(extra);
	form.appendChild(actions);

	function values() {
		const out = {};
		for (const [name, f] of fields) {
			const {spec, input} = f;
			if (spec.type === 'static' || spec.readonly || spec.skip) continue;
			// write-only fields (answers) and "use the server's default"
			if (spec.omitEmpty && input.value === '') continue;
			switch (spec.type) {
			case 'checkbox': out[name] = input.checked ? 1 : 0; break;
			case 'service': out[name] = input.checked ? 0 : 1; break;
			case 'number': out[name] = input.value === '' ? 0 : parseInt(input.value, 10); break;
			case 'mb': {
				const n = input.value === '' ? 0 : parseFloat(input.value);
				out[name] = isFinite(n) ? Math.round(n * MB) : input.value;
				break;
			}
			case 'date': out[name] = input.value || NEVER; break;
			case 'lines':
				out[name] = input.value.split(/[\n,]/).map(s => s.trim()).filter(Boolean);
				break;
			default: out[name] = input.value;
			}
		}
		return out;
	}

	function clearErrors() {
		alert.hidden = true;
		clear(alert);
		for (const f of fields.values()) {
			f.err.hidden = true;
			clear(f.err);
			f.wrap.classList.remove('invalid');
			if (f.input.removeAttribute) f.input.removeAttribute('aria-invalid');
		}
	}

	function fieldError(name, msg) {
		const f = fields.get(name);
		if (!f) return false;
		f.err.textContent = msg;
		f.err.hidden = false;
		f.wrap.classList.add('invalid');
		f.input.setAttribute('aria-invalid', 'true');
		f.input.focus();
		return true;
	}

	function showError(e) {
		clearErrors();
		const msg = errorText(e);
		if (e && e.field) {
			const alias = (opts.fieldAliases || {})[e.field];
			if (fieldError(e.field, msg) || (alias && fieldError(alias, msg))) return;
		}
		alert.textContent = msg;
		alert.hidden = false;
		alert.setAttribute('tabindex', '-1');
		alert.focus();
	}

	return {form, fields, values, clearErrors, fieldError, showError, submit,
		input: (n) => fields.get(n) && fields.get(n).input};
}

// A message for an ApiError.  en_US shows the server's own message (it
// names the field and the limit); other languages show the translation
// of the error's code (and field) where there is one.
export function errorText(e) {
	if (!e) return t('err.unknown');
	if (e.status === 0) return t('err.network');
	const m = e.message && !/^HTTP \d+$/.test(e.message) ? e.message : '';
	const keys = e.code ? ['err.code.' + e.code + '.' + (e.field || ''), 'err.code.' + e.code] : [];
	const key = keys.find(k => has(k));
	if (m && (current() === 'en_US' || !key)) return m;
	if (key) return t(key) + (e.code === 'invalid' && m ? ' (' + m + ')' : '');
	if (e.status === 403) return t('err.forbidden');
	if (e.status === 404) return t('err.notfound');
	if (e.status === 409) return t('err.conflict');
	return t('err.status', {status: e.status || '?'});
}

// Handles submit: prevents the page load, disables the button while the
// request runs, shows errors by field.
export function onSubmit(f, fn) {
	f.form.addEventListener('submit', async (ev) => {
		ev.preventDefault();
		f.clearErrors();
		f.submit.disabled = true;
		try {
			await fn(f.values());
		} catch (e) {
			f.showError(e);
		} finally {
			f.submit.disabled = false;
		}
	});
}
