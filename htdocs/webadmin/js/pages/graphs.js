// Mail statistics (youju-mailgraph's graphs, docs/mailgraph.md): the
// overview of six day graphs and one graph for day, week, month and year.
// The admin sees the whole server and every domain; a postmaster sees its
// own domains' mail, errors and traffic (the server answers 403 for the
// rest anyway).  The PNGs come from GET /api/graphs/{name}.png at the
// size the page has room for.

import {h, clear, uid} from '../dom.js';
import {t} from '../i18n.js';
import * as api from '../api.js';
import {pageHead, crumbs, href} from '../ui.js';

// mailgraph_ext's graphs, in its order; per: has a per-domain form
export const GRAPHS = [
	{name: 'mail', per: true},
	{name: 'errors', per: true},
	{name: 'traffic', per: true},
	{name: 'queue', per: false},
	{name: 'logins', per: false},
	{name: 'webmail', per: false},
];
const PERIODS = ['day', 'week', 'month', 'year'];
// the server's bounds (webadmin/graphs.c)
const W_MIN = 320, W_MAX = 2000, H_MIN = 200;

function clamp(v, lo, hi) { return Math.max(lo, Math.min(hi, Math.round(v))); }

// The width there is room for: main's content box (1200 px at most).
function room() {
	const vw = document.documentElement.clientWidth || window.innerWidth || 1024;
	const pad = vw >= 720 ? 48 : 26;
	return Math.min(vw, 1200) - pad;
}

// Below 560 px the server puts each legend on two lines: room for them.
function height(w, ratio) {
	return Math.max(H_MIN, Math.round(w * (w < 560 ? 0.95 : ratio)));
}

function graphUrl(name, period, domain, w, hgt) {
	return '/api/graphs/' + name + '.png' + api.qs({period, domain, width: w, height: hgt});
}

// <figure> with the PNG; a graph without data yet (404) says so.
function graphFigure(g, period, domain, w, hgt, link) {
	const title = t('graphs.' + g.name) + ' — ' + t('graphs.period.' + period) +
		(domain ? ' — ' + domain : '');
	const img = h('img.graph', {src: graphUrl(g.name, period, domain, w, hgt), width: w, height: hgt,
		alt: title, loading: 'lazy', decoding: 'async'});
	const cap = h('figcaption', null, link ? h('a', {href: link}, title) : title);
	const fig = h('figure.graph', {'data-graph': g.name, 'data-period': period}, img, cap);
	img.addEventListener('error', () => {
		fig.classList.add('missing');
		img.replaceWith(h('p.empty.graph-none', null, t('graphs.none')));
	});
	return fig;
}

// The first graph fetched once before the page is drawn: a refusal (403,
// another domain's) shows as the page's error, not as a missing image; the
// answer is cached (Cache-Control), so the <img> gets it from there.
async function probe(url) {
	let r;
	try {
		r = await fetch(url, {credentials: 'same-origin'});
	} catch (e) {
		throw new api.ApiError(0, {error: {code: 'network', message: ''}});
	}
	if (r.ok || r.status === 404) return;
	let body = null;
	try { body = await r.json(); } catch (e) { body = null; }
	throw new api.ApiError(r.status, body);
}

// The domains the caller may pick: a postmaster's own; for the admin the
// server's list (first page: a search box would be the next step).
async function domainChoices(ctx) {
	if (!ctx.isAdmin) return (ctx.me.domains || []).slice().sort();
	try {
		const r = await api.get('/api/domains');
		return api.items(r).map(d => d.domain).filter(Boolean);
	} catch (e) {
		return [];
	}
}

function domainPicker(choices, current, isAdmin, onPick) {
	const id = uid('graph-domain');
	if (current && !choices.includes(current)) choices = [current, ...choices];
	const sel = h('select', {id, name: 'domain'},
		isAdmin ? h('option', {value: '', selected: !current}, t('graphs.server')) : null,
		choices.map(d => h('option', {value: d, selected: d === current}, d)));
	sel.addEventListener('change', () => onPick(sel.value));
	const pick = h('div.field.graph-scope', null, h('label', {for: id}, t('graphs.scope')), sel);
	if (!isAdmin) return pick;
	// the list holds the first page of domains: any other by name
	const fid = uid('graph-find');
	const input = h('input', {type: 'text', id: fid, name: 'find', autocomplete: 'off',
		autocapitalize: 'off', spellcheck: 'false', inputmode: 'url'});
	const form = h('form.graph-find', {role: 'search'},
		h('label', {for: fid}, t('graphs.find')), input,
		h('button', {type: 'submit'}, t('graphs.show')));
	form.addEventListener('submit', (ev) => {
		ev.preventDefault();
		const d = input.value.trim().toLowerCase();
		if (d) onPick(d);
	});
	return h('div.graph-pickers', null, pick, form);
}

// #/graphs[?domain=D]
export async function overview(params, query, ctx) {
	const choices = await domainChoices(ctx);
	let domain = query.get('domain') || '';
	if (!ctx.isAdmin && !domain) domain = choices[0] || '';
	const head = pageHead(t('nav.graphs'));
	if (!ctx.isAdmin && !choices.length) {
		return h('section', null, head, h('p.empty', null, t('graphs.nodomains')));
	}
	const picker = domainPicker(choices, domain, ctx.isAdmin, (d) => {
		location.hash = '#/graphs' + api.qs({domain: d});
	});
	const r = room();
	const w = clamp(r >= 900 ? r / 2 - 12 : r, W_MIN, 720);
	const hgt = height(w, 0.5);
	await probe(graphUrl('mail', 'day', domain, w, hgt));
	const grid = h('div.graph-grid');
	for (const g of GRAPHS) {
		if (domain && !g.per) continue;
		grid.appendChild(graphFigure(g, 'day', domain, w, hgt,
			href('graph', g.name) + api.qs({domain})));
	}
	return h('section', null, head,
		h('p', null, domain ? t('graphs.intro.domain', {domain}) : t('graphs.intro')),
		picker, grid);
}

// #/graph/NAME[?domain=D]
export async function detail(params, query, ctx) {
	const g = GRAPHS.find(x => x.name === params.g);
	const domain = query.get('domain') || '';
	if (!g || (domain && !g.per) || (!domain && !ctx.isAdmin)) {
		const e = new Error(t('err.notfound'));
		e.status = 404;
		throw e;
	}
	const title = t('graphs.' + g.name) + (domain ? ' — ' + domain : '');
	const w = clamp(room(), W_MIN, Math.min(W_MAX, 900));
	const hgt = height(w, 0.42);
	await probe(graphUrl(g.name, 'day', domain, w, hgt));
	const list = h('div.graph-periods');
	for (const p of PERIODS) list.appendChild(graphFigure(g, p, domain, w, hgt, null));
	return h('section', null,
		crumbs([t('nav.graphs'), '#/graphs' + api.qs({domain})], [title]),
		pageHead(title),
		list);
}
