import { test, expect, Browser, Page } from '@playwright/test';
import { DEMO, expectAccessible, expectNoHorizontalScroll, signIn } from '../support/helpers';

// The partner's day and the resident's search page, as people use them on a phone and on a
// laptop (issue 10): big tap targets, a search bar that stays reachable, tables that fit the
// screen, every partner page in Spanish too, and axe-clean throughout.

const staff = { email: 'partner.staff@demo.wraparound.example', secret: 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXA' };
const specialist = { email: 'referral.specialist@demo.wraparound.example', secret: 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXE' };

async function signedIn(browser: Browser, who: { email: string; secret: string }, laptop = false) {
  const context = await browser.newContext(
    laptop ? { viewport: { width: 1280, height: 900 }, isMobile: false, hasTouch: false } : {},
  );
  const page = await context.newPage();
  await signIn(page, who);
  return { context, page };
}

async function tapTarget(page: Page, locator: ReturnType<Page['locator']>) {
  const box = await locator.boundingBox();
  expect(box, 'visible').not.toBeNull();
  expect(box!.height).toBeGreaterThanOrEqual(44);
}

test('the search page on a phone: sticky search, visible sort, whole cards, which filter emptied it', async ({ page }) => {
  await page.goto('/search?q=food&near=40601');
  const cards = page.locator('.result-list > li article');
  await expect(cards.first()).toBeVisible();
  await expectAccessible(page);
  // The whole card opens the program.
  await tapTarget(page, cards.first());
  await expect(page.getByRole('combobox', { name: 'Sort by' })).toBeVisible();
  // Scroll down: the search bar is still there.
  await page.mouse.wheel(0, 3000);
  await page.waitForTimeout(200);
  const bar = await page.locator('.search-bar').boundingBox();
  expect(bar!.y).toBeLessThanOrEqual(1);
  // A filter that leaves nothing says so and offers to drop it.
  await page.goto('/search?q=food&near=40601&language=so');
  await expect(page.getByText('No results in Soomaali')).toBeVisible();
  await page.getByRole('link', { name: /in any language\?/ }).click();
  await expect(cards.first()).toBeVisible();
  await expectAccessible(page);
  // The program page: directions and website are big enough to tap.
  await cards.first().locator('a.card-title').click();
  const directions = page.getByRole('link', { name: 'Get directions' });
  if (await directions.count()) await tapTarget(page, directions);
});

test('a partner on a laptop: the referral page in two columns, the audit table readable', async ({ browser }) => {
  const partner = await signedIn(browser, staff, true);
  await expect(partner.page.getByTestId('partner-work')).toBeVisible();
  await expect(partner.page.getByRole('button', { name: 'Sign out' })).toBeVisible();
  await expect(partner.page.getByText('No account needed')).toHaveCount(0);
  await expectAccessible(partner.page);
  await partner.page.goto('/referrals/sent');
  await expectAccessible(partner.page);
  await partner.context.close();

  const state = await signedIn(browser, DEMO.state, true);
  await state.page.goto('/state/audit');
  await expect(state.page.getByRole('combobox', { name: /kind of action|Action/ })).toBeVisible();
  // Dates sit on one line: an inline box has one client rectangle per line it spans.
  const when = state.page.getByTestId('audit-when').first();
  await expect.poll(() => when.evaluate((el) => el.getClientRects().length)).toBe(1);
  await expectAccessible(state.page);
  await state.context.close();
});

test('partner and United Way pages in Spanish, on a phone, axe-clean', async ({ browser }) => {
  const partner = await signedIn(browser, staff);
  await partner.page.goto('/partner?lang=es');
  await expect(partner.page.getByTestId('partner-work')).toContainText('Bandeja de envíos');
  await expectAccessible(partner.page);
  await expectNoHorizontalScroll(partner.page);
  await partner.page.goto('/referrals/inbox');
  await expect(partner.page.getByRole('heading', { level: 1 })).not.toHaveText('Referral inbox');
  await expectAccessible(partner.page);
  await partner.context.close();

  const uw = await signedIn(browser, specialist);
  await uw.page.goto('/united-way/referrals?lang=es');
  await expect(uw.page.getByRole('heading', { level: 1 })).not.toHaveText('Referral support');
  await expectAccessible(uw.page);
  await expectNoHorizontalScroll(uw.page);
  await uw.context.close();
});
