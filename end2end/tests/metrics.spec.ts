import { test, expect } from '@playwright/test';
import { DEMO, LAPTOP, expectAccessible, expectNoHorizontalScroll, signIn } from '../support/helpers';

// Metrics (issue 13): a state administrator opens the statewide figures, filters by county and
// downloads them as CSV; a chapter reviewer sees only their chapter's counties, never the
// state's page. axe-clean, on a laptop and on a phone.

test('a state administrator opens the metrics, filters by county and downloads the CSV', async ({ browser }) => {
  const context = await browser.newContext(LAPTOP);
  const page = await context.newPage();
  await signIn(page, DEMO.state);
  await page.goto('/state/metrics');
  await expect(page.getByRole('heading', { level: 1, name: 'Statewide metrics' })).toBeVisible();
  await expect(page.getByTestId('created-all')).toHaveText(/^[\d,]+$/);
  await expect(page.locator('svg[role="img"]').first()).toBeVisible();
  await expectAccessible(page);
  await page.getByLabel('County').selectOption('Warren');
  await page.getByRole('button', { name: 'Show' }).click();
  await expect(page).toHaveURL(/county=Warren/);
  await expect(page.getByLabel('County')).toHaveValue('Warren');
  await expectAccessible(page);
  const download = page.waitForEvent('download');
  await page.getByRole('link', { name: 'Download every figure (CSV)' }).click();
  const file = await download;
  expect(file.suggestedFilename()).toMatch(/^wraparound-metrics-\d{4}\.csv$/);
  const csv = await (await file.createReadStream())!.toArray();
  expect(Buffer.concat(csv).toString('utf8')).toMatch(/^figure,label,value\n"M1","created all time",/);
  await context.close();
});

test('a chapter reviewer sees their counties only, on a phone', async ({ page }) => {
  await signIn(page, DEMO.reviewer);
  await page.goto('/united-way/metrics');
  await expect(page.getByRole('heading', { level: 1, name: 'Metrics for your counties' })).toBeVisible();
  await expect(page.getByLabel('United Way chapter')).toHaveCount(0);
  await expectAccessible(page);
  await expectNoHorizontalScroll(page);
  const state = await page.goto('/state/metrics');
  expect(state!.status()).toBe(403);
});

test("a state administrator opens last month's incentive report and prints it", async ({ browser }) => {
  const context = await browser.newContext(LAPTOP);
  const page = await context.newPage();
  await signIn(page, DEMO.state);
  await page.goto('/state/incentives');
  await expect(page.getByRole('heading', { level: 1, name: 'Community Partner incentives' })).toBeVisible();
  await expectAccessible(page);
  const make = page.getByRole('button', { name: /^Make the report for / });
  if (await make.count()) await make.click();
  else await page.locator('a[href^="/state/incentives/"]').first().click();
  await expect(page.getByRole('heading', { level: 1, name: /^Incentive report, / })).toBeVisible();
  await expect(page.getByTestId('report-total')).toContainText('$');
  await expectAccessible(page);
  await page.emulateMedia({ media: 'print' });
  await expect(page.getByRole('link', { name: 'Download as CSV' })).toBeHidden();
  await expect(page.getByTestId('report-total')).toBeVisible();
  await context.close();
});

test('a state administrator sees where the directory comes from, on a phone', async ({ page }) => {
  await signIn(page, DEMO.state);
  await page.goto('/state/directory');
  await expect(page.getByRole('heading', { level: 1, name: 'Directory sources' })).toBeVisible();
  await expect(page.getByRole('heading', { level: 3, name: /^ky-demo, import #\d+$/ })).toBeVisible();
  await expect(page.getByText(/\d+ rejected rows/).first()).toBeVisible();
  await expectAccessible(page);
  await expectNoHorizontalScroll(page);
});
