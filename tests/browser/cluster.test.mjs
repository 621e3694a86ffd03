// Sign up -> create a cluster (after an inline validation error) -> watch its steps ->
// edit the allow list -> delete with type-the-name confirmation.
import { test } from "node:test";
import assert from "node:assert/strict";
import { BASE, openBrowser, signUp, shot, unique } from "./lib.mjs";

test("owner creates, watches and deletes a cluster", async () => {
  const b = await openBrowser();
  const { page } = b;
  try {
    await page.goto(BASE);
    await page.waitForURL(/\/console\/login$/);
    await shot(page, "sign-in");
    await page.getByRole("link", { name: "Create an account" }).click();
    await shot(page, "sign-up");
    const org = await signUp(page, unique("owner-") + "@example.com", "Acme Payments");

    // Empty state with a call to action.
    await page.getByRole("heading", { name: "No clusters yet" }).waitFor();
    await shot(page, "clusters-empty");
    await page.getByRole("link", { name: "Create your first cluster" }).click();
    await page.waitForURL(`${BASE}/console/orgs/${org}/clusters/new`);

    // The server's validation error appears inline next to the field, values kept.
    await page.getByLabel("Name", { exact: true }).fill("Bad_Name!");
    await page.getByLabel("Tier").selectOption("dev");
    await page.getByLabel("Size").selectOption("large");
    const [refused] = await Promise.all([
      page.waitForResponse((r) => r.request().method() === "POST"),
      page.getByRole("button", { name: "Create cluster" }).click(),
    ]);
    assert.equal(refused.status(), 422);
    const alert = page.getByRole("alert");
    assert.match(await alert.innerText(), /name must be 3 to 32 characters/);
    assert.equal(await page.getByLabel("Name", { exact: true }).getAttribute("aria-invalid"), "true");
    assert.equal(await page.getByLabel("Name", { exact: true }).inputValue(), "Bad_Name!");
    await shot(page, "create-cluster-error");

    // A size the tier does not offer is refused next to the size field.
    const name = unique("pay-");
    await page.getByLabel("Name", { exact: true }).fill(name);
    await page.getByRole("button", { name: "Create cluster" }).click();
    assert.match(await page.getByRole("alert").innerText(), /size large is not available for tier dev/);
    assert.equal(await page.getByLabel("Size").getAttribute("aria-invalid"), "true");

    await page.getByLabel("Size").selectOption("small");
    await page.getByLabel("Region").selectOption("eu-west-1");
    await page.getByRole("button", { name: "Create cluster" }).click();
    await page.waitForURL(/\/clusters\/[0-9a-f-]{36}\?op=[0-9a-f-]{36}$/);

    // The create operation's steps, kept current by polling the status endpoint.
    await page.getByRole("heading", { name: "Operation: create" }).waitFor();
    const steps = page.locator("#op-steps li");
    const rendered = await steps.count();
    assert.ok(rendered >= 3, `expected the create plan's steps, got ${rendered}`);
    const poll = await page.waitForResponse((r) => r.url().includes("/status?op="));
    assert.equal(poll.status(), 200);
    const status = await poll.json();
    assert.equal(status.operation.kind, "create");
    assert.equal(status.operation.steps.length, rendered);
    for (const s of status.operation.steps) {
      assert.ok(["pending", "running", "succeeded", "failed", "skipped"].includes(s.state), s.state);
    }
    // The page shows what the engine reported, step by step.
    const shown = await steps.locator(".step-name").allInnerTexts();
    assert.deepEqual(shown, status.operation.steps.map((s) => s.name));
    await shot(page, "cluster-detail");

    // Phone width: the same page stays usable.
    await page.setViewportSize({ width: 390, height: 844 });
    await shot(page, "cluster-detail-phone");
    await page.setViewportSize({ width: 1280, height: 860 });

    // IP allow list: a bad CIDR is explained inline; a good one starts an update operation.
    await page.getByLabel("One CIDR block per line").fill("10.0.0.1/8");
    await page.getByRole("button", { name: "Save allow list" }).click();
    assert.match(await page.getByRole("alert").innerText(), /host bits set/);
    await page.getByLabel("One CIDR block per line").fill("203.0.113.0/24\n10.0.0.0/8");
    await page.getByRole("button", { name: "Save allow list" }).click();
    await page.getByRole("heading", { name: "Operation: update" }).waitFor();
    assert.equal(await page.getByLabel("One CIDR block per line").inputValue(), "203.0.113.0/24\n10.0.0.0/8");

    // The list shows the cluster with its state badge.
    await page.getByRole("link", { name: "Clusters", exact: true }).first().click();
    const row = page.getByRole("row").filter({ hasText: name });
    await row.waitFor();
    assert.ok(await row.locator(".badge").count() === 1);
    await shot(page, "clusters-list");

    // Delete: the button stays disabled until the name is typed; then a delete operation runs.
    await row.getByRole("link", { name }).click();
    const del = page.getByRole("button", { name: "Delete this cluster" });
    assert.equal(await del.isDisabled(), true);
    await page.getByLabel(/Type .* to confirm/).fill("not-the-name");
    assert.equal(await del.isDisabled(), true);
    await page.getByLabel(/Type .* to confirm/).fill(name);
    await del.click();
    await page.getByRole("heading", { name: "Operation: delete" }).waitFor();
    assert.match(await page.locator("#cluster-state .badge").innerText(), /^delet(ing|ed)$/);
    // A deleting cluster offers no more changes.
    assert.equal(await page.getByRole("button", { name: "Delete this cluster" }).count(), 0);
    assert.equal(await page.getByRole("button", { name: "Save allow list" }).count(), 0);
    await shot(page, "cluster-deleting");
  } finally {
    await b.close();
  }
});

test("user strings are shown as text; delete is refused when the typed name does not match", async () => {
  const b = await openBrowser();
  const { page } = b;
  const dialogs = [];
  page.on("dialog", (d) => { dialogs.push(d.message()); d.dismiss(); });
  try {
    const hostile = `<img src=x onerror="alert('xss')">Typo & Co`;
    const org = await signUp(page, unique("typo-") + "@example.com", hostile);
    // The org name is escaped: it reads literally and creates no element.
    assert.equal(await page.locator(".switcher .org-name").innerText(), hostile);
    assert.equal(await page.locator("header img").count(), 0);
    await page.goto(`${BASE}/console/orgs/${org}/clusters/new`);
    const name = unique("keep-");
    await page.getByLabel("Name", { exact: true }).fill(name);
    await page.getByRole("button", { name: "Create cluster" }).click();
    await page.getByRole("heading", { name: "Operation: create" }).waitFor();
    // Bypass the script's disabled button: the server must check the name itself.
    await page.locator("form[data-confirm-name] input[name=confirm_name]").fill("wrong");
    await page.locator("form[data-confirm-name]").evaluate((f) => f.submit());
    await page.getByText("does not match this cluster's name").waitFor();
    assert.deepEqual(dialogs, [], "no script from user input ran");
    assert.notEqual(await page.locator("#cluster-state .badge").innerText(), "deleting");
  } finally {
    await b.close();
  }
});
