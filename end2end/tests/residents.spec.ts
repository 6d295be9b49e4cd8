import { test, expect, Browser, Page } from '@playwright/test';
import {
  LAPTOP, expectAccessible, expectNoHorizontalScroll, signIn, signInAtProvider, textFor,
} from '../support/helpers';

// Residents own their data (issue 11), as people live it: the seed's Amy Brand story from the
// partner's laptop and Amy's phone, a resident connecting to a program herself, and United Way
// merging two records of one person and undoing it. axe-clean on every page on the way.

const staff = { email: 'partner.staff@demo.wraparound.example', secret: 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXA' };
const hospital = { email: 'hospital.staff@demo.wraparound.example', secret: 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXC' };
const specialist = { email: 'referral.specialist@demo.wraparound.example', secret: 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXE' };
const stamp = Date.now().toString(36);

async function partnerOn(browser: Browser, who: { email: string; secret: string }, laptop: boolean) {
  const context = await browser.newContext(laptop ? LAPTOP : {});
  const page = await context.newPage();
  await signIn(page, who);
  return { context, page };
}

async function check(page: Page) {
  await expectAccessible(page);
  await expectNoHorizontalScroll(page);
}

/** A resident signs in through the state identity provider's stand-in. */
async function residentSignsIn(page: Page, login: string) {
  await page.goto('/sign-in');
  await check(page);
  await page.getByRole('link', { name: /^Sign in with / }).click();
  await signInAtProvider(page, login);
}

/** The one-time code in the newest text to `to`. */
async function codeTextedTo(to: string, re: RegExp): Promise<string> {
  const body = await textFor(to, re);
  return body.match(/\b(\d{6})\b/)![1];
}

test('Amy Brand: found nowhere, added, asked by text, agrees; her screen, household, note, referral; she signs in, sees who opened her data, takes consent back', async ({ browser }) => {
  const amyPhone = '+12705550142';
  const partner = await partnerOn(browser, staff, true);
  const p = partner.page;

  // No match anywhere: the partner adds her, without consent yet.
  await p.goto('/residents?q=Amy%20Brand');
  await expect(p.getByText('Nobody found for “Amy Brand”.')).toBeVisible();
  await check(p);
  await p.getByRole('link', { name: 'Add a resident' }).click();
  await check(p);
  await p.getByRole('textbox', { name: 'Name', exact: true }).fill('Amy Brand');
  await p.getByLabel('Date of birth').fill('1990-04-02');
  await p.getByRole('textbox', { name: 'Phone', exact: true }).fill('270-555-0142');
  await p.getByLabel('Best way to reach them').selectOption('text');
  await p.getByRole('textbox', { name: 'Address' }).fill('12 Elm St, Bowling Green, KY 42101');
  await p.getByRole('button', { name: 'Add a resident' }).click();
  await expect(p.getByText('The resident was added.')).toBeVisible();
  const amyUrl = p.url().split('?')[0];
  // Without her consent the partner sees only what helping needs.
  await expect(p.getByRole('heading', { level: 1, name: 'Amy' })).toBeVisible();
  await expect(p.getByText('Brand')).toHaveCount(0);
  await check(p);

  // A consent request by text: a one-time link, then a code to the same phone.
  await p.getByRole('button', { name: 'Send a consent request' }).click();
  await expect(p.getByText('The consent request was sent.')).toBeVisible();
  const request = await textFor(amyPhone, /asks to see your profile/);
  const link = request.match(/http:\/\/\S+\/consent\/\S+/)![0];
  const amyPhoneContext = await browser.newContext();
  const amy = await amyPhoneContext.newPage();
  await amy.goto(link);
  await expect(amy.getByRole('heading', { level: 1, name: 'Share your profile?' })).toBeVisible();
  await check(amy);
  await amy.getByRole('button', { name: 'Send me a code' }).click();
  await expect(amy.getByText('We sent a code to your phone.')).toBeVisible();
  const code = await codeTextedTo(amyPhone, /Your code is/);
  await amy.getByLabel('The code we sent you').fill(code);
  await amy.getByRole('button', { name: 'Yes, share my profile' }).click();
  await expect(amy.getByText(/can now see your profile to help you/)).toBeVisible();
  await check(amy);

  // The Resident Detail Screen: her record, quick actions, household, notes.
  await p.goto(amyUrl);
  await expect(p.getByRole('heading', { level: 1, name: 'Amy Brand' })).toBeVisible();
  await expect(p.getByTestId('consent-status')).toContainText('has consent since');
  await expect(p.getByRole('navigation', { name: 'Quick actions' })).toBeVisible();
  await check(p);
  const household = p.locator('#household');
  await household.getByRole('textbox', { name: 'Name' }).fill('Liam Brand');
  await household.getByRole('textbox', { name: /^Relationship/ }).fill('Son');
  await household.getByLabel('Date of birth').fill('2025-09-14');
  await household.getByRole('button', { name: 'Add to household' }).click();
  await expect(p.locator('#household').getByText('Liam Brand', { exact: true })).toBeVisible();
  await p.locator('#add-note').getByLabel('What happened').fill('Working on her GED; needs formula and child care for Liam.');
  await p.locator('#add-note').getByRole('button', { name: 'Add note' }).click();
  await expect(p.locator('#notes').getByText('Working on her GED')).toBeVisible();
  await check(p);

  // On a phone the same screen is one column with the quick actions first.
  const onPhone = await partner.context.browser()!.newContext();
  await onPhone.addCookies(await partner.context.cookies());
  const phonePage = await onPhone.newPage();
  await phonePage.goto(amyUrl);
  await expect(phonePage.getByRole('heading', { level: 1, name: 'Amy Brand' })).toBeVisible();
  const actions = await phonePage.getByRole('navigation', { name: 'Quick actions' }).boundingBox();
  const activity = await phonePage.getByRole('heading', { name: 'Referral activity' }).boundingBox();
  expect(actions!.y).toBeLessThan(activity!.y);
  await check(phonePage);
  await onPhone.close();

  // Refer her from her screen: find a program, add it, send.
  await p.getByRole('link', { name: 'Refer to a program' }).click();
  await expect(p).toHaveURL(/\/referrals\/new/);
  await check(p);
  await p.goto('/search?q=formula&near=42101');
  await p.locator('.result-list > li a[href^="/programs/"]').first().click();
  const program = (await p.getByRole('heading', { level: 1 }).textContent())!.trim();
  await p.getByRole('button', { name: 'Refer someone to this program' }).click();
  await expect(p).toHaveURL(/\/referrals\/new/);
  await expect(p.getByText('For Amy.')).toBeVisible();
  await p.getByRole('button', { name: 'Send referral' }).click();
  await expect(p.getByText('Referral sent.')).toBeVisible();
  await check(p);
  await p.goto(amyUrl);
  await expect(p.locator('#activity').getByText(program).first()).toBeVisible();

  // Amy signs in on her phone with the state account, links her record with a code, and sees
  // her plan: the referral, who can see her profile, who opened her data.
  await residentSignsIn(amy, `amy.brand.${stamp}@kog.example`);
  await amy.goto('/my-plan');
  await check(amy);
  await amy.getByRole('link', { name: 'Link my record' }).click();
  await check(amy);
  await amy.getByLabel(/Your phone or e-mail/).fill('270-555-0142');
  await amy.getByRole('button', { name: 'Send me a code' }).click();
  const linkCode = await codeTextedTo(amyPhone, /code is \d{6}\. If you did not ask/);
  await amy.getByLabel(/^Code/).fill(linkCode);
  await amy.getByRole('button', { name: 'Link my record' }).click();
  await expect(amy.getByText('Your plan is linked to your record.')).toBeVisible();
  await expect(amy.locator('#referrals, section').filter({ hasText: 'My referrals' }).getByText(program).first()).toBeVisible();
  const holdings = amy.locator('section').filter({ hasText: 'Who can see my profile' });
  const organization = (await p.evaluate(() => document.body.innerText.match(/(.+) has consent since/)?.[1] ?? '')).trim();
  expect(organization).not.toBe('');
  await expect(holdings.getByText(organization).first()).toBeVisible();
  const opened = amy.locator('section').filter({ hasText: 'Who opened my data' });
  await expect(opened.getByText(organization).first()).toBeVisible();
  await check(amy);

  // She takes consent back; on the partner's next request the profile is closed.
  await amy.getByRole('button', { name: `Stop sharing with ${organization}` }).click();
  await expect(amy.getByText('Done. That organization can no longer see your profile.')).toBeVisible();
  await check(amy);
  await p.goto(amyUrl);
  await expect(p.getByRole('heading', { level: 1, name: 'Amy' })).toBeVisible();
  await expect(p.getByText('Brand')).toHaveCount(0);
  await expect(p.getByText('Liam')).toHaveCount(0);
  await check(p);
  await amyPhoneContext.close();
  await partner.context.close();
});

test('a resident saves a program signed out, keeps it when she signs in, and asks the program to contact her', async ({ browser }) => {
  // A program of an onboarded demo organization (the hospital's), as its listing shows it.
  const receiver = await partnerOn(browser, hospital, false);
  const href = await receiver.page.getByTestId('listing').locator('a').first().getAttribute('href');
  expect(href).toMatch(/^\/programs\//);

  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(href!);
  const program = (await page.getByRole('heading', { level: 1 }).textContent())!.trim();
  await page.getByRole('button', { name: 'Save to My Plan' }).click();
  await expect(page.getByText('Saved.')).toBeVisible();
  await check(page);
  await page.goto('/my-plan');
  await expect(page.getByRole('link', { name: program })).toBeVisible();
  await check(page);
  await page.getByRole('link', { name: 'Sign in to keep my plan' }).click();
  await page.getByRole('link', { name: /^Sign in with / }).click();
  await signInAtProvider(page, `jo.resident.${stamp}@kog.example`);
  await page.goto('/my-plan');
  await expect(page.getByRole('link', { name: program })).toBeVisible();

  // New here: she starts her own record, then asks the program to contact her.
  await page.getByRole('link', { name: 'Link my record' }).click();
  await check(page);
  const own = page.locator('form').filter({ hasText: 'Start my plan' });
  await own.getByRole('textbox', { name: 'Phone' }).fill('606-555-0177');
  await own.getByLabel('Best way to reach them').selectOption('text');
  await page.getByRole('button', { name: 'Start my plan' }).click();
  await expect(page.getByText('Your record is ready.')).toBeVisible();
  await check(page);
  await page.goto(href!);
  await page.getByRole('button', { name: 'Ask them to contact me' }).click();
  await expect(page.getByText('Done. The program will contact you the way you asked.')).toBeVisible();
  await expect(page.locator('section').filter({ hasText: 'My referrals' }).getByText(program).first()).toBeVisible();
  await check(page);

  // The receiving organization works it like any other referral.
  await receiver.page.goto('/referrals/inbox');
  await expect(receiver.page.locator('li.card, tr').filter({ hasText: program }).first()).toBeVisible();
  await check(receiver.page);
  await context.close();
  await receiver.context.close();
});

test('United Way merges two records of one person after review, and undoes the merge', async ({ browser }) => {
  const name = `Dana Whitfield ${stamp}`;
  const partner = await partnerOn(browser, staff, false);
  const p = partner.page;
  const add = async (phone: string) => {
    await p.goto('/residents/new');
    await p.getByRole('textbox', { name: 'Name', exact: true }).fill(name);
    await p.getByLabel('Date of birth').fill('1979-11-23');
    await p.getByRole('textbox', { name: 'Phone', exact: true }).fill(phone);
    await p.getByLabel(/I read this to them and they agreed/).check();
    await p.getByRole('button', { name: 'Add a resident' }).click();
    if (await p.getByText('None of these is the person: add a new record').count()) {
      // The first record is shown as a possible match; the partner goes on anyway.
      await check(p);
      await p.getByLabel('None of these is the person: add a new record').check();
      await p.getByRole('button', { name: 'Add a resident' }).click();
    }
    await expect(p.getByText('The resident was added.')).toBeVisible();
    return p.url().split('?')[0];
  };
  await add('859-555-0131');
  const second = await add('859-555-0132');

  const uw = await partnerOn(browser, specialist, false);
  await uw.page.goto('/united-way/duplicates');
  await expect(uw.page.getByRole('heading', { level: 1, name: 'Possible duplicate records' })).toBeVisible();
  await check(uw.page);
  // Keep the record with the first number; the other is retired.
  const pair = uw.page.locator('li, article, .card').filter({ hasText: name }).filter({ has: uw.page.getByRole('button', { name: 'Merge, keep the first record' }) }).first();
  await pair.getByLabel('Why they are the same person').fill('Same name and date of birth; she confirmed both numbers are hers.');
  const firstColumn = await pair.getByRole('heading', { name: 'First record' }).locator('..').innerText();
  const keep = firstColumn.replace(/\D/g, '').includes('8595550131') ? 'first' : 'second';
  await pair.getByRole('button', { name: `Merge, keep the ${keep} record` }).click();
  await expect(uw.page.getByText('The records were merged.')).toBeVisible();
  await check(uw.page);

  // The retired record points to the one that survived.
  await p.goto(second);
  await expect(p.getByText('This record was merged into another one.')).toBeVisible();
  await check(p);

  await uw.page.getByRole('button', { name: 'Undo this merge' }).first().click();
  await expect(uw.page.getByText('The merge was undone.')).toBeVisible();
  await p.goto(second);
  await expect(p.getByRole('heading', { level: 1, name })).toBeVisible();
  await uw.context.close();
  await partner.context.close();
});
