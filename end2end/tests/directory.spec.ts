import { test, expect } from '@playwright/test';
import { expectAccessible, expectNoHorizontalScroll } from '../support/helpers';

// A resident on a phone: find help, narrow it down, read a program, pass it on.

test('keyword and ZIP search, filter, program page, its three sections, and a shared link', async ({ page, browser }) => {
  await page.goto('/');
  await expect(page.getByRole('heading', { level: 1, name: 'Find help near you' })).toBeVisible();
  await expectAccessible(page);
  await expectNoHorizontalScroll(page);

  await page.getByLabel('What do you need help with?').fill('baby formula');
  await page.getByLabel('Near').fill('40601');
  await page.getByRole('button', { name: 'Search', exact: true }).click();

  await expect(page).toHaveURL(/\/search\?q=baby(\+|%20)formula&near=40601/);
  await expect(page.getByRole('heading', { level: 1 })).toContainText('baby formula');
  await expect(page.locator('#results-summary')).toContainText('near 40601');
  const results = page.locator('.result-list > li');
  await expect(results.first()).toBeVisible();
  await expectAccessible(page);
  await expectNoHorizontalScroll(page);

  // Only free programs, from the filters (a plain GET form).
  await page.locator('summary', { hasText: 'Filters' }).click();
  await page.getByLabel('Free', { exact: true }).check();
  await page.getByRole('button', { name: 'Update results' }).click();
  await expect(page).toHaveURL(/free=1/);
  await expect(results.first()).toBeVisible();
  for (const card of await results.all()) {
    await expect(card.getByText('Free', { exact: true })).toBeVisible();
  }

  await results.first().getByRole('link').first().click();
  await expect(page).toHaveURL(/\/programs\/[0-9a-f-]{36}$/);
  const name = (await page.getByRole('heading', { level: 1 }).textContent())!.trim();
  for (const section of ['What it costs', 'Hours', 'Call or visit']) {
    await expect(page.getByRole('heading', { name: section, exact: true })).toBeVisible();
  }
  for (const section of ['Other services at this location', 'Related services', 'Frequently paired together']) {
    await expect(page.getByRole('heading', { level: 2, name: section })).toBeVisible();
  }
  await expect(page.locator('a[href^="tel:"]').first()).toBeVisible();
  await expect(page.getByRole('link', { name: 'Get directions' })).toHaveAttribute('href', /google\.com\/maps\/dir/);
  await expectAccessible(page);
  await expectNoHorizontalScroll(page);

  // The share page: every fallback is there, and the short link works for someone else.
  await page.getByRole('link', { name: 'All ways to share' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Share this with someone' })).toBeVisible();
  await expect(page.getByRole('link', { name: 'Send a text message' })).toHaveAttribute('href', /^sms:/);
  await expect(page.getByRole('link', { name: 'Send an email' })).toHaveAttribute('href', /^mailto:/);
  await expect(page.getByRole('img', { name: /QR code/ })).toBeVisible();
  await expect(page.getByRole('button', { name: 'Copy link' })).toBeVisible(); // the island woke up
  await expectAccessible(page);
  const shortLink = await page.getByLabel('Link to this page').inputValue();
  expect(shortLink).toMatch(/\/s\/[0-9a-z]{12}$/);

  const friend = await browser.newContext({ javaScriptEnabled: false });
  const friendPage = await friend.newPage();
  const response = await friendPage.goto(shortLink);
  expect(response!.status()).toBe(200);
  await expect(friendPage.getByRole('heading', { level: 1 })).toHaveText(name);
  await expect(friendPage).toHaveTitle(new RegExp(name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
  await expect(friendPage.locator('meta[property="og:title"]')).toHaveAttribute('content', new RegExp(`^${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
  await expect(friendPage.locator('meta[property="og:url"]')).toHaveAttribute('content', shortLink);
  await friend.close();
});

test('browse by category', async ({ page }) => {
  await page.goto('/');
  await page.getByRole('link', { name: 'Food', exact: true }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Food' })).toBeVisible();
  await expectAccessible(page);
  await page.getByRole('link', { name: 'Food pantries' }).click();
  await expect(page).toHaveURL(/category=food-pantries/);
  await expect(page.getByRole('heading', { level: 1, name: 'Food pantries' })).toBeVisible();
  await expect(page.locator('.result-list > li').first()).toBeVisible();
  // Adding a place narrows it to what is near.
  await page.getByLabel('Near').fill('Bowling Green');
  await page.getByRole('button', { name: 'Search', exact: true }).click();
  await expect(page.locator('#results-summary')).toContainText('Bowling Green');
  await expect(page.locator('.result-list > li').first()).toContainText(/mi away|Serves your area|locations, nearest/);
});

test('the same search works with JavaScript turned off', async ({ browser }) => {
  const context = await browser.newContext({ javaScriptEnabled: false, viewport: { width: 360, height: 780 } });
  const page = await context.newPage();
  await page.goto('/');
  await page.getByLabel('What do you need help with?').fill('baby formula');
  await page.getByLabel('Near').fill('40601');
  await page.getByRole('button', { name: 'Search', exact: true }).click();
  await expect(page).toHaveURL(/\/search\?/);
  const results = page.locator('.result-list > li');
  await expect(results.first()).toBeVisible();
  // Pages and filters are links and forms.
  await page.locator('summary', { hasText: 'Filters' }).click();
  await page.getByLabel('Open now').check();
  await page.getByLabel('Free', { exact: true }).check();
  await page.getByRole('button', { name: 'Update results' }).click();
  await expect(page).toHaveURL(/open_now=1/);
  await page.goto('/search?category=food-pantries&near=40601');
  await results.first().getByRole('link').first().click();
  await expect(page.getByRole('heading', { level: 2, name: 'Related services' })).toBeVisible();
  // Without JavaScript the share buttons stay hidden; the share page link does the job.
  await expect(page.getByRole('button', { name: 'Copy link' })).toBeHidden();
  await expect(page.getByRole('link', { name: 'All ways to share' })).toBeVisible();
  await context.close();
});

test('Spanish by link, remembered on the next page', async ({ page }) => {
  await page.goto('/?lang=es');
  await expect(page.getByRole('heading', { level: 1, name: 'Encuentre ayuda cerca de usted' })).toBeVisible();
  await expect(page.locator('html')).toHaveAttribute('lang', 'es');
  await page.getByRole('link', { name: 'Comida', exact: true }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Comida' })).toBeVisible();
  await expectAccessible(page);
  await page.getByRole('link', { name: 'English' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Food' })).toBeVisible();
});

test('a browser that prefers Spanish gets Spanish', async ({ browser }) => {
  const context = await browser.newContext({ locale: 'es-MX' });
  const page = await context.newPage();
  await page.goto('/');
  await expect(page.getByRole('heading', { level: 1, name: 'Encuentre ayuda cerca de usted' })).toBeVisible();
  await context.close();
});

test('bad search input gets a plain message and a 4xx, never a server error', async ({ page }) => {
  const cases = [
    `/search?q=${'x'.repeat(5000)}`,
    "/search?q=food'%20OR%201=1--&near=40601",
    '/search?near=4060',
    '/search?near=%3Cscript%3Ealert(1)%3C/script%3E',
    '/search?radius=-5',
    '/search?page=-1',
    '/search?category=unicorns',
    '/search?lat=NaN&lon=1',
  ];
  for (const url of cases) {
    const response = await page.goto(url);
    const status = response!.status();
    expect(status, url).toBeLessThan(500);
    if (status >= 400) {
      await expect(page.getByRole('alert')).toContainText('Please check your search');
    }
    await expect(page.locator('body')).not.toContainText(/panic|stack|sqlx|syntax error/i);
  }
  const missing = await page.goto('/programs/00000000-0000-0000-0000-000000000000');
  expect(missing!.status()).toBe(404);
  const nowhere = await page.goto('/no/such/page');
  expect(nowhere!.status()).toBe(404);
  await expect(page.getByRole('heading', { level: 1 })).toHaveText("We couldn't find that page");
});
