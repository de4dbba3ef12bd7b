// The conversation of a message (GET /api/thread): the thread by
// References/In-Reply-To (IMAP THREAD=REFERENCES's code on the server),
// with one's own replies from Sent, indented by depth.
//   #/thread/<folder>/<uid>
import {call} from './api.js';
import {t} from './i18n.js';

export async function showThread(ui, folder, uid) {
	const r = await call('GET', '/api/thread', undefined, {folder, uid});
	const {h} = ui;
	const rows = r.messages.map(m => h('li', {class: 'msg' + (m.flags.includes('\\Seen') ? '' : ' unread') +
			(m.folder === folder && String(m.uid) === String(uid) ? ' current' : ''),
		style: null, 'data-depth': Math.min(m.depth, 8), 'data-uid': m.uid, 'data-folder': m.folder},
		h('a', {href: '#/message/' + encodeURIComponent(m.folder) + '/' + m.uid, class: 'open'},
			h('span', {class: 'from', text: m.from || '-'}),
			h('span', {class: 'subject', text: m.subject || t('no_subject')}),
			h('span', {class: 'meta'},
				h('span', {class: 'infolder', text: ui.folderLabel(m.folder)}),
				h('time', {datetime: new Date(m.date * 1000).toISOString(), text: ui.fmtDate(m.date)})))));
	ui.frame(h('div', {class: 'toolbar'},
		h('a', {class: 'button', href: '#/message/' + encodeURIComponent(folder) + '/' + uid, text: t('back')})),
		h('h1', {text: t('conversation')}),
		h('p', {class: 'found', text: t('in_conversation', {n: r.messages.length})}),
		h('ul', {class: 'messages thread'}, rows));
	ui.setList(null, r.messages.map(m => [m.folder, m.uid]));
}
