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

// The frame's height.  The message's document has an opaque origin and
// no script (above), so neither it nor this app can read how tall it is
// (and allow-same-origin, which would let the app read it, is what the
// sandbox exists to refuse: docs/security.md "Mail HTML").  So the app
// sizes the frame from what it knows: the height the message's text
// takes when laid out at the frame's width (the text of GET
// /api/message, measured through textContent in a hidden box, never as
// markup) plus a margin per block of the sanitized HTML, for markup that
// holds no images, tables, style sheets or sizes; and never more than
// the window leaves between the frame's top and the attachments below
// it, so that those stay above the fold (a longer message scrolls inside
// its frame; `resize: vertical` lets the reader make it taller).
// (an image without src is a blocked one: its alt text is a word)
const COMPLEX = /<(table|style|video|pre)\b|<img\b[^>]*\ssrc=|font-size|line-height|height\s*:|padding/i;
const BLOCK = /<(p|h[1-6]|ul|ol|blockquote|dl|hr)\b/gi;

// The height the message's text needs at the frame's width, or 0 when
// the markup is too rich to tell from its text.
export function textHeight(frame, html, text) {
	if (!html || COMPLEX.test(html) || text.length > 20000) return 0;
	const w = frame.clientWidth;
	if (w < 50) return 0;
	const box = document.createElement('div');
	// the frame's own baseline (webmail/msghtml.c FRAME_HEAD)
	box.style.cssText = 'position:absolute;visibility:hidden;left:-10000px;top:0;' +
		'font:16px sans-serif;white-space:pre-wrap;overflow-wrap:anywhere;' +
		'box-sizing:border-box;padding:0;width:' + (w - 16) + 'px';
	box.setAttribute('aria-hidden', 'true');
	box.textContent = text.replace(/\n+$/, '');
	document.body.append(box);
	const hgt = box.getBoundingClientRect().height;
	box.remove();
	const blocks = (html.match(BLOCK) || []).length;
	// body margins (2 × .5rem), one em per block's margins, a line spare
	return Math.ceil(hgt + 16 + 16 * blocks + 24);
}

// Sizes frame (in the page) for message text/html with the element after
// it (the attachments, or null) kept in the window; again on resizes
// while the frame is shown.
export function fitFrame(frame, html, text, after) {
	const fit = () => {
		if (!frame.isConnected) { window.removeEventListener('resize', fit); return; }
		const top = frame.getBoundingClientRect().top + window.scrollY;
		const below = after && after.isConnected ? after.getBoundingClientRect().height + 24 : 24;
		// a floor, so a small window still shows a useful frame
		const floor = Math.min(Math.round(window.innerHeight * 0.3), 240);
		const room = Math.max(floor, window.innerHeight - top - below);
		const need = textHeight(frame, html, text || '');
		frame.style.height = (need > 0 ? Math.min(Math.max(need, 96), room) : room) + 'px';
	};
	window.addEventListener('resize', fit);
	requestAnimationFrame(fit);
	frame.addEventListener('load', fit);
}
