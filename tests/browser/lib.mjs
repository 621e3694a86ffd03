// Shared helpers for the console browser tests: a fresh headless Debian Chromium per user
// (never a downloaded browser), sign-up through the real form, and screenshots as artefacts.
import { mkdtempSync, mkdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

export const BASE = process.env.COFFER_URL;
if (!BASE) throw new Error("COFFER_URL is not set (run tests/browser/run.sh)");

const here = dirname(fileURLToPath(import.meta.url));
export const ARTIFACTS = join(here, "artifacts");
mkdirSync(ARTIFACTS, { recursive: true });

const ARGS = [
  "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync",
];

let counter = 0;
export const unique = (prefix) => `${prefix}${Date.now().toString(36)}${(counter++).toString(36)}`;
export const PASSWORD = "correct-horse-battery-staple";

/** A fresh browser profile (its own cookie jar) for one person. */
export async function openBrowser(viewport = { width: 1280, height: 860 }) {
  const dir = mkdtempSync(join(tmpdir(), "coffer-chromium-"));
  const context = await chromium.launchPersistentContext(dir, {
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: ARGS,
    viewport,
  });
  const page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(15000);
  return {
    context,
    page,
    async close() {
      await context.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Signs up through the form using only the keyboard; returns the new org's id. */
export async function signUp(page, email, orgName) {
  await page.goto(BASE + "/console/signup");
  await page.getByLabel("Work email").fill(email);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByLabel("Organization name").fill(orgName);
  await page.getByLabel("Organization name").press("Enter");
  await page.waitForURL(/\/console\/orgs\/[0-9a-f-]+\/clusters$/);
  return orgIdOf(page.url());
}

export async function signIn(page, email) {
  await page.goto(BASE + "/console/login");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL(/\/console\/orgs\/[0-9a-f-]+\/clusters$/);
}

export function orgIdOf(url) {
  const m = /\/console\/orgs\/([0-9a-f-]{36})/.exec(url);
  if (!m) throw new Error(`no org id in ${url}`);
  return m[1];
}

/** `mask`: locators painted over in the picture, for secrets shown once (screenshots get committed). */
export async function shot(page, name, mask = []) {
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true, mask });
}

/** The session's CSRF token as embedded in the page (the sign-out form carries it). */
export async function csrfOf(page) {
  return page.locator("form.signout input[name=csrf]").inputValue();
}

/**
 * Polls `check` until it returns true or `ms` pass (no sleeps as synchronisation: every round
 * asks the page again). Errors inside a round (a page reloading itself) count as "not yet".
 */
export async function until(check, ms, what) {
  const deadline = Date.now() + ms;
  let last;
  for (;;) {
    try {
      if (await check()) return;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${ms} ms waiting for ${what}${last ? `: ${last.message}` : ""}`);
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}

/**
 * The operation of `kind` the page was sent to: its live step panel while it runs, or its
 * outcome when the engine already finished it before the page loaded.
 */
export async function operationShown(page, kind) {
  await page
    .locator("#operation h2", { hasText: `Operation: ${kind}` })
    .or(page.locator("#operation-outcome", { hasText: kind }))
    .first()
    .waitFor();
}
