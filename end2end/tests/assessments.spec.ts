import { test, expect, Page } from '@playwright/test';
import { LAPTOP, expectAccessible, expectNoHorizontalScroll, signIn, signInAtProvider } from '../support/helpers';

// Assessments (issue 12) as people take them: a resident alone on a phone with JavaScript off
// (needs, programs near a ZIP, saved to My Plan after signing in), the same in Spanish, and a
// hospital nurse screening a resident who consented with the AHC core and supplemental
// questions, the detail screen then showing the needs (a declined safety item "not answered").

const hospital = { email: 'hospital.staff@demo.wraparound.example', secret: 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXC' };
const stamp = Date.now().toString(36);

async function check(page: Page) {
  await expectAccessible(page);
  await expectNoHorizontalScroll(page);
}

/** Ticks the answer whose form value is `item=code` and checks the page on the way. */
async function pick(page: Page, ...values: string[]) {
  for (const v of values) await page.locator(`input[value="${v}"]`).check();
}

/** The self-assessment from its first page to the results (Food and Transportation needs, a
 * declined safety question); `check` runs on every page on the way. */
async function takeSelfAssessment(page: Page, check: (page: Page) => Promise<void>) {
  await page.goto('/assessment');
  await expect(page.getByRole('heading', { level: 1, name: 'What help do you need?' })).toBeVisible();
  await check(page);
  await page.getByRole('link', { name: 'Start', exact: true }).click();
  await expect(page.getByTestId('progress')).toHaveText('Step 1 of 6');
  await check(page);
  await page.getByLabel('Yes, but I am worried I could lose it').check();
  await page.getByRole('button', { name: 'Next' }).click();
  await expect(page.getByTestId('progress')).toHaveText('Step 2 of 6');
  await pick(page, 'self-food-worry=sometimes', 'self-food-ran-out=never', 'self-utilities=no', 'self-money=not-hard');
  await check(page);
  await page.getByRole('button', { name: 'Next' }).click();
  await expect(page.getByTestId('progress')).toHaveText('Step 3 of 6');
  // Back keeps what was answered.
  await page.getByRole('button', { name: 'Back' }).click();
  await expect(page.getByTestId('progress')).toHaveText('Step 2 of 6');
  await expect(page.locator('input[value="self-food-worry=sometimes"]')).toBeChecked();
  await page.getByRole('button', { name: 'Next' }).click();
  await pick(page, 'self-rides=yes', 'self-work=no', 'self-school=no');
  await page.getByRole('button', { name: 'Next' }).click();
  await pick(page, 'self-kids=no', 'self-lonely=rarely');
  await page.getByRole('button', { name: 'Next' }).click();
  await pick(page, 'self-insurance=yes', 'self-care=yes', 'self-stress=no');
  await page.getByRole('button', { name: 'Next' }).click();
  // The safety questions carry a note and a quick exit; she declines one.
  await expect(page.getByRole('link', { name: 'Leave this page quickly' })).toBeVisible();
  await check(page);
  await pick(page, 'self-hurt=LA30122-8', 'self-afraid=no');
  await page.getByRole('button', { name: 'Next' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Your results' })).toBeVisible();
  const needs = page.getByTestId('needs');
  await expect(needs).toContainText('Food');
  await expect(needs).toContainText('Transportation');
  await expect(page.getByTestId('not-answered')).toContainText('Safety');
  await check(page);
  await page.getByLabel('Your ZIP code').fill('42101');
  await page.getByRole('button', { name: 'Show programs' }).click();
  await expect(page.getByRole('heading', { level: 3, name: 'Food' })).toBeVisible();
  await expect(page.locator('a.card-title[href^="/programs/"]').first()).toBeVisible();
  await check(page);
}

test('a resident alone on a phone: needs, programs near her ZIP, saved to My Plan after signing in', async ({ page }) => {
  await takeSelfAssessment(page, check);
  // Saving needs an account: she signs in with the state's identity provider and comes back.
  await page.getByRole('button', { name: 'Sign in to save to My Plan' }).click();
  await expect(page).toHaveURL(/\/sign-in/);
  await page.getByRole('link', { name: /^Sign in with / }).click();
  await signInAtProvider(page, `resident-${stamp}`);
  await page.goto('/assessment/results');
  await page.getByRole('button', { name: 'Save to My Plan' }).click();
  await expect(page.getByText('Your assessment is saved.')).toBeVisible();
  await expect(page.getByTestId('plan-assessments')).toContainText('What help do you need?');
  await check(page);
});

test('the self-assessment with JavaScript turned off', async ({ browser }) => {
  const context = await browser.newContext({ javaScriptEnabled: false, viewport: { width: 360, height: 780 } });
  const page = await context.newPage();
  await takeSelfAssessment(page, async () => {});
  await context.close();
});

test('the self-assessment in Spanish', async ({ browser }) => {
  const context = await browser.newContext({ locale: 'es-MX' });
  const page = await context.newPage();
  await page.goto('/assessment?lang=es');
  await expect(page.getByRole('heading', { level: 1, name: '¿Qué ayuda necesita?' })).toBeVisible();
  await check(page);
  await page.getByRole('link', { name: 'Empezar', exact: true }).click();
  await expect(page.getByTestId('progress')).toHaveText('Paso 1 de 6');
  await expect(page.getByText('Prefiero no decirlo').first()).toBeVisible();
  await check(page);
  await page.getByLabel('No. Me quedo con otras personas, en un albergue, en un carro o afuera.').check();
  await page.getByRole('button', { name: 'Siguiente' }).click();
  await expect(page.getByTestId('progress')).toHaveText(/Paso 2 de/);
  await context.close();
});

test('a hospital nurse screens a resident who consented: AHC core and supplemental, needs on the detail screen', async ({ browser }) => {
  const context = await browser.newContext(LAPTOP);
  const page = await context.newPage();
  await signIn(page, hospital);
  const name = `Rosa Screening ${stamp}`;
  await page.goto('/residents/new');
  await page.getByRole('textbox', { name: 'Name', exact: true }).fill(name);
  await page.getByLabel('Date of birth').fill('1984-03-09');
  await page.getByRole('textbox', { name: 'Phone', exact: true }).fill(`270-555-${1000 + Math.floor(Math.random() * 8999)}`);
  await page.getByLabel('Best way to reach them').selectOption('phone');
  await page.getByLabel('I read this to them and they agreed').check();
  await page.getByRole('button', { name: 'Add a resident' }).click();
  if (await page.getByText('None of these is the person: add a new record').count()) {
    // An earlier run's Rosa is a possible match: this is someone new.
    await page.getByLabel('None of these is the person: add a new record').check();
    await page.getByRole('button', { name: 'Add a resident' }).click();
  }
  await expect(page.getByText('The resident was added.')).toBeVisible();
  const resident = page.url().split('?')[0];
  await expect(page.getByText('No assessment yet.')).toBeVisible();

  await page.getByRole('link', { name: 'Start an assessment' }).first().click();
  await check(page);
  const core = page.locator('li').filter({ hasText: 'AHC Health-Related Social Needs Screening' });
  await core.getByLabel('I will read the questions aloud').check();
  await core.getByRole('button', { name: 'Start' }).click();
  await expect(page.getByText(/Read-aloud mode/)).toBeVisible();
  await expect(page.getByTestId('progress')).toHaveText('Step 1 of 4');
  await check(page);
  await pick(page, '71802-3=LA31994-9', '96778-6=LA9-3');
  await page.getByRole('button', { name: 'Next' }).click();
  await pick(page, '88122-7=LA28397-0', '88123-5=LA28398-8');
  await page.getByRole('button', { name: 'Next' }).click();
  await pick(page, '93030-5=LA32-8', '96779-4=LA32-8');
  await page.getByRole('button', { name: 'Next' }).click();
  await expect(page.getByRole('link', { name: 'Leave this page quickly' })).toBeVisible();
  await check(page);
  await pick(page, '95618-5=LA6270-8', '95617-7=LA30122-8', '95616-9=LA6270-8', '95615-1=LA6270-8');
  await page.getByRole('button', { name: 'Next' }).click();
  await expect(page.getByText('Assessment finished.')).toBeVisible();
  await expect(page.getByTestId('assessment-status')).toHaveText('Completed');
  await check(page);

  // The supplemental questions, some answered, some left for another day.
  await page.goto(`${resident}/assess`);
  await page.locator('li').filter({ hasText: 'more questions' }).getByRole('button', { name: 'Start' }).click();
  await pick(page, '76513-1=LA22683-9');
  await check(page);
  for (let step = 1; step <= 7; step++) {
    await expect(page.getByTestId('progress')).toHaveText(`Step ${step} of 7`);
    await page.getByRole('button', { name: 'Next' }).click();
  }
  await expect(page.getByTestId('assessment-status')).toHaveText('Completed');

  await page.goto(resident);
  const indicators = page.getByTestId('indicator');
  await expect(indicators.filter({ hasText: 'Food' }).first()).toContainText('Need');
  await expect(indicators.filter({ hasText: 'Safety' })).toContainText('Not answered');
  await expect(page.getByTestId('last-assessment')).toContainText('Assessment in Wraparound');
  await check(page);
  await context.close();
});
