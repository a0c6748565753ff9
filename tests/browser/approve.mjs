// SPDX-License-Identifier: Apache-2.0
// Real-browser test of the dashboard and the approval page (SPEC 10, 11):
// Debian's chromium driven by playwright-core (never a downloaded browser).
//
//   node approve.mjs TEST_APPROVE_BINARY OUTDIR MIME_CHECK_SCRIPT
//
// Starts `test_approve --serve` (a gateway with one pending order whose
// approval mail went to OUTDIR/mail), opens the dashboard (screenshot kept
// in OUTDIR), opens the link from the captured mail on a phone-sized
// screen at the gateway's host name over plain HTTP (http://gw.test:PORT),
// clicks Approve, sees the confirmation and checks over the JSON API that
// the order moved. Fails on any console error, page error or CSP
// violation.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { args, fail, freshDir, openBrowser, startGateway } from './common.mjs';

const [bin, outdir, mimeCheck] =
  args(3, 'node approve.mjs TEST_APPROVE_BINARY OUTDIR MIME_CHECK_SCRIPT');
const started = Date.now();
freshDir(outdir);

// The gateway: wait for its READY line.
const { gw, info } = await startGateway(bin, ['--serve', '120', outdir], 20000);
const mails = info.lines.filter(([k]) => k === 'MAIL').map(([, v]) => v);
let b;
try {
  if (mails.length < 1) fail('no approval mail was written');
  // the link, as a mail reader would see it (Python's email package decodes the MIME)
  const chk = spawnSync('/usr/bin/python3', [mimeCheck, mails[0]], { encoding: 'utf8' });
  if (chk.status !== 0) fail('the mail is not valid MIME: ' + chk.stderr);
  const mail = JSON.parse(chk.stdout);
  const link = mail.links[0];
  const path = link.slice(link.indexOf('/approve/'));

  // gw.test is 127.0.0.1 to this browser: a host name on plain HTTP is not a "potentially
  // trustworthy" origin, so the browser sends no Sec-Fetch-Site there (as on a plant's
  // network, unlike on 127.0.0.1)
  b = await openBrowser({ width: 1280, height: 900 },
                        ['--host-resolver-rules=MAP gw.test 127.0.0.1']);
  const { page, problems, csp } = b;

  // the dashboard shows the pending order
  let r = await page.goto(info.base + '/');
  if (r.status() !== 200) fail('dashboard answered ' + r.status());
  if (!(await page.content()).includes(info.order)) fail('the dashboard does not list ' + info.order);
  await page.screenshot({ path: join(outdir, 'dashboard.png'), fullPage: true });
  await csp('the dashboard');

  // the approval link on a phone-sized screen, at the gateway's name on plain HTTP (the
  // form's POST must be taken as the page's own: it used to be refused as cross-site)
  await page.setViewportSize({ width: 390, height: 844 });
  r = await page.goto(info.named + path);
  if (r.status() !== 200) fail('the approval link answered ' + r.status());
  const text = await page.textContent('main');
  for (const want of [info.order, '74.00 EUR', 'anna@example.com'])
    if (!text.includes(want)) fail('the approval page does not show ' + want);
  const approve = page.locator('#approve');
  if (!(await approve.isVisible())) fail('no visible Approve button');
  const box = await approve.boundingBox();
  if (!box || box.x + box.width > 390 || box.height < 36)
    fail('the Approve button does not fit a phone screen or is too small to tap');
  const scrollW = await page.evaluate(() => document.documentElement.scrollWidth);
  if (scrollW > 390) fail('the approval page scrolls sideways on a phone (' + scrollW + ' px)');
  await page.screenshot({ path: join(outdir, 'approval.png'), fullPage: true });
  await csp('the approval page');

  // the decision
  await Promise.all([page.waitForNavigation(), approve.click()]);
  const done = (await page.locator("#outcome").count()) ? await page.textContent("#outcome") : await page.content();
  if (!done.includes('Order approved')) fail('no confirmation after Approve: ' + done);
  await page.screenshot({ path: join(outdir, 'confirmation.png'), fullPage: true });
  await csp('the confirmation');

  // the order moved (JSON API), and the link no longer works (410)
  const o = await (await fetch(info.base + '/api/v1/orders/' + info.order)).json();
  if (o.state !== 'approved') fail('the order is ' + o.state + ', not approved');
  r = await page.goto(info.named + path);
  if (r.status() !== 410) fail('the used link answered ' + r.status() + ', not 410');
  await csp('the used link');
  // (a 410 page is an expected answer, not a console error of the page itself)
  for (let i = problems.length - 1; i >= 0; i--)
    if (/status of 410/.test(problems[i]) || problems[i] === 'HTTP 410 for ' + info.named + path)
      problems.splice(i, 1);

  if (problems.length) fail(problems.join('\n'));
  console.log('OK: dashboard, approval page and confirmation in ' +
              ((Date.now() - started) / 1000).toFixed(1) + ' s; screenshots in ' + outdir);
} finally {
  if (b) await b.close();
  gw.kill('SIGTERM');
}
