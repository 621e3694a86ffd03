// The cluster lifecycle in the console against the real stack (engine + node runner):
// sign up -> create a cluster (after inline validation errors) -> watch its steps progress ->
// running, nodes healthy -> generate an admin token (shown once, works against the cluster) ->
// take a snapshot -> restore it (confirmation step) -> audit logs -> a viewer sees it all
// read-only and each forged post is refused -> revoke tokens -> delete -> sign out revokes.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  BASE, openBrowser, signUp, shot, unique, csrfOf, until, operationShown,
} from "./lib.mjs";

// Creating a cluster launches real agents and servers on this (shared, 2-core) machine.
const RUNNING_WITHIN_MS = 300_000;

test("owner runs a cluster end to end; a viewer sees it read-only", { timeout: 900_000 }, async () => {
  const owner = await openBrowser();
  const viewer = await openBrowser();
  const page = owner.page;
  const dialogs = [];
  page.on("dialog", (d) => { dialogs.push(d.message()); d.accept(); });
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
    assert.match(await page.getByRole("alert").innerText(), /name must be 3 to 32 characters/);
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
    const clusterUrl = page.url().replace(/\?.*$/, "");

    // The create operation's steps, kept current by polling the status endpoint: the page
    // shows exactly what the engine reports, and the steps visibly progress.
    await page.getByRole("heading", { name: "Operation: create" }).waitFor();
    const steps = page.locator("#op-steps li");
    const planned = await steps.count();
    assert.ok(planned >= 3, `expected the create plan's steps, got ${planned}`);
    // The page polls this endpoint; read it the same way (the page's own response body is gone
    // once the page reloads into the outcome).
    const opId = new URL(page.url()).searchParams.get("op");
    const poll = await page.request.get(`${clusterUrl}/status?op=${opId}`);
    assert.equal(poll.status(), 200);
    const status = await poll.json();
    assert.equal(status.operation.kind, "create");
    assert.deepEqual(await steps.locator(".step-name").allInnerTexts(), status.operation.steps.map((s) => s.name));
    await until(async () => (await page.locator("#op-steps li.step-succeeded").count()) >= 1, 120_000, "a step succeeds");
    await shot(page, "cluster-creating");

    // Phone width: the same page stays usable.
    await page.setViewportSize({ width: 390, height: 844 });
    await shot(page, "cluster-detail-phone");
    await page.setViewportSize({ width: 1280, height: 860 });

    // Running: when the operation finishes the page reloads by itself into its outcome (the
    // step list is only for an operation in progress) and shows the running cluster.
    await until(async () => /succeeded/.test(await page.locator("#operation-outcome").innerText()),
      RUNNING_WITHIN_MS, "the create operation's outcome");
    assert.equal(await page.locator("#cluster-state .badge").innerText(), "running");
    assert.equal(await page.locator("#operation").count(), 0, "no live panel without a running operation");
    await page.goto(clusterUrl);
    assert.equal(await page.locator("#operation, #operation-outcome").count(), 0, "nothing about operations once done");

    // Nodes: health and address from the node's own heartbeats (reload until reported).
    let address = "";
    await until(async () => {
      await page.goto(clusterUrl);
      const row = page.locator("#nodes tr[data-node]").first();
      if ((await row.count()) === 0 || !/healthy/.test(await row.innerText())) return false;
      address = (await row.locator("code").first().innerText()).trim();
      return true;
    }, 60_000, "a healthy node with an address");
    assert.match(address, /^https?:\/\/127\.\d+\.\d+\.\d+:\d+$/);
    assert.notEqual((await page.locator("#cluster-address").innerText()).trim(), "", "the cluster has an address");
    await shot(page, "cluster-detail");

    // Admin token: a TTL choice; the token is the POST's answer only, never cached.
    await page.getByLabel("Valid for").selectOption("1h");
    const [issued] = await Promise.all([
      page.waitForResponse((r) => r.request().method() === "POST" && r.url().endsWith("/admin-token")),
      page.getByRole("button", { name: "Generate admin token" }).click(),
    ]);
    assert.equal(issued.status(), 200);
    assert.equal(issued.headers()["cache-control"], "no-store");
    const token = await page.getByLabel("Admin token").inputValue();
    assert.ok(token.length > 20, "a token is shown");
    await page.getByRole("button", { name: "Copy" }).click();
    await page.getByRole("button", { name: "Copied" }).waitFor();
    await shot(page, "admin-token", [page.getByLabel("Admin token"), page.locator("#token-accessor")]);
    // It is a real customer-admin token of this cluster, valid for at most the chosen hour.
    const me = await fetch(`${address}/v1/auth/token/lookup-self`, { headers: { "X-Vault-Token": token } });
    assert.equal(me.status, 200);
    const data = (await me.json()).data;
    assert.ok(data.policies.includes("coffer-customer-admin"), JSON.stringify(data.policies));
    assert.ok(data.ttl > 0 && data.ttl <= 3600, `ttl ${data.ttl}`);
    await page.getByRole("link", { name: "Done" }).click();
    await page.waitForURL(clusterUrl);
    assert.ok(!(await page.content()).includes(token), "the token is never rendered again");

    // Snapshots: take one; the list follows it from creating to available by itself.
    await page.getByRole("link", { name: "Snapshots" }).click();
    await page.getByText("No snapshots yet.").waitFor();
    await page.getByRole("button", { name: "Take snapshot" }).click();
    const snapRow = page.locator("#snapshots tr[data-snapshot]").first();
    await snapRow.waitFor();
    await until(async () => /available/.test(await page.locator("#snapshots tr[data-snapshot]").first().innerText()),
      120_000, "the snapshot becomes available");
    await shot(page, "snapshots");

    // Restore asks first, and checks the typed name on the server too.
    await page.locator("#snapshots tr[data-snapshot]").first().getByRole("link", { name: /Restore/ }).click();
    await page.getByRole("heading", { name: /Restore the snapshot/ }).waitFor();
    await shot(page, "snapshot-restore-confirm");
    const restoreBtn = page.getByRole("button", { name: "Restore this snapshot" });
    assert.equal(await restoreBtn.isDisabled(), true);
    await page.locator("input[name=confirm_name]").fill("wrong");
    await page.locator("form[data-confirm-name]").evaluate((f) => f.submit());
    await page.getByText("does not match this cluster's name").waitFor();
    await page.locator("input[name=confirm_name]").fill(name);
    await restoreBtn.click();
    await page.waitForURL(/\/snapshots$/);
    await until(async () => {
      const text = await page.locator("#snapshots tr[data-snapshot]").first().innerText();
      return /available/.test(text) && /restored/.test(text);
    }, 120_000, "the restore finishes");

    // Audit logs (admins): the range lists shipped objects; the download is the API twin.
    await page.getByRole("link", { name: "Audit logs" }).click();
    await page.getByLabel("From (UTC)").waitFor();
    await until(async () => {
      await page.reload();
      return (await page.getByRole("link", { name: "Download JSON lines" }).count()) === 1;
    }, 90_000, "audit objects are shipped and listed");
    await shot(page, "audit-logs");
    const href = await page.getByRole("link", { name: "Download JSON lines" }).getAttribute("href");
    assert.match(href, /^\/v1\/orgs\/[0-9a-f-]+\/clusters\/[0-9a-f-]+\/audit-logs\/download\?from=/);
    const dl = await page.request.get(BASE + href);
    assert.equal(dl.status(), 200);
    assert.match(dl.headers()["content-type"], /application\/x-ndjson/);
    const lines = (await dl.text()).split("\n").filter(Boolean);
    assert.ok(lines.length > 0, "the download holds audit lines");
    for (const l of lines) JSON.parse(l);
    // A range the service refuses is explained next to the form.
    await page.getByLabel("From (UTC)").fill("2026-01-10T00:00");
    await page.getByLabel("To (UTC)").fill("2026-01-01T00:00");
    await page.getByRole("button", { name: "Show" }).click();
    assert.match(await page.getByRole("alert").innerText(), /from must be earlier than to/);

    // A viewer of the org sees the cluster, its nodes and snapshots, and no mutating control.
    const viewerEmail = unique("viewer-") + "@example.com";
    await page.goto(`${BASE}/console/orgs/${org}/members`);
    await page.getByLabel("Invite by email").fill(viewerEmail);
    await page.getByLabel("Role", { exact: true }).selectOption("viewer");
    await page.getByRole("button", { name: "Send invite" }).click();
    await page.getByRole("row").filter({ hasText: viewerEmail }).waitFor();
    const v = viewer.page;
    await signUp(v, viewerEmail, "Viewer's own org");
    await v.goto(clusterUrl);
    await v.locator("#nodes tr[data-node]").first().waitFor();
    assert.equal(await v.locator("main form").count(), 0, "no forms for a viewer on the cluster page");
    assert.equal(await v.getByRole("button", { name: /Generate|Revoke|Delete|Save/ }).count(), 0);
    assert.equal(await v.getByRole("link", { name: "Audit logs" }).count(), 0);
    await shot(v, "viewer-cluster");
    await v.getByRole("link", { name: "Snapshots" }).click();
    await v.locator("#snapshots tr[data-snapshot]").first().waitFor();
    assert.equal(await v.locator("main form").count(), 0, "no forms for a viewer on snapshots");
    assert.equal(await v.getByRole("link", { name: /Restore/ }).count(), 0);
    const snapshotId = await v.locator("#snapshots tr[data-snapshot]").first().getAttribute("data-snapshot");

    // Forged posts of every new action, with the viewer's own valid session and CSRF token.
    const csrf = await csrfOf(v);
    const base = new URL(clusterUrl).pathname;
    for (const [path, fields] of [
      [`${base}/admin-token`, { ttl: "1h" }],
      [`${base}/revoke-admin-tokens`, {}],
      [`${base}/snapshots`, {}],
      [`${base}/snapshots/${snapshotId}/restore`, { confirm_name: name }],
      [`${base}/snapshots/${snapshotId}/delete`, {}],
    ]) {
      const forged = await v.evaluate(async ([url, body]) => {
        const r = await fetch(url, { method: "POST", body: new URLSearchParams(body), redirect: "manual" });
        return { status: r.status, text: await r.text() };
      }, [BASE + path, { csrf, ...fields }]);
      assert.equal(forged.status, 403, `${path}: ${forged.status}`);
      assert.match(forged.text, /Not allowed/, path);
    }
    const auditPage = await v.goto(`${clusterUrl}/audit-logs`);
    assert.equal(auditPage.status(), 403);
    const api = await v.request.get(BASE + href);
    assert.equal(api.status(), 403, "the viewer cannot download audit logs through the API either");

    // Back to the owner: the snapshot survives the viewer's attempts; delete it (confirmed).
    await page.goto(`${clusterUrl}/snapshots`);
    const row = page.locator(`#snapshots tr[data-snapshot="${snapshotId}"]`);
    await row.getByRole("button", { name: /Delete/ }).click();
    await page.getByText("No snapshots yet.").waitFor();
    assert.ok(dialogs.some((m) => /Delete the snapshot/.test(m)), "deleting asked first");

    // Revoking admin tokens ends the one generated above.
    await page.goto(clusterUrl);
    await page.getByRole("button", { name: "Revoke all admin tokens" }).click();
    await page.getByRole("status").filter({ hasText: /Revoked \d+ admin tokens?\./ }).waitFor();
    const after = await fetch(`${address}/v1/auth/token/lookup-self`, { headers: { "X-Vault-Token": token } });
    assert.equal(after.status, 403);

    // IP allow list: a bad CIDR is explained inline; a good one starts an update.
    await page.getByLabel("One CIDR block per line").fill("10.0.0.1/8");
    await page.getByRole("button", { name: "Save allow list" }).click();
    assert.match(await page.getByRole("alert").innerText(), /host bits set/);
    await page.getByLabel("One CIDR block per line").fill("203.0.113.0/24\n10.0.0.0/8");
    await page.getByRole("button", { name: "Save allow list" }).click();
    await operationShown(page, "update");
    // (The page may reload itself into the outcome meanwhile; ask until it answers.)
    await until(async () => (await page.getByLabel("One CIDR block per line").inputValue()) === "203.0.113.0/24\n10.0.0.0/8",
      30_000, "the saved allow list");

    // The list shows the cluster with its state badge.
    await page.getByRole("link", { name: "Clusters", exact: true }).first().click();
    const listRow = page.getByRole("row").filter({ hasText: name });
    await listRow.waitFor();
    assert.equal(await listRow.locator(".badge").count(), 1);
    await shot(page, "clusters-list");

    // Delete: the button stays disabled until the name is typed; then a delete operation runs.
    await listRow.getByRole("link", { name }).click();
    const del = page.getByRole("button", { name: "Delete this cluster" });
    assert.equal(await del.isDisabled(), true);
    await page.getByLabel(/Type .* to confirm/).fill("not-the-name");
    assert.equal(await del.isDisabled(), true);
    await page.getByLabel(/Type .* to confirm/).fill(name);
    await del.click();
    await operationShown(page, "delete");
    // A deleting cluster offers no more changes.
    await until(async () => /^delet(ing|ed)$/.test(await page.locator("#cluster-state .badge").innerText())
      && (await page.getByRole("button", { name: /Delete this cluster|Save allow list|Generate admin token/ }).count()) === 0,
    30_000, "a deleting cluster without controls");
    await shot(page, "cluster-deleting");

    // Sign out revokes the session on the server: a copy of the cookie is worthless after.
    const session = (await owner.context.cookies()).find((c) => c.name === "coffer_session");
    assert.ok(session, "signed in with a session cookie");
    const before = await fetch(`${BASE}/v1/orgs`, { headers: { authorization: `Bearer ${session.value}` } });
    assert.equal(before.status, 200);
    await page.getByRole("button", { name: "Sign out", exact: true }).click();
    await page.waitForURL(`${BASE}/console/login`);
    const copied = await fetch(`${BASE}/v1/orgs`, { headers: { authorization: `Bearer ${session.value}` } });
    assert.equal(copied.status, 401);
  } finally {
    await owner.close();
    await viewer.close();
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
    await operationShown(page, "create");
    // Bypass the script's disabled button: the server must check the name itself.
    await page.locator("form[data-confirm-name] input[name=confirm_name]").fill("wrong");
    await page.locator("form[data-confirm-name]").evaluate((f) => f.submit());
    await page.getByText("does not match this cluster's name").waitFor();
    assert.deepEqual(dialogs, [], "no script from user input ran");
    assert.notEqual(await page.locator("#cluster-state .badge").innerText(), "deleting");
    // Clean up: this cluster is not needed running.
    await page.locator("form[data-confirm-name] input[name=confirm_name]").fill(name);
    await page.getByRole("button", { name: "Delete this cluster" }).click();
    await operationShown(page, "delete");
  } finally {
    await b.close();
  }
});
