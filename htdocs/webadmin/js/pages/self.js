// ExtMan's pages for mailbox users, without a manager session: change the
// password, reset a forgotten one by the recovery question, sign up where
// the domain allows it.  The server answers every refusal with one
// message (it does not tell which part was wrong).

import {h, clear} from '../dom.js';
import {t} from '../i18n.js';
import * as api from '../api.js';
import {buildForm, onSubmit} from '../form.js';

function done(box, msg) {
	clear(box).append(h('p.flash', {role: 'status', tabindex: -1}, msg),
		h('p', null, h('a', {href: '#/'}, t('self.back'))));
	box.querySelector('p').focus();
}

function checkTwice(f, a, b) {
	if (f.input(a).value !== f.input(b).value) {
		f.fieldError(b, t('password.mismatch'));
		return false;
	}
	return true;
}

export function password() {
	const box = h('div');
	const f = buildForm([
		{name: 'user', type: 'email', label: t('self.user'), required: true, autocomplete: 'username'},
		{name: 'old', type: 'password', label: t('password.old'), required: true, autocomplete: 'current-password'},
		{name: 'new', type: 'password', label: t('password.new'), required: true, autocomplete: 'new-password', help: t('password.help')},
		{name: 'password2', type: 'password', label: t('password.confirm'), required: true, autocomplete: 'new-password', skip: true},
	], null, {submitLabel: t('password.change')});
	onSubmit(f, async (v) => {
		if (!checkTwice(f, 'new', 'password2')) return;
		await api.post('/api/self/password', v);
		done(box, t('password.changed'));
	});
	box.append(f.form);
	return {title: t('self.password'), node: box};
}

export function forgot() {
	const box = h('div');
	const step1 = buildForm([
		{name: 'user', type: 'email', label: t('self.user'), required: true, autocomplete: 'username'},
	], null, {submitLabel: t('self.next')});
	onSubmit(step1, async (v) => {
		const r = await api.post('/api/self/question', v);
		const step2 = buildForm([
			{name: 'question', type: 'static', label: t('mailbox.question')},
			{name: 'answer', label: t('mailbox.answer'), required: true, autocomplete: 'off'},
			{name: 'new', type: 'password', label: t('password.new'), required: true, autocomplete: 'new-password', help: t('password.help')},
			{name: 'password2', type: 'password', label: t('password.confirm'), required: true, autocomplete: 'new-password', skip: true},
		], {question: r.question}, {submitLabel: t('self.reset')});
		onSubmit(step2, async (w) => {
			if (!checkTwice(step2, 'new', 'password2')) return;
			await api.post('/api/self/reset', {user: v.user, answer: w.answer, new: w.new});
			done(box, t('password.changed'));
		});
		clear(box).append(h('p', null, t('self.for', {user: v.user})), step2.form);
		step2.input('answer').focus();
	});
	box.append(h('p', null, t('self.forgot.intro')), step1.form);
	return {title: t('self.forgot'), node: box};
}

export function signup() {
	const box = h('div');
	const f = buildForm([
		{name: 'user', type: 'email', label: t('self.newaddress'), required: true, autocomplete: 'off', help: t('self.signup.help')},
		{name: 'name', label: t('mailbox.name'), autocomplete: 'name'},
		{name: 'password', type: 'password', label: t('password'), required: true, autocomplete: 'new-password', help: t('password.help')},
		{name: 'password2', type: 'password', label: t('password.confirm'), required: true, autocomplete: 'new-password', skip: true},
	], null, {submitLabel: t('self.signup.submit')});
	onSubmit(f, async (v) => {
		if (!checkTwice(f, 'password', 'password2')) return;
		let r;
		try {
			r = await api.post('/api/self/signup', v);
		} catch (e) {
			// signing up is off on this server, or for this domain
			if (e.code === 'disabled') throw {status: e.status, message: t('self.signup.off')};
			throw e;
		}
		done(box, t('self.signedup', {user: (r && r.username) || v.user}));
	});
	box.append(f.form);
	return {title: t('self.signup'), node: box};
}
