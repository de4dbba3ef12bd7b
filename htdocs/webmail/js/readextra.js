// Reading a message, two extras (docs/webmail.md "Reading"): the read
// receipt prompt (POST /api/mdn; "Ignore" sets $MDNSent as the send does,
// so it is asked once per message, also after a reload or in another
// client that honours the keyword), and the thumbnails of image
// attachments (GET /api/attachment/view: PNG, JPEG, GIF and WebP only,
// never SVG) with the full image in a dialog (Esc closes it).
import {call} from './api.js';
import {h} from './dom.js';
import {t} from './i18n.js';

const VIEWABLE = ['image/png', 'image/jpeg', 'image/jpg', 'image/gif', 'image/webp'];
const NO_RECEIPT = ['Sent', 'Drafts', 'Trash', 'Junk'];

// The prompt for message m of folder, or null; onError(e) shows a failure.
export function mdnBar(m, folder, onError) {
	const to = (m.headers || {}).disposition_notification_to;
	if (!to || m.flags.includes('$MDNSent') || NO_RECEIPT.includes(folder)) return null;
	const bar = h('div', {class: 'mdnbar', role: 'region', 'aria-label': t('mdn_title')});
	const done = async (send) => {
		for (const b of bar.querySelectorAll('button')) b.disabled = true;
		try {
			if (send) await call('POST', '/api/mdn', {folder, uid: m.uid});
			else await call('POST', '/api/flags', {folder, uids: [m.uid], add: ['$MDNSent']});
			m.flags.push('$MDNSent');
			bar.replaceChildren(h('span', {class: 'note', text: send ? t('mdn_sent') : t('mdn_ignored')}));
		} catch (e) {
			for (const b of bar.querySelectorAll('button')) b.disabled = false;
			onError(e);
		}
	};
	bar.append(h('span', {text: t('mdn_asked', {to}) + ' '}),
		h('button', {type: 'button', name: 'mdn_send', class: 'primary', text: t('mdn_send'), on: {click: () => done(true)}}), ' ',
		h('button', {type: 'button', name: 'mdn_ignore', text: t('mdn_ignore'), on: {click: () => done(false)}}));
	return bar;
}

// The image with its name in a modal dialog; Esc or a click closes it.
function lightbox(src, name) {
	const dlg = h('dialog', {class: 'lightbox', 'aria-label': name},
		h('figure', null, h('img', {src, alt: name}), h('figcaption', {text: name})),
		h('button', {type: 'button', name: 'close', class: 'close', text: t('close'), on: {click: () => dlg.close()}}));
	dlg.addEventListener('click', ev => { if (ev.target === dlg || ev.target.tagName === 'IMG') dlg.close(); });
	dlg.addEventListener('close', () => dlg.remove());
	document.body.append(dlg);
	dlg.showModal();
}

// Thumbnails of the image attachments, or null when there are none.
export function thumbs(atts) {
	const imgs = atts.filter(a => VIEWABLE.includes(a.type) && a.url.startsWith('/api/attachment?'));
	if (!imgs.length) return null;
	return h('ul', {class: 'thumbs'}, imgs.map(a => {
		const src = a.url.replace('/api/attachment?', '/api/attachment/view?');
		return h('li', null, h('a', {href: src, class: 'thumb', title: a.name, on: {click: ev => {
			ev.preventDefault();
			lightbox(src, a.name);
		}}}, h('img', {src, alt: a.name, loading: 'lazy'})));
	}));
}
