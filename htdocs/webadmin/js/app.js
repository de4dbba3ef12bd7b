// youju-webadmin console: login, layout, hash router.

import {h, clear} from './dom.js';
import * as i18n from './i18n.js';
import {t} from './i18n.js';
import * as api from './api.js';
import {takeFlash, busy} from './ui.js';
import {errorText} from './form.js';
import * as domains from './pages/domains.js';
import * as mailboxes from './pages/mailboxes.js';
import * as aliases from './pages/aliases.js';
import * as managers from './pages/managers.js';
import * as misc from './pages/misc.js';
import * as csv from './pages/csv.js';
import * as groupmail from './pages/groupmail.js';
import * as selfPages from './pages/self.js';
import * as graphs from './pages/graphs.js';
import * as statusPage from './pages/status.js';
import * as dkim from './pages/dkim.js';

const app = document.getElementById('app');

function me() { return api.session(); }
function isAdmin() { const s = me(); return !!s && s.type === 'admin'; }

// Route table: pattern segments (':x' captures), page function, admin only.
const ROUTES = [
	[['domains'], domains.list],
	[['domains', 'new'], domains.edit, true],
	[['domain', ':d'], domains.edit],
	[['domain', ':d', 'mailboxes'], mailboxes.list],
	[['domain', ':d', 'mailboxes', 'new'], mailboxes.edit],
	[['domain', ':d', 'mailbox', ':l'], mailboxes.edit],
	[['domain', ':d', 'aliases'], aliases.list],
	[['domain', ':d', 'aliases', 'new'], aliases.edit],
	[['domain', ':d', 'alias', ':a'], aliases.edit],
	[['domain', ':d', 'csv'], csv.page],
	[['domain', ':d', 'dkim'], dkim.page],
	[['managers'], managers.list, true],
	[['managers', 'new'], managers.edit, true],
	[['manager', ':u'], managers.edit, true],
	[['password'], misc.password],
	[['audit'], misc.audit],
	[['status'], statusPage.page, true],
	[['graphs'], graphs.overview],
	[['graph', ':g'], graphs.detail],
	[['tokens'], misc.tokens],
	[['groupmail'], groupmail.page],
];

function parseHash() {
	const raw = location.hash.replace(/^#\/?/, '');
	const [path, query] = raw.split('?');
	const segs = path ? path.split('/').map(s => {
		try { return decodeURIComponent(s); } catch (e) { return s; }
	}) : [];
	return {segs, query: new URLSearchParams(query || '')};
}

function match(segs) {
	for (const [pat, fn, adminOnly] of ROUTES) {
		if (pat.length !== segs.length) continue;
		const params = {};
		let ok = true;
		for (let i = 0; i < pat.length; i++) {
			if (pat[i][0] === ':') params[pat[i].slice(1)] = segs[i];
			else if (pat[i] !== segs[i]) { ok = false; break; }
		}
		if (ok) return {fn, params, adminOnly};
	}
	return null;
}

function langSwitch() {
	const id = 'lang-switch';
	const sel = h('select', {id, name: 'lang'},
		i18n.LANGS.map(([code, name]) => h('option', {value: code, selected: code === i18n.current(), lang: code.replace('_', '-')}, name)));
	sel.addEventListener('change', async () => {
		await i18n.load(sel.value);
		render();
	});
	return h('div.lang', null, h('label.sr-only', {for: id}, t('language')), sel);
}

function navLinks(active) {
	const links = [
		['domains', t('nav.domains')],
		isAdmin() ? ['managers', t('nav.managers')] : null,
		['groupmail', t('nav.groupmail')],
		['audit', t('nav.audit')],
		['graphs', t('nav.graphs')],
		isAdmin() ? ['status', t('nav.status')] : null,
		['tokens', t('nav.tokens')],
		['password', t('nav.password')],
	].filter(Boolean);
	const ul = h('ul');
	for (const [key, label] of links) {
		const cur = key === active || (key === 'domains' && (active === 'domain')) ||
			(key === 'graphs' && active === 'graph');
		ul.appendChild(h('li', null, h('a', {href: '#/' + key, 'aria-current': cur ? 'page' : null}, label)));
	}
	return h('nav.main-nav', {'aria-label': t('nav.main')}, ul);
}

async function logout() {
	try { await api.del('/api/session'); } catch (e) { /* the session may be gone already */ }
	api.saveSession(null);
	location.hash = '';
	render();
}

function roleName(s) {
	return s.type === 'admin' ? t('role.admin') : t('role.postmaster');
}

function layout(active, content) {
	const s = me();
	const header = h('header.top', null,
		h('a.brand', {href: '#/domains'}, h('span.brand-mark', {'aria-hidden': 'true'}, '邮'), t('app.title')),
		navLinks(active),
		h('div.user', null,
			h('span.who', {title: s.user + ' (' + roleName(s) + ')'}, s.user),
			h('span.role', null, roleName(s)),
			langSwitch(),
			h('button.link', {type: 'button', id: 'logout', onclick: logout}, t('logout'))));
	const main = h('main#main', {tabindex: -1});
	const msg = takeFlash();
	if (msg) main.appendChild(h('p.flash', {role: 'status'}, msg));
	main.appendChild(content);
	return [h('a.skip', {href: '#main', id: 'skip', onclick: (ev) => { ev.preventDefault(); main.focus(); }}, t('skip')), header, main];
}

function loginPage() {
	document.title = t('login.title') + ' — ' + t('app.title');
	const err = h('p.form-alert', {role: 'alert', hidden: true, id: 'login-error'});
	const user = h('input', {type: 'text', name: 'user', id: 'login-user', required: true,
		autocomplete: 'username', autocapitalize: 'off', spellcheck: 'false', inputmode: 'email'});
	const pass = h('input', {type: 'password', name: 'password', id: 'login-password',
		required: true, autocomplete: 'current-password'});
	const submit = h('button.primary', {type: 'submit', id: 'login-submit'}, t('login.submit'));
	const form = h('form.login', {method: 'post', action: '/api/session', 'aria-describedby': 'login-error'},
		h('div.field', null, h('label', {for: 'login-user'}, t('login.user')), user),
		h('div.field', null, h('label', {for: 'login-password'}, t('login.password')), pass),
		err,
		h('div.actions', null, submit));
	form.addEventListener('submit', async (ev) => {
		ev.preventDefault();
		err.hidden = true;
		submit.disabled = true;
		try {
			const r = await api.post('/api/session', {user: user.value.trim(), password: pass.value});
			// {user, type, csrf, domains} (docs/webadmin.md); the menus follow
			// the type, the server checks every request anyway
			api.saveSession({user: r.user, csrf: r.csrf, type: r.type, domains: r.domains || []});
			pass.value = '';
			if (!location.hash || location.hash === '#' || location.hash === '#/') location.hash = '#/domains';
			else render();
		} catch (e) {
			err.textContent = e.status === 401 ? t('login.bad') : e.status === 403 ? t('login.disabled')
				: e.status === 429 ? t('login.throttled') : errorText(e);
			err.hidden = false;
			pass.focus();
		} finally {
			submit.disabled = false;
		}
	});
	const card = h('main.login-wrap#main', null,
		h('div.login-card', null,
			h('div.login-top', null,
				h('p.brand', null, h('span.brand-mark', {'aria-hidden': 'true'}, '邮'), t('app.title')),
				langSwitch()),
			h('h1', {tabindex: -1}, t('login.title')),
			form,
			selfLinks()));
	clear(app).append(card);
	user.focus();
}

// Pages for mailbox users, shown without a manager session.
const PUBLIC = {password: selfPages.password, forgot: selfPages.forgot, signup: selfPages.signup};

function publicPage(fn) {
	const {title, node} = fn();
	document.title = title + ' — ' + t('app.title');
	const card = h('main.login-wrap#main', null,
		h('div.login-card.wide', null,
			h('div.login-top', null,
				h('p.brand', null, h('span.brand-mark', {'aria-hidden': 'true'}, '邮'), t('app.title')),
				langSwitch()),
			h('h1', {tabindex: -1}, title),
			node,
			h('p.self-links', null, h('a', {href: '#/'}, t('self.back')))));
	clear(app).append(card);
	const first = card.querySelector('input');
	if (first) first.focus();
}

function selfLinks() {
	return h('nav.self-links', {'aria-label': t('self.links')},
		h('p', null, t('self.users')),
		h('ul', null,
			h('li', null, h('a', {href: '#/self/password'}, t('self.password'))),
			h('li', null, h('a', {href: '#/self/forgot'}, t('self.forgot'))),
			h('li', null, h('a', {href: '#/self/signup'}, t('self.signup')))));
}

function notFound() {
	document.title = t('err.notfound') + ' — ' + t('app.title');
	return h('section', null, h('h1', {tabindex: -1}, t('err.notfound')),
		h('p', null, h('a', {href: '#/domains'}, t('nav.domains'))));
}

let renderSeq = 0;
async function render() {
	busy(1);
	try {
		await renderPage();
	} finally {
		app.dataset.route = location.hash;
		busy(-1);
	}
}

async function renderPage() {
	const seq = ++renderSeq;
	const {segs, query} = parseHash();
	if (segs.length === 2 && segs[0] === 'self' && PUBLIC[segs[1]]) {
		publicPage(PUBLIC[segs[1]]);
		return;
	}
	if (!me()) { loginPage(); return; }
	if (!segs.length) { location.replace('#/domains'); return; }
	const m = match(segs);
	let content;
	if (!m || (m.adminOnly && !isAdmin())) {
		content = notFound();
	} else {
		content = h('div.page');
		try {
			const node = await m.fn(m.params, query, {isAdmin: isAdmin(), me: me()});
			if (seq !== renderSeq) return;
			content.appendChild(node);
		} catch (e) {
			if (seq !== renderSeq) return;
			if (e.status === 401) return;
			content.appendChild(h('h1', {tabindex: -1}, t('err.title')));
			content.appendChild(h('p.form-alert', {role: 'alert'}, errorText(e)));
		}
	}
	if (!me()) { loginPage(); return; }
	clear(app).append(...layout(segs[0], content));
	const h1 = app.querySelector('main h1');
	if (h1) h1.focus({preventScroll: true});
	window.scrollTo(0, 0);
}

api.setUnauthorizedHandler(() => {
	api.saveSession(null);
	render();
});

window.addEventListener('hashchange', render);

(async function start() {
	try {
		await i18n.load(i18n.preferred());
	} catch (e) {
		await i18n.load('en_US');
	}
	// The cookie is HttpOnly: ask the server whether it still holds the
	// session this tab signed in with, and refresh its role and domains.
	// (Only then: a fresh tab would log the 401 as a console error.)
	if (api.session()) try {
		const r = await fetch('/api/session', {credentials: 'same-origin', cache: 'no-store',
			headers: {'Accept': 'application/json'}});
		if (r.ok) {
			const cur = await r.json();
			const old = api.session();
			const csrf = cur.csrf || (old && old.user === cur.user ? old.csrf : '');
			api.saveSession(csrf ? {user: cur.user, csrf, type: cur.type || (old && old.type) || '',
				domains: cur.domains || []} : null);
		} else if (r.status === 401) {
			api.saveSession(null);
		}
	} catch (e) { /* offline: keep what we have */ }
	render();
})();

