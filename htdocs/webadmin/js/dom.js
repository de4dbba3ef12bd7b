// Element building without innerHTML: every value reaches the page through
// textContent or an attribute setter, so data from the API is never parsed
// as markup.

// h('tag.class#id', {attr: value, onclick: fn}, child, ...)
// children: strings (text nodes), nodes, arrays, null/false (skipped).
export function h(spec, attrs, ...children) {
	const m = /^([a-z0-9]+)((?:[.#][\w-]+)*)$/.exec(spec);
	if (!m) throw new Error('bad element spec ' + spec);
	const el = document.createElement(m[1]);
	for (const part of m[2].match(/[.#][\w-]+/g) || []) {
		if (part[0] === '.') el.classList.add(part.slice(1));
		else el.id = part.slice(1);
	}
	if (attrs) {
		for (const [k, v] of Object.entries(attrs)) {
			if (v === undefined || v === null || v === false) continue;
			if (k.startsWith('on') && typeof v === 'function') {
				el.addEventListener(k.slice(2), v);
			} else if (k === 'class') {
				for (const c of String(v).split(/\s+/)) if (c) el.classList.add(c);
			} else if (k === 'value') {
				el.value = v;
			} else if (k === 'checked') {
				el.checked = !!v;
			} else if (v === true) {
				el.setAttribute(k, '');
			} else {
				el.setAttribute(k, String(v));
			}
		}
	}
	append(el, children);
	return el;
}

export function append(el, children) {
	for (const c of children) {
		if (c === null || c === undefined || c === false) continue;
		if (Array.isArray(c)) append(el, c);
		else if (c instanceof Node) el.appendChild(c);
		else el.appendChild(document.createTextNode(String(c)));
	}
	return el;
}

export function clear(el) {
	while (el.firstChild) el.removeChild(el.firstChild);
	return el;
}

let uniq = 0;
export function uid(prefix) {
	uniq += 1;
	return (prefix || 'f') + '-' + uniq;
}
