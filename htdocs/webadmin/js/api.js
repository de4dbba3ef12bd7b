// The JSON API (DESIGN §10).  Errors come back as
// {"error": {"code", "message", "field"}} and are thrown as ApiError.
// Every state change carries the session's CSRF token.

const SESSION = 'youju.webadmin.session';

export class ApiError extends Error {
	constructor(status, body) {
		const e = (body && body.error) || {};
		super(e.message || ('HTTP ' + status));
		this.status = status;
		this.code = e.code || '';
		this.field = e.field || '';
		this.body = body;    // the whole answer (an import's report)
	}
}

let onUnauthorized = () => {};
export function setUnauthorizedHandler(fn) { onUnauthorized = fn; }

export function session() {
	try {
		return JSON.parse(sessionStorage.getItem(SESSION) || 'null');
	} catch (e) {
		return null;
	}
}

export function saveSession(s) {
	if (s) sessionStorage.setItem(SESSION, JSON.stringify(s));
	else sessionStorage.removeItem(SESSION);
}

export function qs(params) {
	const u = new URLSearchParams();
	for (const [k, v] of Object.entries(params || {})) {
		if (v !== undefined && v !== null && v !== '') u.set(k, String(v));
	}
	const s = u.toString();
	return s ? '?' + s : '';
}

// One path segment, encoded (domains, local parts and addresses may hold
// characters that are special in a URL).
export function seg(s) { return encodeURIComponent(s); }

// call(method, path[, body[, contentType]]): an object body goes as JSON;
// with contentType the body (a string) goes as it is.
export async function call(method, path, body, contentType) {
	const headers = {'Accept': 'application/json'};
	const s = session();
	if (method !== 'GET' && s && s.csrf) headers['X-CSRF-Token'] = s.csrf;
	const init = {method, headers, credentials: 'same-origin', cache: 'no-store'};
	if (body !== undefined) {
		headers['Content-Type'] = contentType || 'application/json';
		init.body = contentType ? body : JSON.stringify(body);
	}
	let r;
	try {
		r = await fetch(path, init);
	} catch (e) {
		throw new ApiError(0, {error: {code: 'network', message: ''}});
	}
	let data = null;
	const text = await r.text();
	if (text) {
		try { data = JSON.parse(text); } catch (e) { data = null; }
	}
	if (!r.ok) {
		const err = new ApiError(r.status, data);
		if (r.status === 401 && path !== '/api/session') onUnauthorized(err);
		throw err;
	}
	return data;
}

export const get = (p) => call('GET', p);
export const post = (p, b) => call('POST', p, b === undefined ? {} : b);
export const put = (p, b) => call('PUT', p, b);
export const del = (p) => call('DELETE', p);

// A list answer: {"total", "page", "page_size", "items": [...]}.
export function items(resp) {
	if (resp && Array.isArray(resp.items)) return resp.items;
	return Array.isArray(resp) ? resp : [];
}

export function total(resp, count) {
	return resp && typeof resp.total === 'number' ? resp.total : count;
}

// Every domain's name (GET /api/domains page by page, at most 200 pages),
// for the pages that pick domains.
export async function allDomains() {
	const out = [];
	for (let page = 1; page <= 200; page++) {
		const r = await get('/api/domains' + qs({page}));
		const rows = items(r);
		for (const d of rows) out.push(d.domain);
		if (!rows.length || out.length >= total(r, out.length)) break;
	}
	return out;
}
