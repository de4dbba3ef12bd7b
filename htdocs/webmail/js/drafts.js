// Drafts (POST /api/draft): the compose form saves itself every few
// seconds when it changed, replacing its previous draft in Drafts; the
// send names the draft so the server removes it.
import {call} from './api.js';
import {t} from './i18n.js';

const EVERY = 5000;

// form: the compose form (saving stops when it leaves the page);
// fields(): the message as POST /api/send takes it; status: an element
// for "Draft saved"; state.draft_uid: the draft to replace.
export function autosave(form, fields, status, state) {
	let last = JSON.stringify(fields());
	let busy = false, stopped = false, inflight = Promise.resolve();
	const save = async (force) => {
		if (busy || stopped || !document.body.contains(form)) return;
		const f = fields();
		const now = JSON.stringify(f);
		if (!force && now === last) return;
		busy = true;
		let done;
		inflight = new Promise(r => { done = r; });
		try {
			const r = await call('POST', '/api/draft', {...f, draft_uid: state.draft_uid || undefined});
			state.draft_uid = r.uid;
			last = now;
			status.textContent = t('draft_saved', {time: new Date().toLocaleTimeString()});
			status.dataset.uid = String(r.uid);
		} catch (e) {
			status.textContent = t('draft_not_saved');
		} finally { busy = false; done(); }
	};
	const timer = setInterval(() => {
		if (!document.body.contains(form)) { clearInterval(timer); return; }
		save(false);
	}, EVERY);
	// stop() waits for a save under way: the send then names the draft
	// that save made, and no save comes after the send
	return {save: () => save(true), stop: async () => {
		stopped = true;
		clearInterval(timer);
		await inflight;
	}};
}
