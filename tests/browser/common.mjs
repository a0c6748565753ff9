// SPDX-License-Identifier: Apache-2.0
// What the real-browser tests share (approve.mjs, dashboard.mjs): the output
// directory, the gateway started with `--serve` and its READY line, Debian's
// chromium launched through playwright-core with every console error, page
// error, HTTP error and CSP violation collected, and the clean-up.
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { chromium } from 'playwright-core';

// The arguments after the script (need of them, else the usage line and exit 2).
export function args(need, usage) {
  const a = process.argv.slice(2);
  if (a.length < need || a.slice(0, need).some((x) => !x)) {
    console.error('usage: ' + usage);
    process.exit(2);
  }
  return a;
}

// A failed check: printed, the exit code set, and thrown to end the test.
export function fail(msg) {
  console.error('FAIL: ' + msg);
  process.exitCode = 1;
  throw new Error(msg);
}

// OUTDIR emptied (screenshots and figures go there).
export function freshDir(dir) {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
}

// Start the gateway (bin with argv) and wait up to timeoutMs for its READY line. Every
// "KEY value" line before it lands in info.lines as [KEY, value] and in info[key] (the
// last one, key in lower case). Returns { gw, info }.
export async function startGateway(bin, argv, timeoutMs) {
  const gw = spawn(bin, argv, { stdio: ['ignore', 'pipe', 'inherit'] });
  const info = { lines: [] };
  await new Promise((resolve, reject) => {
    const rl = createInterface({ input: gw.stdout });
    const timer = setTimeout(() => reject(new Error('the gateway did not start')), timeoutMs);
    rl.on('line', (line) => {
      if (line === 'READY') { clearTimeout(timer); resolve(); return; }
      const k = line.split(' ')[0], v = line.slice(k.length + 1);
      info.lines.push([k, v]);
      info[k.toLowerCase()] = v;
    });
    gw.on('exit', (code) => reject(new Error('the gateway exited with ' + code)));
  });
  return { gw, info };
}

// Debian's chromium (headless, a throw-away profile, extraArgs on its command line) with one
// page of the given viewport.
// Returns { ctx, page, problems, csp, close }: problems collects console errors (not the
// browser's own favicon probe), page errors and HTTP answers >= 400; `await csp(where)`
// adds the page's CSP violations; `await close()` closes the browser and removes the
// profile.
export async function openBrowser(viewport, extraArgs = []) {
  const userDataDir = mkdtempSync(join(tmpdir(), 'restock-chromium-'));
  const problems = [];
  let ctx;
  const close = async () => {
    if (ctx) await ctx.close();
    rmSync(userDataDir, { recursive: true, force: true });
  };
  try {
    ctx = await chromium.launchPersistentContext(userDataDir, {
      executablePath: '/usr/bin/chromium',
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
             '--disable-component-update', '--disable-sync', '--no-first-run', ...extraArgs],
      viewport,
    });
    // CSP violations are reported to the page: collect them before any page script runs
    await ctx.addInitScript(() => {
      window.__csp = [];
      document.addEventListener('securitypolicyviolation',
        (e) => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));
    });
  } catch (e) {
    await close();
    throw e;
  }
  const page = ctx.pages()[0] || await ctx.newPage();
  page.on('console', (m) => {
    if (m.type() !== 'error') return;
    // the browser's own favicon probe is not the page's doing (the pages name no icon)
    if (/\/favicon\.ico$/.test(m.location().url || '')) return;
    problems.push('console: ' + m.text() + ' (' + (m.location().url || '?') + ')');
  });
  page.on('pageerror', (e) => problems.push('page error: ' + e.message));
  page.on('response', (resp) => {
    if (resp.status() >= 400) problems.push('HTTP ' + resp.status() + ' for ' + resp.url());
  });
  const csp = async (where) => {
    for (const v of await page.evaluate(() => window.__csp || []))
      problems.push('CSP violation on ' + where + ': ' + v);
  };
  return { ctx, page, problems, csp, close };
}
