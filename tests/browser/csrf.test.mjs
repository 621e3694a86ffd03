// Cross-site request forgery: a page on another origin makes the signed-in browser post to
// the console. The session cookies travel with it (same host, other port = same site), so
// only the CSRF token and Origin checks stand in the way; both must refuse.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { BASE, openBrowser, signUp, unique, csrfOf } from "./lib.mjs";

function attackerSite(html) {
  return new Promise((resolve) => {
    const server = createServer((_req, res) => {
      res.writeHead(200, { "content-type": "text/html" });
      res.end(html());
    });
    server.listen(0, "127.0.0.1", () => resolve(server));
  });
}

test("posts from another origin are refused", async () => {
  const b = await openBrowser();
  const { page } = b;
  let server;
  try {
    const org = await signUp(page, unique("victim-") + "@example.com", "Initech");
    const realToken = await csrfOf(page);
    let token = "guessed-token";
    server = await attackerSite(() => `<!doctype html><form id=f method=post action="${BASE}/console/orgs/${org}/clusters">
      <input name=csrf value="${token}"><input name=name value="evil-cluster"><input name=tier value=dev>
      <input name=size value=small><input name=region value=us-east-1></form>
      <script>document.getElementById('f').submit()</script>`);
    const evil = `http://127.0.0.1:${server.address().port}/`;

    for (const attempt of ["guessed-token", realToken]) {
      // Even with the real token (which a real attacker cannot read), a foreign Origin fails.
      token = attempt;
      const [resp] = await Promise.all([
        page.waitForResponse((r) => r.request().method() === "POST"),
        page.goto(evil),
      ]);
      assert.equal(resp.status(), 403, `attempt with ${attempt === realToken ? "real" : "guessed"} token`);
      assert.equal((await resp.request().allHeaders())["origin"], evil.replace(/\/$/, ""));
      await page.getByRole("heading", { name: "Request refused" }).waitFor();
    }

    // Console pages cannot be framed by another site (clickjacking) and run only our script.
    const own = await page.goto(`${BASE}/console/orgs/${org}/members`);
    assert.match(own.headers()["content-security-policy"], /frame-ancestors 'none'/);
    assert.match(own.headers()["content-security-policy"], /script-src 'self'/);
    assert.equal(own.headers()["x-frame-options"], "DENY");

    // Nothing was created, and the session itself is still fine.
    await page.goto(`${BASE}/console/orgs/${org}/clusters`);
    await page.getByRole("heading", { name: "No clusters yet" }).waitFor();

    // A same-origin post without the token is refused too.
    const status = await page.evaluate(async (url) => {
      const r = await fetch(url, { method: "POST", body: new URLSearchParams({ name: "no-token", tier: "dev", size: "small", region: "us-east-1" }) });
      return r.status;
    }, `${BASE}/console/orgs/${org}/clusters`);
    assert.equal(status, 403);
  } finally {
    server?.close();
    await b.close();
  }
});
