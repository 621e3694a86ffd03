// Members and roles, service principals (secret shown once), and a viewer's read-only view
// including a forged post the server refuses.
import { test } from "node:test";
import assert from "node:assert/strict";
import { BASE, openBrowser, signUp, shot, unique, csrfOf } from "./lib.mjs";

test("members, service principals and a viewer's read-only console", async () => {
  const owner = await openBrowser();
  const viewer = await openBrowser();
  const p = owner.page;
  try {
    p.on("dialog", (d) => d.accept());
    const org = await signUp(p, unique("lead-") + "@example.com", "Globex");

    // Invite a viewer and a teammate; change the teammate's role; then remove them.
    const viewerEmail = unique("viewer-") + "@example.com";
    const mateEmail = unique("mate-") + "@example.com";
    await p.getByRole("link", { name: "Members" }).click();
    for (const [email, role] of [[viewerEmail, "viewer"], [mateEmail, "contributor"]]) {
      await p.getByLabel("Invite by email").fill(email);
      await p.getByLabel("Role", { exact: true }).selectOption(role);
      await p.getByRole("button", { name: "Send invite" }).click();
      await p.getByRole("row").filter({ hasText: email }).waitFor();
    }
    const mateRow = p.getByRole("row").filter({ hasText: mateEmail });
    assert.match(await mateRow.innerText(), /invited/);
    await mateRow.getByLabel(`Role for ${mateEmail}`).selectOption("admin");
    await mateRow.getByRole("button", { name: "Save" }).click();
    await p.waitForURL(`${BASE}/console/orgs/${org}/members`);
    assert.equal(await p.getByLabel(`Role for ${mateEmail}`).inputValue(), "admin");
    // An invalid invite is explained inline.
    await p.getByLabel("Invite by email").fill("not-an-email");
    await p.getByRole("button", { name: "Send invite" }).click();
    assert.match(await p.getByRole("alert").innerText(), /email must be a valid address/);
    await shot(p, "members");
    await p.getByRole("row").filter({ hasText: mateEmail }).getByRole("button", { name: `Remove ${mateEmail}` }).click();
    await p.waitForURL(`${BASE}/console/orgs/${org}/members`);
    assert.equal(await p.getByRole("row").filter({ hasText: mateEmail }).count(), 0);

    // Service principal: the secret is the POST response, never cached, shown once.
    await p.getByRole("link", { name: "Service principals" }).click();
    await p.getByRole("heading", { name: "No service principals" }).waitFor();
    await p.getByLabel("Name").fill("ci-deployer");
    await p.getByLabel("Role").selectOption("contributor");
    const [created] = await Promise.all([
      p.waitForResponse((r) => r.request().method() === "POST" && r.url().endsWith("/service-principals")),
      p.getByRole("button", { name: "Create", exact: true }).click(),
    ]);
    assert.equal(created.status(), 200);
    assert.equal(created.headers()["cache-control"], "no-store");
    const secret = await p.getByLabel("Client secret").inputValue();
    assert.match(secret, /^cps_/);
    const clientId = await p.locator("#client-id").innerText();
    await p.getByRole("button", { name: "Copy" }).click();
    await p.getByRole("button", { name: "Copied" }).waitFor();
    await shot(p, "service-principal-secret", [p.getByLabel("Client secret")]);
    // The credentials work against the API twin (client-credentials grant).
    const tok = await p.request.post(BASE + "/oauth/token", {
      form: { grant_type: "client_credentials", client_id: clientId, client_secret: secret },
    });
    assert.equal(tok.status(), 200);
    await p.getByRole("link", { name: "Done" }).click();
    const listed = await p.content();
    assert.ok(listed.includes(clientId), "the list names the principal");
    assert.ok(!listed.includes(secret), "the secret is never rendered again");
    await shot(p, "service-principals");

    // The viewer signs up with the invited email and sees the org read-only.
    const v = viewer.page;
    await signUp(v, viewerEmail, "Viewer's own org");
    await v.locator("details.switcher summary").click();
    await v.getByRole("link", { name: /Globex/ }).click();
    await v.waitForURL(`${BASE}/console/orgs/${org}/clusters`);
    await v.getByRole("heading", { name: "No clusters yet" }).waitFor();
    assert.equal(await v.getByRole("link", { name: /Create/ }).count(), 0);
    await shot(v, "viewer-clusters");
    await v.getByRole("link", { name: "Members" }).click();
    assert.equal(await v.getByLabel("Invite by email").count(), 0);
    assert.equal(await v.getByRole("button", { name: /Remove/ }).count(), 0);
    assert.equal(await v.locator("main select").count(), 0);
    await v.getByRole("link", { name: "Service principals" }).click();
    assert.equal(await v.getByRole("button", { name: /Create|Delete/ }).count(), 0);
    // The only forms a viewer gets are sign-out.
    assert.equal(await v.locator("main form").count(), 0);

    // A forged post with the viewer's own valid session and CSRF token is still refused.
    const token = await csrfOf(v);
    const forged = await v.evaluate(async ([url, csrf]) => {
      const body = new URLSearchParams({ csrf, name: "forged-by-viewer", tier: "dev", size: "small", region: "us-east-1", version: "" });
      const r = await fetch(url, { method: "POST", body, redirect: "manual" });
      return { status: r.status, text: await r.text() };
    }, [`${BASE}/console/orgs/${org}/clusters`, token]);
    assert.equal(forged.status, 403);
    assert.match(forged.text, /Not allowed/);
    const sp = await v.evaluate(async ([url, csrf]) => {
      const r = await fetch(url, { method: "POST", body: new URLSearchParams({ csrf, name: "x", role: "viewer" }) });
      return r.status;
    }, [`${BASE}/console/orgs/${org}/service-principals`, token]);
    assert.equal(sp, 403);
    await p.goto(`${BASE}/console/orgs/${org}/clusters`);
    await p.getByRole("heading", { name: "No clusters yet" }).waitFor();

    // Owner deletes the principal (after confirming); its credentials stop working.
    await p.goto(`${BASE}/console/orgs/${org}/service-principals`);
    await p.getByRole("button", { name: "Delete ci-deployer" }).click();
    await p.getByRole("heading", { name: "No service principals" }).waitFor();
    const after = await p.request.post(BASE + "/oauth/token", {
      form: { grant_type: "client_credentials", client_id: clientId, client_secret: secret },
    });
    assert.notEqual(after.status(), 200);

    // Sign out ends the console session.
    await v.getByRole("button", { name: "Sign out", exact: true }).click();
    await v.waitForURL(`${BASE}/console/login`);
    await v.goto(`${BASE}/console/orgs/${org}/clusters`);
    await v.waitForURL(`${BASE}/console/login`);
  } finally {
    await owner.close();
    await viewer.close();
  }
});
