// UI strings: one JSON file per language under i18n/.  t('key', {n: 1})
// replaces {n}; a missing key shows the key itself (and is easy to spot).

export const LANGS = [['en_US', 'English'], ['zh_CN', '简体中文']];
const STORE = 'youju.webadmin.lang';
let lang = 'en_US';
let strings = {};

export function current() { return lang; }

export function preferred() {
	const saved = localStorage.getItem(STORE);
	if (saved && LANGS.some(l => l[0] === saved)) return saved;
	const nav = (navigator.language || '').toLowerCase();
	return nav.startsWith('zh') ? 'zh_CN' : 'en_US';
}

export async function load(name) {
	const r = await fetch('i18n/' + name + '.json', {credentials: 'same-origin'});
	if (!r.ok) throw new Error('cannot load language ' + name);
	strings = await r.json();
	lang = name;
	localStorage.setItem(STORE, name);
	document.documentElement.lang = name.replace('_', '-');
}

export function t(key, vars) {
	let s = Object.prototype.hasOwnProperty.call(strings, key) ? strings[key] : key;
	if (vars) {
		s = s.replace(/\{(\w+)\}/g, (m, k) =>
			Object.prototype.hasOwnProperty.call(vars, k) ? String(vars[k]) : m);
	}
	return s;
}

export function has(key) {
	return Object.prototype.hasOwnProperty.call(strings, key);
}
