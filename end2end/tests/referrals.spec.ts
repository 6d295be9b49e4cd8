import { test, expect, Browser } from '@playwright/test';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { codeField, DEMO_PASSWORD, expectAccessible, expectNoHorizontalScroll, mailFor, signIn, totp } from '../support/helpers';

// The seed's scenario: partner 1 refers a resident to two programs of partner 2 with
// pre-consent; partner 2 gets the e-mail, works the referral and closes it; partner 1 sees the
// outcome; both dashboards count it. Then United Way's queues, with the clock moved forward.

const staff = { email: 'partner.staff@demo.wraparound.example', secret: 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXA' };
const hospital = { email: 'hospital.staff@demo.wraparound.example', secret: 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXC' };
const specialist = { email: 'referral.specialist@demo.wraparound.example', secret: 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXE' };

async function signedIn(browser: Browser, who: { email: string; secret: string }) {
  const context = await browser.newContext();
  const page = await context.newPage();
  await signIn(page, who);
  return { context, page };
}

test('refer a resident to two programs; the receiver works and closes it; both see it', async ({ browser }) => {
  // Partner 2 (the receiving organization) and its name.
  const receiver = await signedIn(browser, hospital);
  await expect(receiver.page).toHaveURL(/\/partner$/);

  const hrefs = (await receiver.page.getByTestId('listing').locator('a').evaluateAll((as) => as.map((a) => a.getAttribute('href')!))).slice(0, 2);
  expect(hrefs.length).toBe(2);

  // Partner 1 opens those two programs and refers Maria to both.
  const sender = await signedIn(browser, staff);
  await sender.page.goto('/search?q=formula&near=40601');
  await expect(sender.page.locator('.result-list > li').first()).toBeVisible();
  for (const href of hrefs) {
    await sender.page.goto(href);
    await sender.page.getByRole('button', { name: 'Refer someone to this program' }).click();
    await expect(sender.page).toHaveURL(/\/referrals\/new/);
  }
  await expect(sender.page.locator('form li.card')).toHaveCount(2);
  await expectAccessible(sender.page);
  await expectNoHorizontalScroll(sender.page);
  await sender.page.getByRole('textbox', { name: 'Name', exact: true }).fill('Maria Lopez');
  await sender.page.getByRole('textbox', { name: 'Date of birth', exact: true }).fill('1994-03-12');
  await sender.page.getByRole('textbox', { name: 'Phone', exact: true }).fill('502-555-0188');
  await sender.page.getByLabel('Best way to reach them').selectOption('text');
  await sender.page.getByLabel('Note for the receiving organization').fill('Working on her GED; needs formula and childcare.');
  await sender.page.getByLabel(/Someone new only: they agree/).check();
  await sender.page.getByRole('button', { name: 'Send referral' }).click();
  await expect(sender.page.getByRole('heading', { level: 1, name: 'Your referral summary' })).toBeVisible();
  await expect(sender.page.getByText('Referral sent.')).toBeVisible();
  await expect(sender.page.getByText('For Maria Lopez')).toBeVisible();
  await expect(sender.page.locator('li.card')).toHaveCount(2);
  // What happens next, for each program, and the hospital is on Wraparound.
  await expect(sender.page.getByText(/has your referral and will contact you by text message/)).toHaveCount(2);
  await expectAccessible(sender.page);
  await expectNoHorizontalScroll(sender.page);
  // Sent to Maria by text, as she asked: the fake carrier gets it.
  await sender.page.getByRole('button', { name: 'Send this to Maria by text message' }).click();
  await expect(sender.page.getByText('Sent to Maria by text message.')).toBeVisible();
  await expect.poll(async () => {
    const r = await fetch(`${process.env.E2E_SMS_URL}/messages.json`);
    const { messages } = await r.json();
    return messages.filter((m: { to: string; body: string }) => m.to === '+15025550188' && m.body.startsWith('Hi Maria.')).length;
  }, { timeout: 15_000 }).toBe(1);

  // Partner 2 gets an e-mail with a link and no resident details.
  const mail = await mailFor(hospital.email, /New referral/);
  expect(mail.body).not.toContain('Maria');
  const link = mail.body.match(/http:\/\/\S+\/referrals\/[0-9a-f-]{36}/)![0];
  await receiver.page.goto('/referrals/inbox');
  await expect(receiver.page.getByRole('link', { name: /New \(2\)/ })).toBeVisible();
  await expectAccessible(receiver.page);
  await receiver.page.goto(link);
  await expect(receiver.page.getByText('Maria Lopez')).toBeVisible();
  await expect(receiver.page.getByText('Working on her GED')).toBeVisible();
  await expectAccessible(receiver.page);
  await receiver.page.getByRole('button', { name: 'Accept' }).click();
  await expect(receiver.page.getByText('Saved.')).toBeVisible();
  await receiver.page.getByLabel('Reached the resident').check();
  await receiver.page.getByRole('button', { name: 'Record contact attempt' }).click();
  await expect(receiver.page.locator('.badge', { hasText: 'In progress' })).toBeVisible();
  await receiver.page.getByRole('button', { name: 'Close: resource provided' }).click();
  await expect(receiver.page.locator('.badge', { hasText: 'Resource provided' })).toBeVisible();

  // Partner 1 sees the outcome in the outbox; both dashboards count it.
  await sender.page.goto('/referrals/sent?status=closed');
  await expect(sender.page.locator('li.card').filter({ hasText: 'Resource provided' })).toHaveCount(1);
  // Counted where they belong: sent by one, received (and half closed) by the other.
  await sender.page.goto('/partner');
  await expect(sender.page.getByTestId('row-sent').locator('td').first()).toHaveText('2');
  await expectAccessible(sender.page);
  await receiver.page.goto('/partner');
  await expect(receiver.page.getByTestId('row-received').locator('td').first()).toHaveText('2');
  await expect(receiver.page.getByTestId('row-received-closed').locator('td').first()).toHaveText('1');
  await expect(receiver.page.getByTestId('dashboard-figures')).toContainText('50%');
  // The day's work comes first, with the count of new referrals (one still waits).
  await expect(receiver.page.getByTestId('partner-work')).toContainText('Referral inbox (1 new)');
  await expectAccessible(receiver.page);
  await sender.context.close();
  await receiver.context.close();
});

test('United Way works its queues when the clock moves on', async ({ browser }) => {
  const clock = path.resolve(process.env.E2E_MAIL_DIR!, '..', 'test-clock');
  fs.writeFileSync(clock, '15');
  try {
    const uw = await signedIn(browser, specialist);
    await expect(uw.page).toHaveURL(/\/united-way\/referrals/);
    await expect(uw.page.getByRole('heading', { level: 1, name: 'Referral support' })).toBeVisible();
    // The referral left open in the last test has waited more than a week at an onboarded partner.
    await expect(uw.page.getByRole('link', { name: /Waiting at partners \(1\)/ })).toBeVisible();
    await expectAccessible(uw.page);
    await uw.page.getByRole('combobox', { name: 'How' }).selectOption('phone');
    await uw.page.getByRole('textbox', { name: 'What happened' }).fill('Called the partner; they will call Maria today.');
    await uw.page.getByRole('button', { name: 'Log outreach' }).click();
    await expect(uw.page.getByText('Saved.')).toBeVisible();
    await expect(uw.page.getByText(/last outreach/)).toBeVisible();
    // The closed one is due for a resident follow-up two weeks on.
    await uw.page.getByRole('link', { name: /Resident follow-up \(1\)/ }).click();
    await uw.page.getByRole('textbox', { name: 'What happened' }).fill('Maria has formula; need met.');
    await uw.page.getByRole('button', { name: 'Log outreach' }).click();
    await expect(uw.page.getByRole('link', { name: /Resident follow-up \(0\)/ })).toBeVisible();
    await uw.context.close();
  } finally {
    fs.rmSync(clock, { force: true });
  }
});
