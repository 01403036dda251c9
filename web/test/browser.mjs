// Drives headless Chromium over the page of `exactly serve` (started by tests/web.rs, which
// passes its address in EXACTLY_URL). It loads the catalog, starts a run of one model file from
// the page and waits for it, opens one counterexample of each checker, checks that the diagram
// has one arrow per message step of the trace it fetched, and steps with the arrow keys.
// EXACTLY_MODEL=<family>/<stem> picks the model file (default handler/UpdateThenSend);
// EXACTLY_ALL=1 opens every model file's counterexamples instead of running one;
// EXACTLY_SCREENSHOT=<file> keeps a picture of the viewer.
import { chromium } from 'playwright-core';

const base = process.env.EXACTLY_URL;
const model = process.env.EXACTLY_MODEL || 'handler/UpdateThenSend';
const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';
if (!base) { console.error('browser test: set EXACTLY_URL'); process.exit(2); }

let failures = 0;
const check = (ok, what) => { console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}`); if (!ok) failures++; };

// The test's own reading of a message step (README, "Reading the viewer"): a step after which some
// envelope has fewer copies in flight than before; one arrow per copy that left.
function inFlight(state) {
  const m = new Map();
  const name = (v) => (v && typeof v === 'object' && 'model_value' in v ? v.model_value : v);
  const add = (e, n) => { const k = JSON.stringify([name(e.src), name(e.dst), e.msg]); m.set(k, (m.get(k) || 0) + n); };
  if (Array.isArray(state.network)) for (const e of state.network) add(e, e.copies ?? 1);
  if (state.net && Array.isArray(state.net.function)) for (const [e, n] of state.net.function) add(e, n);
  return m;
}
function expectedArrows(trace) {
  const perStep = [];
  for (let i = 1; i < trace.steps.length; i++) {
    const a = inFlight(trace.steps[i - 1].state), b = inFlight(trace.steps[i].state);
    let gone = 0;
    for (const [k, n] of a) gone += Math.max(0, n - (b.get(k) || 0));
    for (let j = 0; j < gone; j++) perStep.push(i);
  }
  return perStep;
}

const browser = await chromium.launch({ executablePath, headless: true, args: ['--no-sandbox'] });
try {
  const page = await browser.newPage({ viewport: { width: 1500, height: 950 } });
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));

  // The catalog: every family, every model file.
  await page.goto(base + '/');
  await page.waitForSelector('body[data-ready="yes"]');
  const catalog = await (await page.request.get(base + '/api/catalog')).json();
  for (const f of catalog.families) {
    check(await page.locator(`#family-${f.id}`).count() === 1, `catalog shows family ${f.id}`);
    for (const m of f.models) check(await page.locator(`tr[data-model="${m.path}"]`).count() === 1, `catalog lists ${m.path}`);
    // Claim files too, marked, without a Run button (hours: `make deep`).
    for (const m of f.claims) {
      const row = page.locator(`tr[data-model="${m.path}"]`);
      check(await row.count() === 1 && await row.locator('.claim').count() === 1 && await row.locator('button.run').count() === 0, `catalog lists claim file ${m.path}, marked`);
    }
  }

  let models = [model];
  if (process.env.EXACTLY_ALL) {
    models = catalog.families.flatMap((f) => f.models.map((m) => `${f.id}/${m.stem}`));
  } else {
    // Run the model file from the page and watch its progress until it ends.
    const [fam, stem] = model.split('/');
    await page.click(`tr[data-model="models/${fam}/${stem}.cfg"] button.run`);
    await page.waitForSelector('#run[data-state="running"], #run[data-state="done"]', { timeout: 10000 });
    check(true, `a run of ${model} started from the page`);
    const again = await page.request.post(`${base}/api/run?target=${encodeURIComponent(`models/${fam}/${stem}.cfg`)}`);
    check(again.status() === 429, `a second run while it goes is refused: ${again.status()}`);
    await page.waitForSelector('#run[data-state="done"]', { timeout: 300000 });
    const run = await (await page.request.get(base + '/api/run')).json();
    check(run.state === 'done' && Object.keys(run.codes).length === 2, `the run ended: ${JSON.stringify(run.codes)}`);
  }

  for (const m of models) {
    const [fam, stem] = m.split('/');
    const data = await (await page.request.get(`${base}/api/traces/${fam}/${stem}`)).json();
    const traces = ['stateright', 'tlc'].flatMap((c) => data[c]?.traces || []);
    const hash = `#/trace/${fam}/${stem}`;
    await page.goto(`${base}/${hash}`);
    await page.waitForFunction((h) => document.body.dataset.view === h && document.body.dataset.ready === 'yes', hash);
    await page.waitForFunction((n) => document.querySelectorAll('.tabs button').length === n, traces.length);
    for (const checker of ['stateright', 'tlc']) {
      const mine = traces.map((t, i) => [t, i]).filter(([t]) => t.checker === checker);
      if (!data[checker]) {
        if (process.env.EXACTLY_ALL) console.log(`skip ${m}: no ${checker} traces saved`);
        else check(false, `${m}: ${checker} traces saved`);
        continue;
      }
      if (!process.env.EXACTLY_ALL) check(mine.length > 0, `${m}: ${checker} has a counterexample`);
      for (const [t, i] of mine) {
        await page.click(`.tabs button[data-i="${i}"]`);
        const want = expectedArrows(t);
        const got = await page.$$eval('#diagram .arrow', (gs) => gs.map((g) => +g.dataset.step));
        check(JSON.stringify(got) === JSON.stringify(want) && want.length > 0,
          `${m}: ${checker} ${t.property}: ${got.length} arrows for ${want.length} message steps of ${t.steps.length - 1} steps`);
        if (!process.env.EXACTLY_ALL && t === mine[0][0]) {
          const current = () => page.$eval('#diagram .row.current', (g) => +g.dataset.step);
          check(await current() === 0, `${checker}: step 0 highlighted first`);
          await page.keyboard.press('ArrowRight');
          await page.keyboard.press('ArrowRight');
          check(await current() === 2, `${checker}: two presses of → highlight step 2`);
          await page.keyboard.press('ArrowLeft');
          check(await current() === 1, `${checker}: ← highlights step 1`);
          check(await page.$eval('#step-no', (e) => +e.textContent) === 1, `${checker}: the state panel shows step 1`);
          check(await page.locator('#state .changed').count() > 0, `${checker}: what step 1 changed is highlighted`);
          if (checker === 'stateright') {
            const href = await page.$eval('#explorer-link', (a) => a.href);
            const explorer = await page.request.get(href);
            check(explorer.ok() && explorer.url().includes('#/steps/'), `the Explorer link opens Stateright's Explorer at ${explorer.url()}`);
          }
          if (process.env.EXACTLY_SCREENSHOT && checker === 'stateright') {
            for (let k = 0; k < 8; k++) await page.keyboard.press('ArrowRight');
            await page.screenshot({ path: process.env.EXACTLY_SCREENSHOT });
          }
        }
      }
    }
  }
  check(errors.length === 0, `no script errors ${errors.join('; ')}`);
} finally {
  await browser.close();
}
console.log(failures ? `browser test: ${failures} failed` : 'browser test: all passed');
process.exit(failures ? 1 : 0);
