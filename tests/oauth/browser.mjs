// SPDX-License-Identifier: Apache-2.0
// browser.mjs - a person at a browser: headless Chromium (Debian's, driven
// by playwright-core) opens an authorization URL, signs in on the
// provider's development login page, consents and follows the redirects.
//
//   node browser.mjs [--user NAME] [--password PW] [--stop-at PREFIX]
//       [--deny] [--timeout SECONDS] URL
//
// Prints the URL it ended on.  With --stop-at, the first request whose
// URL starts with PREFIX is answered by the browser itself (no server needs
// to listen there) and is where it ends.  --deny presses Cancel instead of
// signing in or consenting.  Only loopback addresses are reached: anything
// else is refused inside the browser.
//
// Exit status: 0 done; 1 the provider showed an error or a page this does
// not know; 2 usage; 3 timed out; 4 Chromium could not be started.
import './node-version.mjs';
import { chromium } from 'playwright-core';

const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu',
	'--disable-background-networking', '--disable-component-update',
	'--disable-sync', '--no-first-run', '--disable-dev-shm-usage',
	'--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1'];
const USAGE = 'usage: node browser.mjs [--user NAME] [--password PW] ' +
	'[--stop-at PREFIX] [--deny] [--timeout SECONDS] URL';

let browser = null;
let failing = false;

// Chromium is closed before exiting: killed, it leaves its children to
// init.  The first failure is the one reported (closing the browser on a
// timeout fails whatever was waiting on it).
async function fail(code, msg) {
	if (failing)
		return new Promise(() => {});
	failing = true;
	process.stderr.write(`browser: ${msg}\n`);
	if (browser !== null)
		await Promise.race([browser.close().catch(() => {}),
			new Promise((resolve) => setTimeout(resolve, 3000))]);
	process.exit(code);
}

function parseArgs(argv) {
	const o = { user: 'alice', password: 'password', stopAt: null,
		deny: false, timeout: 30, url: null };
	const opt = { '--user': 'user', '--password': 'password',
		'--stop-at': 'stopAt', '--timeout': 'timeout' };
	for (let i = 0; i < argv.length; i++) {
		const a = argv[i];
		if (a === '--deny')
			o.deny = true;
		else if (Object.hasOwn(opt, a) && i + 1 < argv.length)
			o[opt[a]] = argv[++i];
		else if (!a.startsWith('--') && o.url === null)
			o.url = a;
		else
			fail(2, USAGE);
	}
	o.timeout = Number(o.timeout);
	if (o.url === null || !(o.timeout > 0))
		fail(2, USAGE);
	return o;
}

function loopback(u) {
	let url;
	try {
		url = new URL(u);
	} catch {
		return false;
	}
	if (url.protocol === 'data:' || url.protocol === 'about:')
		return true;
	return /^(127\.\d+\.\d+\.\d+|localhost|\[::1\])$/.test(url.hostname);
}

// What the page in front of us asks for: "login", "consent", "error" or
// null (not a page of the provider's).
async function pageKind(page) {
	if (await page.title() === 'error')
		return 'error';
	const p = page.locator('form input[name=prompt]');
	if (await p.count() === 1)
		return p.getAttribute('value');
	return null;
}

const o = parseArgs(process.argv.slice(2));
const timer = setTimeout(() => fail(3,
	`timed out after ${o.timeout} s`), o.timeout * 1000);
try {
	browser = await chromium.launch({
		executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
		headless: true,
		args: FLAGS,
		timeout: o.timeout * 1000,
	});
} catch (e) {
	fail(4, `cannot start Chromium: ${e.message.split('\n')[0]}`);
}
const context = await browser.newContext();
const page = await context.newPage();
// The browser's own interception (Fetch) sees every hop of a redirect,
// where playwright's route() sees only the first.
const cdp = await context.newCDPSession(page);
let stopped = null;
cdp.on('Fetch.requestPaused', (ev) => {
	const u = ev.request.url;
	let r;
	if (o.stopAt !== null && u.startsWith(o.stopAt)) {
		stopped ??= u;
		r = cdp.send('Fetch.fulfillRequest', { requestId: ev.requestId,
			responseCode: 200, body: Buffer.from('stopped here by ' +
			'browser.mjs\n').toString('base64') });
	} else if (!loopback(u)) {
		r = cdp.send('Fetch.failRequest', { requestId: ev.requestId,
			errorReason: 'BlockedByClient' });
	} else {
		r = cdp.send('Fetch.continueRequest',
			{ requestId: ev.requestId });
	}
	r.catch(() => {});
});
await cdp.send('Fetch.enable', { patterns: [{ urlPattern: '*' }] });
page.setDefaultTimeout(o.timeout * 1000);

try {
	await page.goto(o.url);
	for (let step = 0; stopped === null; step++) {
		const kind = await pageKind(page);
		if (kind === 'error') {
			const text = await page.locator('pre').allTextContents();
			await fail(1, `the provider showed an error at ` +
				`${page.url()}: ${text.join('; ')}`);
		}
		if ((kind !== 'login' && kind !== 'consent') || step > 10)
			break;
		const load = page.waitForEvent('load');
		load.catch(() => {});
		if (o.deny) {
			await page.click('a[href*="/abort"]');
		} else if (kind === 'login') {
			await page.fill('input[name=login]', o.user);
			await page.fill('input[name=password]', o.password);
			await page.click('button[type=submit]');
		} else {
			await page.click('button[type=submit]');
		}
		await load;
	}
} catch (e) {
	if (stopped === null)
		await fail(1, `at ${page.url()}: ${e.message.split('\n')[0]}`);
}
const final = stopped ?? page.url();
if (o.stopAt !== null && stopped === null)
	await fail(1, `ended at ${final}, never reached ${o.stopAt}`);
clearTimeout(timer);
await browser.close();
process.stdout.write(`${final}\n`);
