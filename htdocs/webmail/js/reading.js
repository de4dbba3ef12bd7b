// Reading options of the message view (docs/webmail.md "Reading"):
// remote images loaded once or always for the sender (the list is kept
// in the preferences file, POST /api/remote_images), and "Save to
// NetDisk" beside an attachment (POST /api/netdisk op "attachment").
// Text from mail (the sender's address, file names) reaches the page
// only through textContent.
import {call} from './api.js';
import {t} from './i18n.js';

// The controls of the remote-image bar for message m: a note and "Show
// remote images" (loadOnce), "Always for <sender>", or, when the sender is
// on the list already, a note and "Stop showing them".
export function remoteControls(ui, m, loadOnce, reload) {
	const {h} = ui;
	if (m.remote_always) return [
		h('span', {class: 'note', text: ' ' + t('remote_always_on', {sender: m.sender}) + ' '}),
		h('button', {type: 'button', name: 'remote_never', text: t('remote_always_off'), on: {click: async () => {
			try {
				await call('POST', '/api/remote_images', {sender: m.sender, allow: false});
				reload();
			} catch (e) { ui.flash(ui.errText(e), 'error'); }
		}}})];
	if (!(m.remote_blocked > 0)) return [];
	const kids = [
		h('span', {class: 'note', text: ' ' + t('remote_blocked', {n: m.remote_blocked}) + ' '}),
		h('button', {type: 'button', name: 'remote', text: t('show_remote'), on: {click: loadOnce}})];
	if (m.sender) kids.push(' ', h('button', {type: 'button', name: 'remote_always',
		text: t('remote_always', {sender: m.sender}), on: {click: async () => {
			try {
				await call('POST', '/api/remote_images', {sender: m.sender, allow: true});
				reload();
			} catch (e) { ui.flash(ui.errText(e), 'error'); }
		}}}));
	return kids;
}

// "Save to NetDisk" for attachment a of message uid in folder: stored
// at the top of NetDisk under its own name (a taken name is refused).
export function saveToNetdisk(ui, folder, uid, a) {
	const {h} = ui;
	const b = h('button', {type: 'button', class: 'link', name: 'netdisk_save',
		'aria-label': t('netdisk_save') + ' ' + (a.name || ''), text: t('netdisk_save'), on: {click: async () => {
			b.disabled = true;
			try {
				await call('POST', '/api/netdisk', {op: 'attachment', path: '', folder, uid: Number(uid), part: a.part});
				ui.flash(t('netdisk_saved', {name: a.name || ''}));
			} catch (e) { ui.flash(ui.errText(e), 'error'); b.disabled = false; }
		}}});
	return b;
}

// The charsets "try local charset" offers (prefs.c checks the same list).
export const LOCAL_CHARSETS = ['GB18030', 'GBK', 'GB2312', 'Big5', 'Big5-HKSCS', 'ISO-2022-JP', 'Shift_JIS', 'EUC-JP', 'EUC-KR',
	'ISO-8859-1', 'windows-1252', 'windows-1251', 'KOI8-R'];

// Settings: the senders whose remote images are always shown, each with
// "Remove" (GET/POST /api/remote_images).  Empty: a note.
export async function remoteSendersSection(ui) {
	const {h} = ui;
	const sec = h('section', {class: 'remote-senders', id: 'remote-senders'});
	const draw = senders => sec.replaceChildren(h('h2', {text: t('remote_senders')}),
		senders.length ? h('ul', {class: 'senders'}, senders.map(s => h('li', null,
			h('span', {text: s + ' '}),
			h('button', {type: 'button', class: 'link', name: 'remote_remove', 'aria-label': t('remove') + ' ' + s,
				text: t('remove'), on: {click: async () => {
					try { draw((await call('POST', '/api/remote_images', {sender: s, allow: false})).senders); }
					catch (e) { ui.flash(ui.errText(e), 'error'); }
				}}})))) : h('p', {class: 'note', text: t('remote_senders_none')}));
	try { draw((await call('GET', '/api/remote_images')).senders); }
	catch (e) { draw([]); }
	return sec;
}
