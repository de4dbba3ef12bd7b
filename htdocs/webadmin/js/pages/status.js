// The status page (admin): GET /api/status as ExtMan's system page showed
// it — daemons and MariaDB up or down with pid, uptime and version, the
// queues, load, memory, CPU, disks and the certificate.  Read-only: no
// start or stop buttons (docs/webadmin.md "Status").

import {h, clear} from '../dom.js';
import {t} from '../i18n.js';
import * as api from '../api.js';
import {pageHead, table, errorBox} from '../ui.js';

const DASH = '–';

function duration(sec) {
	if (sec === null || sec === undefined) return DASH;
	const n = Math.floor(Number(sec) || 0);
	const d = Math.floor(n / 86400), hh = Math.floor(n % 86400 / 3600), m = Math.floor(n % 3600 / 60);
	return d ? t('unit.days', {d, h: hh, m}) : t('unit.hours', {h: hh, m});
}

function bytes(n) {
	if (n === null || n === undefined) return DASH;
	n = Number(n) || 0;
	const units = ['B', 'KB', 'MB', 'GB', 'TB'];
	let i = 0;
	while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
	return (i ? n.toFixed(1) : String(n)) + ' ' + units[i];
}

function state(up) {
	return up ? h('span.ok', null, t('status.up')) : h('span.bad', null, t('status.down'));
}

function kv(rows) {
	const dl = h('dl.kv');
	for (const [label, value] of rows) {
		if (value === undefined) continue;
		dl.append(h('dt', null, label), h('dd', null, value === null || value === '' ? DASH : value));
	}
	return dl;
}

function card(id, title, ...body) {
	return h('section.card', {id}, h('h2', null, title), ...body);
}

function daemonName(n) {
	return n === 'mariadb' ? 'MariaDB' : n;
}

function system(s) {
	const mem = s.memory || {}, cpu = s.cpu || {};
	return card('status-system', t('status.system'), kv([
		[t('status.k.hostname'), s.hostname],
		[t('status.k.kernel'), s.kernel ? s.kernel + (s.machine ? ' (' + s.machine + ')' : '') : null],
		[t('status.k.cpu'), cpu.count ? t('status.cpus', {n: cpu.count}) + (cpu.model ? ' · ' + cpu.model : '') : null],
		[t('status.k.loadavg'), Array.isArray(s.loadavg) ? s.loadavg.map(x => Number(x).toFixed(2)).join('  ') : null],
		[t('status.k.memory'), mem.total ? t('status.of', {a: bytes(mem.available), b: bytes(mem.total)}) : null],
		[t('status.k.swap'), mem.swap_total ? t('status.of', {a: bytes(mem.swap_free), b: bytes(mem.swap_total)}) : undefined],
		[t('status.k.uptime'), duration(s.uptime)],
		[t('status.k.version'), s.version ? 'youju ' + s.version : null],
	]));
}

function daemons(s) {
	const rows = Array.isArray(s.daemons) ? s.daemons : [];
	return card('status-daemons', t('status.daemons'), table([
		{label: t('status.k.name'), cell: r => daemonName(r.name || '')},
		{label: t('status.k.running'), cell: r => state(!!r.running)},
		{label: t('status.k.pid'), cell: r => r.pid ? String(r.pid) : DASH},
		{label: t('status.k.uptime'), cell: r => r.running ? duration(r.uptime) : DASH},
		{label: t('status.k.version'), cell: r => r.version || DASH},
	], rows));
}

function queue(s) {
	const q = s.queue || {};
	return card('status-queue', t('status.queue'), kv(['incoming', 'active', 'deferred', 'hold'].map(k =>
		[t('status.q.' + k), q[k] === null || q[k] === undefined ? null : String(q[k])])));
}

function disks(s) {
	const rows = Array.isArray(s.disks) ? s.disks : [];
	return card('status-disks', t('status.disks'), table([
		{label: t('status.k.disk'), cell: r => t('status.disk.' + r.name)},
		{label: t('status.k.path'), cell: r => h('code', null, r.path || '')},
		{label: t('status.k.free'), cell: r => r.error ? h('span.bad', null, r.error) : bytes(r.free)},
		{label: t('status.k.total'), cell: r => bytes(r.total)},
	], rows));
}

function cert(s) {
	const c = s.tls || {};
	let left = null;
	if (typeof c.days_left === 'number') {
		left = h('span', {class: c.days_left < 0 ? 'bad' : c.days_left < 30 ? 'warn' : 'ok'},
			c.days_left < 0 ? t('status.expired') : t('status.days', {n: c.days_left}));
	}
	return card('status-tls', t('status.tls'), kv([
		[t('status.k.file'), c.file ? h('code', null, c.file) : null],
		[t('status.k.subject'), c.subject],
		[t('status.k.not_after'), c.not_after ? c.not_after.replace('T', ' ').replace('Z', ' UTC') : null],
		[t('status.k.days_left'), left],
		[t('status.k.error'), c.error ? h('span.bad', null, c.error) : undefined],
	]));
}

function totals(s) {
	return card('status-totals', t('status.totals'), kv(['domains', 'mailboxes', 'aliases', 'managers'].map(k =>
		[t('status.k.' + k), s[k] === undefined ? undefined : String(s[k])])));
}

function libraries(s) {
	const v = s.libraries || {};
	return card('status-libs', t('status.libraries'), kv([
		['OpenSSL', v.openssl],
		['RRDtool', v.rrdtool],
	]));
}

export async function page(params, query, ctx) {
	const box = h('div.status-body');
	const stamp = h('p.muted.status-stamp', {role: 'status'});
	async function load() {
		clear(box).append(h('p', null, t('loading')));
		try {
			const s = await api.get('/api/status') || {};
			clear(box).append(h('div.status-grid', null,
				daemons(s), system(s), queue(s), disks(s), cert(s), totals(s), libraries(s)));
			stamp.textContent = t('status.as_of', {time: new Date().toLocaleString(document.documentElement.lang || undefined)});
		} catch (e) {
			clear(box).append(errorBox(e));
		}
	}
	await load();
	return h('section', null,
		pageHead(t('nav.status'), h('button', {type: 'button', id: 'status-refresh', onclick: load}, t('refresh'))),
		stamp, box);
}
