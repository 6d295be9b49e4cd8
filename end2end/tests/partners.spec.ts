import { test, expect, Page, Browser } from '@playwright/test';
import {
  DEMO, codeField, expectAccessible, expectNoHorizontalScroll, mailFor, nextCodeWindow, signIn, signInAtProvider, totp,
} from '../support/helpers';

// Onboarding a Community Partner, end to end: claim → chapter review → invitation e-mail (from
// a real SMTP server) → account through a real OpenID Connect provider → MFA → training →
// agreement → partner dashboard.

const stamp = Date.now().toString(36);

/** Opens a program in a county reviewed by the demo reviewer's chapter, whose organization has
 * not been claimed yet, and returns the claim page URL and organization name. */
async function claimableOrganization(page: Page, skip = 0): Promise<{ claimUrl: string; org: string }> {
  await page.goto('/search?q=food&near=41501');
  const links = page.locator('.result-list > li a[href^="/programs/"]');
  await expect(links.first()).toBeVisible();
  const hrefs = await links.evaluateAll((as) => as.map((a) => a.getAttribute('href')!));
  let seen = 0;
  for (const href of hrefs) {
    await page.goto(href);
    const claim = page.getByRole('link', { name: 'Claim this site' });
    if ((await claim.count()) === 0) continue;
    if (seen++ < skip) continue;
    const org = (await page.locator('text=/^Offered by /').first().textContent())!.replace(/^Offered by /, '').trim();
    return { claimUrl: (await claim.getAttribute('href'))!, org };
  }
  throw new Error('no claimable organization near 41501');
}

async function fileClaim(page: Page, claimUrl: string, email: string) {
  await page.goto(claimUrl);
  await expect(page.getByRole('heading', { level: 1, name: 'Claim this site' })).toBeVisible();
  await expectAccessible(page);
  await expectNoHorizontalScroll(page);
  await page.getByLabel('Your name').fill('Jordan Claimant');
  await page.getByLabel('Work e-mail').fill(email);
  await page.getByLabel('Phone').fill('606-555-0142');
  await page.getByLabel('Your job title').fill('Program director');
  await page.getByLabel('Nonprofit').check();
  await page.getByRole('button', { name: 'Send claim for review' }).click();
  // The claimant's address is confirmed first: nothing reaches United Way until then.
  await expect(page.getByRole('heading', { level: 1, name: 'Check your e-mail' })).toBeVisible();
  await expectAccessible(page);
  const confirm = await mailFor(email, /Confirm your claim/);
  expect(confirm.body).not.toContain('Jordan');
  const link = confirm.body.match(/http:\/\/\S+\/claims\/confirm\/\S+/)![0];
  await page.goto(link);
  await expect(page.getByRole('heading', { level: 1, name: 'Confirm your claim' })).toBeVisible();
  await expectAccessible(page);
  await page.getByRole('button', { name: 'Confirm my claim' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Your claim was sent' })).toBeVisible();
  await expect(page.getByText('United Way of Kentucky will review your claim')).toBeVisible();
  await mailFor(email, /We received your claim/);
}

async function review(browser: Browser, org: string, decide: (page: Page) => Promise<void>) {
  const context = await browser.newContext();
  const page = await context.newPage();
  await signIn(page, DEMO.reviewer);
  await expect(page).toHaveURL(/\/united-way\/claims/);
  await expect(page.getByRole('heading', { level: 1, name: 'Claims to review' })).toBeVisible();
  await expectAccessible(page);
  await page.getByRole('link', { name: org }).first().click();
  await expect(page.getByRole('heading', { level: 1, name: 'Review a claim' })).toBeVisible();
  await expectAccessible(page);
  await decide(page);
  await context.close();
}


test('claim, approval, invitation, identity provider account, MFA, training, agreement, dashboard', async ({ browser, page }) => {
  const claimant = `claimant-${stamp}@partner.example`;
  const { claimUrl, org } = await claimableOrganization(page);
  await fileClaim(page, claimUrl, claimant);

  await review(browser, org, async (p) => {
    await p.getByRole('button', { name: 'Approve and send invitation' }).click();
    await expect(p.getByText('Claim approved.')).toBeVisible();
  });

  const invitation = await mailFor(claimant, /Your invitation/);
  const idpLink = invitation.body.match(/http:\/\/\S+\?via=idp/)![0];

  // The identity must prove the invited address: another account at the provider is refused.
  const stranger = await browser.newContext();
  const wrongPerson = await stranger.newPage();
  await wrongPerson.goto(idpLink);
  await signInAtProvider(wrongPerson, `someone-else-${stamp}@kog.example`);
  await expect(wrongPerson.getByRole('alert')).toContainText('does not have the e-mail address this invitation was sent to');
  await stranger.close();

  const context = await browser.newContext();
  const partner = await context.newPage();
  await partner.goto(idpLink);
  await signInAtProvider(partner, claimant);

  // Final onboarding, step 1: MFA.
  await expect(partner).toHaveURL(/\/onboarding\/mfa/);
  await expect(partner.getByRole('heading', { level: 1, name: 'Set up your sign-in code' })).toBeVisible();
  await expectAccessible(partner);
  await expectNoHorizontalScroll(partner);
  // Partner pages are out of reach until onboarding is finished.
  const early = await partner.request.get('/partner', { maxRedirects: 0 });
  expect(early.status()).toBe(303);
  const secret = (await partner.getByTestId('mfa-secret').getAttribute('data-secret'))!;
  await codeField(partner).fill('000000' === totp(secret) ? '111111' : '000000');
  await partner.getByRole('button', { name: 'Confirm' }).click();
  await expect(partner.getByRole('alert')).toContainText('That code did not work');
  await codeField(partner).fill(totp(secret));
  await partner.getByRole('button', { name: 'Confirm' }).click();
  await expect(partner.getByRole('heading', { level: 1, name: 'Your recovery codes' })).toBeVisible();
  await expect(partner.getByTestId('recovery-codes').locator('li')).toHaveCount(10);
  await partner.getByRole('link', { name: 'Continue' }).click();

  // Step 2: training with a check.
  await expect(partner.getByRole('heading', { level: 1, name: 'Short training' })).toBeVisible();
  await expectAccessible(partner);
  await partner.getByLabel('Any time it would help them').check();
  await partner.getByLabel('Close it with what really happened: resource provided, or not and why').check();
  await partner.getByLabel('Only I use my sign-in and my authenticator').check();
  await partner.getByRole('button', { name: 'Check my answers' }).click();
  await expect(partner.getByRole('alert')).toContainText('Not quite');
  await partner.getByLabel('Only when the resident has agreed, and I record how they agreed').check();
  await partner.getByLabel('Close it with what really happened: resource provided, or not and why').check();
  await partner.getByLabel('Only I use my sign-in and my authenticator').check();
  await partner.getByRole('button', { name: 'Check my answers' }).click();

  // Step 3: the user agreement.
  await expect(partner.getByRole('heading', { level: 1, name: 'User agreement' })).toBeVisible();
  await expectAccessible(partner);
  await partner.getByLabel('I have read the user agreement and I accept it').check();
  await partner.getByRole('button', { name: 'Accept and finish' }).click();

  await expect(partner).toHaveURL(/\/partner$/);
  await expect(partner.getByRole('heading', { level: 1, name: org })).toBeVisible();
  await expect(partner.getByText('Partner', { exact: true })).toBeVisible();
  await expect(partner.getByText(/Community Partner since/)).toBeVisible();
  await expectAccessible(partner);
  await expectNoHorizontalScroll(partner);

  // Signing in again through the provider asks for the code; a wrong code is refused.
  // Signing out is in the header of every partner page.
  await partner.getByRole('banner').getByRole('button', { name: 'Sign out' }).click();
  await expect(partner.getByText('You are signed out.')).toBeVisible();
  // A new browser, so the provider asks again too.
  const again = await browser.newContext();
  const returning = await again.newPage();
  await returning.goto('/sign-in');
  await returning.getByRole('link', { name: /Sign in with/ }).click();
  await signInAtProvider(returning, claimant);
  await expect(returning).toHaveURL(/\/sign-in\/code/);
  await expectAccessible(returning);
  await codeField(returning).fill('123456' === totp(secret) ? '654321' : '123456');
  await returning.getByRole('button', { name: 'Verify' }).click();
  await expect(returning.getByRole('alert')).toContainText('That code did not work');
  await nextCodeWindow(returning);
  await codeField(returning).fill(totp(secret));
  await returning.getByRole('button', { name: 'Verify' }).click();
  await expect(returning).toHaveURL(/\/partner$/);

  // The directory now shows the organization as a partner, and no longer offers to claim it.
  await returning.goto(claimUrl);
  await expect(returning.getByText('This organization is already a Community Partner.')).toBeVisible();
  await again.close();
  await context.close();
});

test('a denied claim e-mails the claimant the reason', async ({ browser, page }) => {
  const claimant = `denied-${stamp}@partner.example`;
  const { claimUrl, org } = await claimableOrganization(page, 1);
  await fileClaim(page, claimUrl, claimant);
  await review(browser, org, async (p) => {
    await p.getByRole('button', { name: 'Deny' }).click();
    await expect(p.getByRole('alert')).toContainText('Give a reason');
    await p.getByLabel('Reason').fill('We could not confirm that you work at this organization.');
    await p.getByRole('button', { name: 'Deny' }).click();
    await expect(p.getByText('Claim denied.')).toBeVisible();
  });
  const mail = await mailFor(claimant, /was not approved/);
  expect(mail.body).toContain('We could not confirm that you work at this organization.');
});

test('a state administrator searches the audit trail; partners cannot', async ({ browser }) => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await signIn(page, DEMO.state);
  await page.goto('/state/audit?action=sign_in');
  await expect(page.getByText(/The audit trail is intact/)).toBeVisible();
  await expect(page.locator('table tbody tr').first()).toContainText('sign_in');
  await expectAccessible(page);
  await context.close();

  const partnerContext = await browser.newContext();
  const partner = await partnerContext.newPage();
  await signIn(partner, DEMO.admin);
  await expect(partner).toHaveURL(/\/partner$/);
  const refused = await partner.goto('/state/audit');
  expect(refused!.status()).toBe(403);
  await partnerContext.close();
});
