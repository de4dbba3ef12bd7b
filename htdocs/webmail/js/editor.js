// The HTML editor of the compose form (docs/webmail.md "Compose"): our own
// code on contenteditable and a small toolbar, no third-party script.
// What it holds is never trusted: HTML put into it (a quoted message, a
// draft) is first parsed inertly (DOMParser) and copied element by
// element through the allowlist below, and what it sends goes through
// lib/htmlsan on the server again.  Pasted and dropped images are
// uploaded (POST /api/upload) and shown from /api/upload/view; the send
// names them as cid: URLs and the server makes them parts of the message.
import {upload} from './api.js';
import {h} from './dom.js';
import {t} from './i18n.js';

export const CID_DOMAIN = 'inline.youju';
const VIEW = '/api/upload/view?id=';
const IMAGE_TYPES = ['image/png', 'image/jpeg', 'image/gif', 'image/webp'];

// elements kept (others are replaced by their children) and, per element,
// the attributes copied
const KEEP = new Set(['B', 'STRONG', 'I', 'EM', 'U', 'S', 'STRIKE', 'SUB', 'SUP', 'P', 'DIV', 'SPAN',
	'BR', 'HR', 'UL', 'OL', 'LI', 'BLOCKQUOTE', 'PRE', 'CODE', 'A', 'IMG', 'H1', 'H2', 'H3', 'H4',
	'TABLE', 'THEAD', 'TBODY', 'TR', 'TD', 'TH', 'FONT', 'CENTER']);
const DROP = new Set(['SCRIPT', 'STYLE', 'TEMPLATE', 'IFRAME', 'OBJECT', 'EMBED', 'svg', 'math',
	'FORM', 'INPUT', 'BUTTON', 'SELECT', 'TEXTAREA', 'HEAD', 'TITLE', 'META', 'LINK']);
const STYLES = ['color', 'background-color', 'font-size', 'font-weight', 'font-style',
	'text-decoration', 'text-align', 'font-family'];

function safeHref(v) { return /^(https?:|mailto:)/i.test(v.trim()) ? v.trim() : null; }
function safeSrc(v) {
	v = v.trim();
	if (v.startsWith(VIEW) && /^[0-9a-f]{32}$/.test(v.slice(VIEW.length))) return v;
	if (/^data:image\/(png|jpeg|gif|webp);base64,[A-Za-z0-9+/=\s]*$/i.test(v)) return v;
	return null;
}

// node (of an inert document) copied into the live document
function copy(node) {
	if (node.nodeType === Node.TEXT_NODE) return document.createTextNode(node.nodeValue);
	if (node.nodeType !== Node.ELEMENT_NODE) return null;
	if (DROP.has(node.tagName) || DROP.has(node.localName)) return null;
	const kids = [...node.childNodes].map(copy).filter(Boolean);
	if (!KEEP.has(node.tagName)) {
		const f = document.createDocumentFragment();
		f.append(...kids);
		return f;
	}
	const e = document.createElement(node.tagName.toLowerCase());
	if (node.tagName === 'A') {
		const href = safeHref(node.getAttribute('href') || '');
		if (href) e.setAttribute('href', href);
	} else if (node.tagName === 'IMG') {
		const src = safeSrc(node.getAttribute('src') || '');
		if (!src) return null;
		e.setAttribute('src', src);
		if (node.getAttribute('alt')) e.setAttribute('alt', node.getAttribute('alt'));
	} else if (node.tagName === 'BLOCKQUOTE' && node.getAttribute('type') === 'cite') {
		e.setAttribute('type', 'cite');
	} else if (node.tagName === 'FONT') {
		if (node.getAttribute('color')) e.style.color = node.getAttribute('color');
	}
	for (const p of STYLES) {
		const v = node.style && node.style.getPropertyValue(p);
		if (v && !/url\s*\(|expression/i.test(v)) e.style.setProperty(p, v);
	}
	e.append(...kids);
	return e;
}

// HTML (from the server) as nodes of this document, through the allowlist
export function importHtml(html) {
	const doc = new DOMParser().parseFromString(html, 'text/html');
	const f = document.createDocumentFragment();
	for (const n of [...doc.body.childNodes]) {
		const c = copy(n);
		if (c) f.append(c);
	}
	return f;
}

// plain text as editor content: one <div> a line
export function textNodes(text) {
	const f = document.createDocumentFragment();
	for (const line of text.split('\n')) {
		const d = document.createElement('div');
		if (line) d.textContent = line; else d.append(document.createElement('br'));
		f.append(d);
	}
	return f;
}

// A small modal asking for a link's address (Esc closes it: <dialog>)
function askLink(done, closed) {
	const url = h('input', {type: 'url', name: 'url', id: 'link-url', placeholder: 'https://', required: true});
	const dlg = h('dialog', {class: 'linkdlg', 'aria-labelledby': 'link-title'},
		h('form', {method: 'dialog', on: {submit: ev => {
			ev.preventDefault();
			const v = url.value.trim();
			dlg.close();
			if (safeHref(v) || /^[^\s:]+@[^\s:]+$/.test(v)) done(safeHref(v) || 'mailto:' + v);
		}}},
		h('h2', {id: 'link-title', text: t('ed_link')}),
		h('label', {for: 'link-url', text: t('ed_link_url')}), url,
		h('div', {class: 'actions'},
			h('button', {type: 'submit', class: 'primary', name: 'link_ok', text: t('ed_link_ok')}),
			h('button', {type: 'button', name: 'link_cancel', text: t('cancel'), on: {click: () => dlg.close()}}))));
	dlg.addEventListener('close', () => { dlg.remove(); closed(); });
	document.body.append(dlg);
	dlg.showModal();
	url.focus();
}

// The editor: {el (toolbar and area), area, serialize(), isEmpty()}.
// onFiles(files) takes dropped files that are not images (attachments);
// onError(e) shows a failed upload; busy(on) while images upload.
// id and label name the area (compose's by default); images false
// refuses pasted and dropped files (the signature in Settings: an upload
// lives only until a message is sent).
export function htmlEditor({onFiles, onError, busy, id, label, images}) {
	const area = h('div', {class: 'editor', id: id || 'c-html', contenteditable: 'true', role: 'textbox',
		'aria-multiline': 'true', 'aria-label': label || t('text'), spellcheck: 'true'});
	// the caret or selection in the editor, kept while a toolbar control,
	// a dialog or an upload has the focus
	let saved = null;
	const keep = () => {
		const s = getSelection();
		if (s.rangeCount && area.contains(s.anchorNode)) saved = s.getRangeAt(0).cloneRange();
	};
	document.addEventListener('selectionchange', () => { if (document.activeElement === area) keep(); });
	const restore = () => {
		area.focus();
		if (saved) { const s = getSelection(); s.removeAllRanges(); s.addRange(saved); }
	};
	const cmd = (c, v) => {
		restore();
		document.execCommand('styleWithCSS', false, c === 'foreColor' || c === 'fontSize');
		document.execCommand(c, false, v);
		keep();
	};
	const btn = (name, label, fn, title) => h('button', {type: 'button', name: 'ed_' + name, class: 'ed-' + name,
		title: title || label, 'aria-label': title || label, text: label,
		on: {mousedown: ev => ev.preventDefault(), click: fn}});
	// font sizes as execCommand's 1..7 (with CSS: small .. xx-large)
	const size = h('select', {name: 'ed_size', 'aria-label': t('ed_size'), on: {change: () => {
		if (size.value) cmd('fontSize', size.value);
		size.value = '';
	}}}, h('option', {value: '', text: t('ed_size')}),
	[['2', 'ed_small'], ['3', 'ed_normal'], ['5', 'ed_large'], ['6', 'ed_huge']].map(([v, k]) => h('option', {value: v, text: t(k)})));
	const color = h('input', {type: 'color', name: 'ed_color', value: '#c00000', title: t('ed_color'),
		'aria-label': t('ed_color'), on: {input: () => cmd('foreColor', color.value)}});
	const bar = h('div', {class: 'edbar', role: 'toolbar', 'aria-label': t('ed_toolbar')},
		btn('bold', 'B', () => cmd('bold'), t('ed_bold')),
		btn('italic', 'I', () => cmd('italic'), t('ed_italic')),
		btn('underline', 'U', () => cmd('underline'), t('ed_underline')),
		btn('ul', '•', () => cmd('insertUnorderedList'), t('ed_ul')),
		btn('ol', '1.', () => cmd('insertOrderedList'), t('ed_ol')),
		btn('link', t('ed_link'), () => {
			// the dialog takes the focus; the caret comes back when it closes
			const at = saved;
			askLink(href => { saved = at; cmd('createLink', href); }, () => { saved = at; restore(); });
		}, t('ed_link')),
		btn('quote', '❝', () => cmd('formatBlock', 'blockquote'), t('ed_quote')),
		size, color,
		btn('clear', '⌫', () => { cmd('removeFormat'); cmd('unlink'); }, t('ed_clear')));
	area.addEventListener('keyup', keep);
	area.addEventListener('mouseup', keep);
	area.addEventListener('input', keep);

	// images: uploaded, then shown from the upload
	const addImage = async (file, at) => {
		const fd = new FormData();
		fd.append('file', file, file.name || 'image.png');
		const u = await upload(fd);
		const img = h('img', {src: VIEW + u.id, alt: file.name || 'image'});
		if (at && area.contains(at.startContainer)) saved = at;
		restore();
		const s = getSelection();
		if (s.rangeCount && area.contains(s.anchorNode)) {
			const r = s.getRangeAt(0);
			r.deleteContents();
			r.insertNode(img);
			r.setStartAfter(img);
			r.collapse(true);
			s.removeAllRanges();
			s.addRange(r);
		} else area.append(img);
		keep();
		area.dispatchEvent(new Event('input', {bubbles: true}));
	};
	const take = async (files) => {
		if (images === false) return;
		const imgs = files.filter(f => IMAGE_TYPES.includes(f.type));
		const rest = files.filter(f => !IMAGE_TYPES.includes(f.type));
		if (rest.length && onFiles) onFiles(rest);
		if (!imgs.length) return;
		busy(true);
		// each image goes where the caret was when it came
		try { for (const f of imgs) await addImage(f, saved && saved.cloneRange()); }
		catch (e) { onError(e); }
		finally { busy(false); }
	};
	area.addEventListener('paste', ev => {
		const files = [...(ev.clipboardData ? ev.clipboardData.files : [])];
		if (files.length) { ev.preventDefault(); take(files); return; }
		// pasted markup goes through the same allowlist
		const html = ev.clipboardData && ev.clipboardData.getData('text/html');
		if (html) {
			ev.preventDefault();
			keep();
			restore();
			const s = getSelection();
			if (s.rangeCount) {
				const r = s.getRangeAt(0);
				r.deleteContents();
				const f = importHtml(html);
				const last = f.lastChild;
				r.insertNode(f);
				if (last) { r.setStartAfter(last); r.collapse(true); s.removeAllRanges(); s.addRange(r); }
			}
			area.dispatchEvent(new Event('input', {bubbles: true}));
		}
	});
	area.addEventListener('dragover', ev => { if (ev.dataTransfer.types.includes('Files')) ev.preventDefault(); });
	area.addEventListener('drop', ev => {
		const files = [...ev.dataTransfer.files];
		if (!files.length) return;
		ev.preventDefault();
		ev.stopPropagation(); // not attached by the form as well
		if (document.caretRangeFromPoint) {
			const r = document.caretRangeFromPoint(ev.clientX, ev.clientY);
			if (r && area.contains(r.startContainer)) saved = r;
		}
		take(files);
	});

	// the markup to send: uploaded images as cid: URLs, named in "inline"
	const serialize = () => {
		// a copy in an inert document: its cid: images are not loaded
		const c = document.implementation.createHTMLDocument('').importNode(area, true);
		const inline = [];
		for (const img of c.querySelectorAll('img')) {
			const src = img.getAttribute('src') || '';
			if (src.startsWith(VIEW)) {
				const id = src.slice(VIEW.length);
				if (!inline.includes(id)) inline.push(id);
				img.setAttribute('src', 'cid:' + id + '@' + CID_DOMAIN);
			}
		}
		return {html: c.innerHTML, inline};
	};
	return {el: h('div', {class: 'edwrap'}, bar, area), area, serialize,
		text: () => area.innerText.replace(/\n$/, ''),
		set: (frag) => area.replaceChildren(frag)};
}
