import { expect, Page } from '@playwright/test';
import AxeBuilder from '@axe-core/playwright';
import * as OTPAuth from 'otpauth';
import * as fs from 'node:fs';
import * as path from 'node:path';

/** Zero axe-core violations against WCAG 2.1 A and AA. */
export async function expectAccessible(page: Page) {
  const results = await new AxeBuilder({ page })
    .withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'])
    .analyze();
  const summary = results.violations.map(
    (v) => `${v.id}: ${v.nodes.map((n) => `${n.target.join(' ')} ${n.html.slice(0, 160)}`).join(', ')}`,
  );
  expect(summary).toEqual([]);
}

/** Nothing wider than the phone's screen. */
export async function expectNoHorizontalScroll(page: Page) {
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  expect(overflow).toBeLessThanOrEqual(0);
}

/** The code an authenticator app shows now for a base32 secret. */
export function totp(secret: string, offsetSteps = 0): string {
  const t = new OTPAuth.TOTP({ secret: OTPAuth.Secret.fromBase32(secret), digits: 6, period: 30, algorithm: 'SHA1' });
  return t.generate({ timestamp: Date.now() + offsetSteps * 30_000 });
}

/** Waits for the next 30-second step, so a fresh code is not a replay of the last one. */
export async function nextCodeWindow(page: Page) {
  const ms = 30_000 - (Date.now() % 30_000) + 500;
  await page.waitForTimeout(ms);
}

export const DEMO_PASSWORD = 'kentucky demo passphrase';
export const DEMO = {
  reviewer: { email: 'chapter.reviewer@demo.wraparound.example', secret: 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXD' },
  admin: { email: 'partner.admin@demo.wraparound.example', secret: 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXB' },
  state: { email: 'state.admin@demo.wraparound.example', secret: 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXF' },
};

/** When each account last used a code, kept in a file: a failed test restarts the worker, and
 * the server still remembers (codes work once). */
function usedSteps(): Record<string, number> {
  const file = path.join(process.env.E2E_MAIL_DIR!, '..', 'e2e-code-steps.json');
  return fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, 'utf8')) : {};
}

function rememberStep(email: string) {
  const file = path.join(process.env.E2E_MAIL_DIR!, '..', 'e2e-code-steps.json');
  fs.writeFileSync(file, JSON.stringify({ ...usedSteps(), [email]: Math.floor(Date.now() / 30_000) }));
}

/** The code field (its label also holds a hint). */
export function codeField(page: Page) {
  return page.getByRole('textbox', { name: /^Code/ });
}

/** Signs in with a password and the current code (waiting for a fresh code if this account
 * already used the current one). */
export async function signIn(page: Page, who: { email: string; secret: string }) {
  if (usedSteps()[who.email] === Math.floor(Date.now() / 30_000)) await nextCodeWindow(page);
  await page.goto('/sign-in');
  await page.getByLabel('E-mail').fill(who.email);
  await page.getByLabel('Password').fill(DEMO_PASSWORD);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await expect(page).toHaveURL(/\/sign-in\/code/);
  rememberStep(who.email);
  await codeField(page).fill(totp(who.secret));
  await page.getByRole('button', { name: 'Verify' }).click();
  // Signed in once the page after the code has loaded: a test that navigates on before then
  // cancels that page mid-render, which is not what a person does.
  await page.waitForURL((u) => !u.pathname.startsWith('/sign-in'), { waitUntil: 'load' });
}

export interface Mail { to: string[]; subject: string; body: string }

/** The messages the SMTP sink has received for `to` (waits for at least one matching). */
export async function mailFor(to: string, subject: RegExp): Promise<Mail> {
  const dir = process.env.E2E_MAIL_DIR!;
  for (let i = 0; i < 60; i++) {
    const files = fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith('.json')).sort() : [];
    for (const f of files.reverse()) {
      const m: Mail = JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8'));
      if (m.to.includes(to) && subject.test(m.subject)) return m;
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`no mail to ${to} matching ${subject}`);
}

/** The identity provider's development login and consent screens (a fresh browser context, so
 * the provider does not remember anyone). Returns once back at Wraparound. */
export async function signInAtProvider(page: Page, login: string) {
  await page.waitForURL(/127\.0\.0\.1:3101\/interaction\//);
  const loginPage = page.url();
  await page.locator('input[name=login]').fill(login);
  await page.locator('input[name=password]').fill('any password works here');
  await page.locator('button[type=submit]').first().click();
  await page.waitForURL((u) => u.href !== loginPage);
  if (new URL(page.url()).port === '3101') {
    // The consent screen.
    await page.locator('button[type=submit]').first().click();
  }
  await page.waitForURL((u) => u.port === '3100');
}

/** The newest text message the fake carrier holds for `to` (E.164) whose body matches `re`
 * (waits for it). */
export async function textFor(to: string, re: RegExp): Promise<string> {
  for (let i = 0; i < 60; i++) {
    const r = await fetch(`${process.env.E2E_SMS_URL}/messages.json`);
    const { messages } = (await r.json()) as { messages: { to: string; body: string }[] };
    const found = messages.filter((m) => m.to === to && re.test(m.body));
    if (found.length) return found[found.length - 1].body;
    await new Promise((res) => setTimeout(res, 500));
  }
  throw new Error(`no text to ${to} matching ${re}`);
}

export const LAPTOP = { viewport: { width: 1280, height: 900 }, isMobile: false, hasTouch: false };
