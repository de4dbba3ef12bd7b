// The message's HTML in its own frame (docs/security.md "Mail HTML").
// The frame loads GET /api/message/html, which the server sanitizes
// (lib/htmlsan, in helper processes) and serves under its own CSP:
// sandbox, no script, images only data: unless the reader allowed remote
// images, inline styles for the message's own scoped CSS, framed only by
// this app.  The iframe's sandbox repeats it: no allow-scripts and no
// allow-same-origin (the document gets an opaque origin, so nothing in it
// can reach the app, its cookies or the API); popups only, so that links
// (target=_blank, rel=noopener) open in a new tab outside the sandbox.
// Nothing from the message passes through this script: it sets a URL.

export const FRAME_SANDBOX = 'allow-popups allow-popups-to-escape-sandbox';

// The frame's URL for a message (folder name, UID, remote images shown,
// the charset menu's choice).
export function frameUrl(folder, uid, remote, charset) {
	const q = new URLSearchParams({folder, uid: String(uid)});
	if (remote) q.set('remote', '1');
	if (charset) q.set('charset', charset);
	return '/api/message/html?' + q.toString();
}

// A new iframe showing message uid of folder.
export function messageFrame(folder, uid, remote, title, charset) {
	const f = document.createElement('iframe');
	f.className = 'html';
	f.title = title;
	f.setAttribute('sandbox', FRAME_SANDBOX);
	f.setAttribute('referrerpolicy', 'no-referrer');
	f.setAttribute('src', frameUrl(folder, uid, remote, charset));
	return f;
}
