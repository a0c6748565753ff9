// SPDX-License-Identifier: Apache-2.0
// Real-browser test of the dashboard at plant scale (issue 16): Debian's
// chromium driven by playwright-core, axe-core for accessibility.
//
//   node dashboard.mjs DASH_PLANT_BINARY OUTDIR
//
// Starts `dash_plant --serve` (1,000 consumables on 100 devices, 14 days of
// history, orders in every state), then:
//   - the overview renders all rows; its page weight, time to first byte and
//     load time are measured by the browser (Navigation Timing) and written
//     to OUTDIR/figures.json;
//   - sorting by clicking column headers and filtering with the form work
//     (plain links and a GET form: the page runs no JavaScript);
//   - the detail page's chart has a value axis, a date axis, the reorder
//     point, the order-by marker, the empty line, a replacement and a
//     delivery;
//   - no console error, page error or CSP violation on any page;
//   - axe-core finds no serious or critical violation on either page.
// Screenshots of both pages are kept in OUTDIR.
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { args, fail, freshDir, openBrowser, startGateway } from './common.mjs';

const [bin, outdir] = args(2, 'node dashboard.mjs DASH_PLANT_BINARY OUTDIR');
const here = dirname(fileURLToPath(import.meta.url));
const axeSource = readFileSync(join(here, 'node_modules', 'axe-core', 'axe.min.js'), 'utf8');
const started = Date.now();
freshDir(outdir);

// The gateway: wait for its READY line (building the plant takes a while).
const { gw, info } = await startGateway(bin, ['--serve', '400'], 240000);
const total = Number(info.consumables);

let b;
const figures = { consumables: total };
try {
  b = await openBrowser({ width: 1400, height: 900 });
  const { page, problems, csp } = b;
  // axe-core, evaluated through the DevTools protocol (the page's CSP allows no script)
  // The pages refresh themselves every 30 s, and axe takes a while on 1,000 rows: axe runs on
  // the same page reloaded with only its refresh tag taken out (headers, CSP included, kept).
  const axe = async (where) => {
    const url = page.url();
    await page.route(url, async (route) => {
      const resp = await route.fetch();
      const body = (await resp.text()).replace(/<meta http-equiv="refresh"[^>]*>/, '');
      await route.fulfill({ response: resp, body });
    });
    await page.goto(url, { waitUntil: 'load' });
    await page.unroute(url);
    await page.evaluate(axeSource);
    const res = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
    const bad = res.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
    for (const v of res.violations)
      console.log(`axe on ${where}: ${v.impact} ${v.id} (${v.nodes.length}): ${v.help}`);
    for (const v of bad)
      problems.push(`axe on ${where}: ${v.impact} ${v.id}: ${v.help} (${v.nodes.length} nodes, ` +
                    `first: ${v.nodes[0].target.join(' ')})`);
    return res.violations.length;
  };
  const column = (i) => page.$$eval(`table.overview tbody tr td:nth-child(${i})`,
                                    (tds) => tds.map((td) => td.textContent.trim()));
  const shown = async () => (await page.textContent('#shown')).trim();

  // ---- the overview: renders, measured ----
  let r = await page.goto(info.base + '/', { waitUntil: 'load' });
  if (r.status() !== 200) fail('dashboard answered ' + r.status());
  const nav = await page.evaluate(() => {
    const n = performance.getEntriesByType('navigation')[0];
    return { ttfb_ms: n.responseStart - n.requestStart, response_ms: n.responseEnd - n.requestStart,
             dom_content_loaded_ms: n.domContentLoadedEventEnd - n.startTime,
             load_ms: n.loadEventEnd - n.startTime, html_bytes: n.encodedBodySize,
             transfer_bytes: n.transferSize };
  });
  const css = await page.evaluate(() => performance.getEntriesByType('resource')
    .filter((e) => e.name.endsWith('/static/style.css')).map((e) => e.encodedBodySize)[0] || 0);
  figures.overview = { ...nav, css_bytes: css, page_weight_bytes: nav.html_bytes + css };
  const rows = await page.locator('table.overview tbody tr').count();
  if (rows !== total) fail(`the overview shows ${rows} rows, not ${total}`);
  if ((await shown()) !== `${total} of ${total} shown`) fail('the row count says ' + await shown());
  if (!(await page.locator('#alerts li.a-device_down').count())) fail('no device-down alert');
  if (!(await page.locator('#alerts li.a-empty a').count())) fail('no empty-now alert with a link');
  await page.screenshot({ path: join(outdir, 'overview.png') });
  await csp('the overview');
  figures.axe_overview_violations = await axe('the overview');

  // ---- sorting: click "Part", then again; click "Days left" ----
  await Promise.all([page.waitForNavigation(), page.click('table.overview thead th:nth-child(2) a')]);
  if (!page.url().includes('sort=part&dir=asc')) fail('sorting by part did not go to ' + page.url());
  let parts = await column(2);
  if (parts.length !== total) fail('sorting lost rows');
  if (parts.join('\n') !== [...parts].sort().join('\n')) fail('parts are not in ascending order');
  await Promise.all([page.waitForNavigation(), page.click('table.overview thead th:nth-child(2) a')]);
  if (!page.url().includes('sort=part&dir=desc')) fail('the second click did not sort descending');
  parts = await column(2);
  if (parts.join('\n') !== [...parts].sort().reverse().join('\n')) fail('parts are not descending');
  await Promise.all([page.waitForNavigation(), page.click('table.overview thead th:nth-child(5) a')]);
  const days = (await column(5)).map((t) => parseFloat(t)).filter((x) => !Number.isNaN(x));
  if (days.length < total / 2) fail('too few rows with days left: ' + days.length);
  for (let i = 1; i < days.length; i++)
    if (days[i] < days[i - 1]) fail(`days left not ascending at row ${i}: ${days[i - 1]} then ${days[i]}`);
  await page.screenshot({ path: join(outdir, 'overview-by-days.png') });
  await csp('the sorted overview');

  // ---- filtering with the form: device, then state, then kind ----
  await page.selectOption('select[name=device]', 'dev-003');
  await Promise.all([page.waitForNavigation(), page.click('form.filters button[type=submit]')]);
  const devs = await column(1);
  if (devs.length !== 10 || devs.some((d) => d !== 'dev-003'))
    fail('the device filter shows ' + JSON.stringify(devs));
  if (!page.url().includes('sort=days')) fail('filtering forgot the sort: ' + page.url());
  await page.selectOption('select[name=device]', '');
  await page.selectOption('select[name=state]', 'approval');
  await Promise.all([page.waitForNavigation(), page.click('form.filters button[type=submit]')]);
  const states = await column(9);
  if (!states.length || states.some((s) => s !== 'waiting for approval'))
    fail('the state filter shows ' + JSON.stringify(states.slice(0, 5)));
  await page.selectOption('select[name=state]', '');
  await page.selectOption('select[name=kind]', 'lamp');
  await Promise.all([page.waitForNavigation(), page.click('form.filters button[type=submit]')]);
  const lamps = await column(2);
  if (lamps.length !== total / 5 || lamps.some((p) => !p.startsWith('lamp-')))
    fail(`the kind filter shows ${lamps.length} rows: ` + JSON.stringify(lamps.slice(0, 5)));
  await csp('the filtered overview');

  // ---- the detail page ----
  r = await page.goto(info.base + info.detail, { waitUntil: 'load' });
  if (r.status() !== 200) fail('the detail page answered ' + r.status());
  figures.detail = await page.evaluate(() => {
    const n = performance.getEntriesByType('navigation')[0];
    return { ttfb_ms: n.responseStart - n.requestStart, html_bytes: n.encodedBodySize,
             load_ms: n.loadEventEnd - n.startTime };
  });
  const yLabels = await page.$$eval('svg.chart .yaxis text', (t) => t.map((x) => x.textContent));
  if (!yLabels.includes('0%') || !yLabels.includes('100%')) fail('no value axis: ' + yLabels);
  const xLabels = await page.$$eval('svg.chart .xaxis text', (t) => t.map((x) => x.textContent));
  if (xLabels.length < 3 || !xLabels.every((l) => /^\d{1,2} [A-Z][a-z]{2}$/.test(l)))
    fail('no date axis: ' + xLabels);
  for (const [sel, what] of [['svg.chart g.reorder line', 'reorder point'],
                             ['svg.chart g.orderby line', 'order-by (lead time) marker'],
                             ['svg.chart line.emptyline', 'empty line'],
                             ['svg.chart .pred', 'prediction'],
                             ['svg.chart g.repl line', 'replacement'],
                             ['svg.chart g.deliv line', 'delivery']])
    if (!(await page.locator(sel).count())) fail('the chart has no ' + what);
  const box = await page.locator('svg.chart').boundingBox();
  if (!box || box.width < 500 || box.height < 150) fail('the chart is too small: ' + JSON.stringify(box));
  const reorder = await page.textContent('svg.chart g.reorder text');
  if (!/reorder point \d+%/.test(reorder)) fail('the reorder point is not labelled: ' + reorder);
  if (!(await page.locator('#lines tbody tr').count())) fail('the detail page lists no orders');
  if (!(await page.locator('#audit tbody tr').count())) fail('the detail page has no audit trail');
  await page.screenshot({ path: join(outdir, 'detail.png'), fullPage: true });
  await csp('the detail page');
  figures.axe_detail_violations = await axe('the detail page');

  // ---- a phone: the overview scrolls inside its box, not the page ----
  await page.setViewportSize({ width: 390, height: 844 });
  await page.goto(info.base + '/?device=dev-001');
  const scrollW = await page.evaluate(() => document.documentElement.scrollWidth);
  if (scrollW > 390) fail('the overview scrolls sideways on a phone (' + scrollW + ' px)');
  await page.screenshot({ path: join(outdir, 'overview-phone.png'), fullPage: true });
  await csp('the overview on a phone');

  if (problems.length) fail(problems.join('\n'));
  writeFileSync(join(outdir, 'figures.json'), JSON.stringify(figures, null, 2) + '\n');
  console.log('figures: ' + JSON.stringify(figures));
  console.log('OK: overview of ' + total + ' consumables, sorting, filtering, detail chart, axe in ' +
              ((Date.now() - started) / 1000).toFixed(1) + ' s; screenshots in ' + outdir);
} finally {
  if (b) await b.close();
  gw.kill('SIGTERM');
}
