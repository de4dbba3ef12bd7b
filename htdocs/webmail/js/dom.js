// Building the page (the CSP allows no innerHTML of ours): h(tag, attrs,
// ...kids) makes an element.  attrs: "on" {event: handler}, "text" (its
// textContent), "class", else attributes (true: present, null, undefined
// or false: left out).  Kids: nodes or strings (as text), arrays of them;
// null, undefined and false are skipped.
export function h(tag, attrs, ...kids) {
	const e = document.createElement(tag);
	for (const [k, v] of Object.entries(attrs || {})) {
		if (v === null || v === undefined || v === false) continue;
		if (k === 'on') for (const [ev, fn] of Object.entries(v)) e.addEventListener(ev, fn);
		else if (k === 'class') e.className = v;
		else if (k === 'text') e.textContent = v;
		else e.setAttribute(k, v === true ? '' : String(v));
	}
	e.append(...kids.flat().filter(k => k !== null && k !== undefined && k !== false));
	return e;
}
