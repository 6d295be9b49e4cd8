import { defineConfig } from '@playwright/test';
import * as path from 'node:path';

// The server the Rust tests built (scripts/test.sh sets E2E_SERVER; the release browser bundle
// and site beside it) on a fresh database loaded with the Kentucky demo directory (scripts/test.sh
// prepares E2E_DATABASE_URL). Debian's Chromium, phone-sized.
const server = process.env.E2E_SERVER ?? 'target/debug/server';
const port = 3100;
const baseURL = `http://127.0.0.1:${port}`;
const smtpPort = 3125;
const oidcPort = 3101;
const issuer = `http://127.0.0.1:${oidcPort}`;
const smsPort = 3105;
const smsURL = `http://127.0.0.1:${smsPort}`;
const smsAccount = 'AC00000000000000000000000000e2e000';
const smsToken = 'e2e-sms-token';
process.env.E2E_SMS_URL = smsURL;
// Where the SMTP sink writes what it receives (the tests read it).
const mailDir = process.env.E2E_MAIL_DIR ?? 'target/e2e-mail';
process.env.E2E_MAIL_DIR = path.resolve(__dirname, '..', mailDir);

export default defineConfig({
  testDir: './tests',
  timeout: 60_000,
  expect: { timeout: 10_000 },
  workers: 1,
  retries: 0,
  reporter: [['list']],
  use: {
    baseURL,
    viewport: { width: 360, height: 780 },
    isMobile: true,
    hasTouch: true,
    deviceScaleFactor: 2,
    userAgent:
      'Mozilla/5.0 (Linux; Android 13; Pixel 5) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36',
    locale: 'en-US',
    launchOptions: {
      executablePath: '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    },
  },
  // A real SMTP server (aiosmtpd) and a real OpenID Connect provider (oidc-provider) beside
  // the app, all on localhost.
  webServer: [
    {
      command: `target/py/bin/python end2end/support/smtp_sink.py --port ${smtpPort} --dir ${mailDir}`,
      cwd: '..',
      port: smtpPort,
      timeout: 30_000,
      reuseExistingServer: false,
      stdout: 'ignore',
    },
    {
      command: 'node end2end/support/oidc-provider.mjs',
      cwd: '..',
      url: `${issuer}/.well-known/openid-configuration`,
      timeout: 30_000,
      reuseExistingServer: false,
      stdout: 'ignore',
      env: { OIDC_PORT: String(oidcPort), OIDC_REDIRECT: `${baseURL}/auth/oidc/callback` },
    },
    {
      // The SMS provider's stand-in (same HTTP API), which can also send replies to the app.
      command: `${server} fake-sms-carrier --port ${smsPort} --dir target/e2e-sms --account ${smsAccount} --token ${smsToken} --webhook ${baseURL}/sms/inbound`,
      cwd: '..',
      url: `${smsURL}/messages.json`,
      timeout: 30_000,
      reuseExistingServer: false,
      stdout: 'ignore',
    },
    {
      // Its errors are kept in target/e2e-server.log too: scripts/test.sh fails the run if the
      // server panicked anywhere, even after a page had gone out and every journey passed.
      command: `bash -c "source scripts/serve-env.sh && exec ${server} serve 2> >(tee target/e2e-server.log >&2)"`,
      cwd: '..',
      url: `${baseURL}/`,
      timeout: 120_000,
      reuseExistingServer: false,
      stdout: 'ignore',
      stderr: 'pipe',
      env: {
        DATABASE_URL: process.env.E2E_DATABASE_URL ?? '',
        LEPTOS_SITE_ADDR: `127.0.0.1:${port}`,
        WRAPAROUND_PUBLIC_URL: baseURL,
        WRAPAROUND_SMTP_URL: `smtp://127.0.0.1:${smtpPort}`,
        WRAPAROUND_OIDC_ISSUER: issuer,
        WRAPAROUND_OIDC_CLIENT_ID: 'wraparound',
        WRAPAROUND_OIDC_CLIENT_SECRET: 'e2e-client-secret',
        WRAPAROUND_SMS_URL: smsURL,
        WRAPAROUND_SMS_ACCOUNT: smsAccount,
        WRAPAROUND_SMS_TOKEN: smsToken,
        WRAPAROUND_SMS_FROM: '+15025550000',
        // Referral queues read "now" from target/test-clock (days ahead) on this test server.
        WRAPAROUND_TEST_CLOCK: '1',
        WRAPAROUND_CLOCK_FILE: path.resolve(__dirname, '..', 'target', 'test-clock'),
        RUST_LOG: 'warn',
        // A panic in a request task names where it came from.
        RUST_BACKTRACE: '1',
      },
    },
  ],
});
