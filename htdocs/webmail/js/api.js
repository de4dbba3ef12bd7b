// The JSON API (DESIGN §10): every state change carries the session's
// CSRF token; errors come back as {error: {code, message, field}}.
let csrf = null;

export function setCsrf(v) { csrf = v; }

export class ApiError extends Error {
	constructor(status, body) {
		const e = (body && body.error) || {};
		super(e.message || ('HTTP ' + status));
		this.status = status;
		this.code = e.code || '';
		this.field = e.field || '';
	}
}

export async function call(method, path, body, query) {
	if (query) {
		const q = new URLSearchParams();
		for (const [k, v] of Object.entries(query))
			if (v !== undefined && v !== null && v !== '') q.set(k, v);
		path += '?' + q.toString();
	}
	const headers = {};
	if (body !== undefined) headers['Content-Type'] = 'application/json';
	if (method !== 'GET' && csrf) headers['X-CSRF-Token'] = csrf;
	const r = await fetch(path, {
		method, headers, credentials: 'same-origin',
		body: body !== undefined ? JSON.stringify(body) : undefined,
	});
	let data = null;
	const ct = r.headers.get('Content-Type') || '';
	if (ct.startsWith('application/json')) data = await r.json();
	if (!r.ok) throw new ApiError(r.status, data);
	return data;
}

// POST /api/upload: one file as multipart/form-data (field "file").
export async function upload(formData) {
	const r = await fetch('/api/upload', {
		method: 'POST', credentials: 'same-origin', body: formData,
		headers: csrf ? {'X-CSRF-Token': csrf} : {},
	});
	const data = (r.headers.get('Content-Type') || '').startsWith('application/json') ? await r.json() : null;
	if (!r.ok) throw new ApiError(r.status, data);
	return data;
}
