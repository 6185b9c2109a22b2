// The web console in a real browser: Debian's chromium, headless, driven
// by playwright-core (pinned in package-lock.json).  tests/system/
// test_console.py starts the suite, makes the users and the planted
// folder, and gives this script its plan as JSON on stdin; the script
// prints one JSON line of what it saw and exits non-zero on a failure.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { chromium } from "playwright-core";

const plan = JSON.parse(readFileSync(0, "utf8"));
const out = { steps: [] };
const T = 20000;

function step(s) { out.steps.push(s); process.stderr.write("console.mjs: " + s + "\n"); }
function check(ok, what) { if (!ok) throw new Error("check failed: " + what); }

function curl(key, path) {
  // -w the status alone; --cacert the suite's own certificate.
  return execFileSync("curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "--cacert", plan.cert,
    "-H", "X-API-Key: " + key, plan.base + path], { encoding: "utf8" }).trim();
}

async function shot(page, name) {
  await page.screenshot({ path: plan.shots + "/" + name + ".png", fullPage: true });
}

async function signIn(page, who) {
  await page.goto(plan.base + "/");
  await page.getByLabel("E-mail address").fill(who.email);
  await page.getByLabel("Password").fill(who.password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("heading", { name: /^Collections in / }).waitFor({ timeout: T });
}

async function newPage(browser, viewport) {
  const ctx = await browser.newContext({ ignoreHTTPSErrors: true, viewport: viewport || { width: 1280, height: 860 } });
  const page = await ctx.newPage();
  page.on("dialog", (d) => d.accept());
  page.on("console", (m) => {
    if (m.type() === "error" && /Content.Security.Policy|Refused to/i.test(m.text())) out.csp_violations.push(m.text());
  });
  page.on("pageerror", (e) => out.page_errors.push(String(e)));
  page.on("request", (r) => { if (!r.url().startsWith(plan.base + "/")) out.foreign.push(r.url()); });
  return { ctx, page };
}

async function editorRun(browser) {
  const { ctx, page } = await newPage(browser);
  await page.goto(plan.base + "/");
  await page.getByLabel("E-mail address").waitFor({ timeout: T });
  await shot(page, "signin");
  await signIn(page, plan.editor);
  step("editor signed in");
  // The refresh cookie: HttpOnly, Secure, Strict, only for /v1/auth.
  const cookies = await ctx.cookies(plan.base + "/v1/auth/refresh");
  out.cookie = cookies.map((c) => ({ name: c.name, path: c.path, httpOnly: c.httpOnly, secure: c.secure, sameSite: c.sameSite }));
  check((await page.evaluate(() => document.cookie)) === "", "the page's script sees no cookie");

  await page.getByLabel("Name").fill("Console docs");
  await page.getByRole("button", { name: "Create collection" }).click();
  await page.getByRole("heading", { name: "Console docs" }).waitFor({ timeout: T });
  out.collection = page.url().split("#/c/")[1];
  step("collection created");
  await page.getByRole("textbox", { name: "Name" }).first().fill("Console docs 2");
  await page.getByRole("button", { name: "Rename" }).click();
  await page.getByRole("heading", { name: "Console docs 2" }).waitFor({ timeout: T });
  step("collection renamed");

  // The viewer joins this collection, as a viewer.
  await page.getByLabel("E-mail of an organization member").fill(plan.viewer.email);
  await page.getByRole("button", { name: "Add member" }).click();
  await page.getByRole("cell", { name: plan.viewer.email }).waitFor({ timeout: T });
  step("viewer added");

  const form = page.getByRole("form", { name: "Add a source" });
  await form.getByLabel("Type").selectOption("files");
  await form.getByLabel("Name", { exact: true }).fill("Planted files");
  await form.getByLabel(/^Folder/).fill(plan.folder);
  await form.getByRole("button", { name: "Add source" }).click();
  await page.getByRole("heading", { name: "Planted files" }).waitFor({ timeout: T });
  out.source = page.url().split("#/s/")[1];
  step("source added");
  await page.getByRole("button", { name: "Sync now" }).click();
  await page.locator(".state.succeeded").first().waitFor({ timeout: 60000 });
  const row = await page.locator("tbody tr").first().innerText();
  out.job_row = row;
  step("synced");
  await shot(page, "source");
  await page.goto(plan.base + "/#/c/" + out.collection);
  await page.getByRole("link", { name: "Planted files" }).waitFor({ timeout: T });
  await shot(page, "collection");
  await page.goto(plan.base + "/#/collections");
  await page.getByRole("link", { name: "Console docs 2" }).waitFor({ timeout: T });
  await shot(page, "collections");

  await page.getByRole("link", { name: "Search" }).click();
  await page.getByLabel("Search for").fill(plan.word);
  await page.getByRole("button", { name: "Search", exact: true }).click();
  await page.locator(".result mark").first().waitFor({ timeout: T });
  out.marks = await page.locator(".result mark").allInnerTexts();
  out.snippet = await page.locator(".result .snippet").first().innerText();
  out.injected = await page.locator(".results img, .results script, .results b").count();
  out.pwned = await page.evaluate(() => window.pwned === true);
  await shot(page, "search");
  step("searched");
  await page.locator(".result a", { hasText: "Open the document" }).first().click();
  await page.locator("pre.doc-text").waitFor({ timeout: T });
  await shot(page, "document");

  await page.getByRole("link", { name: "API keys" }).click();
  const kf = page.getByRole("form", { name: "New API key" });
  await kf.getByLabel("Name").fill("console-key");
  await kf.getByLabel("Access").selectOption("read");
  await kf.getByRole("button", { name: "Create key" }).click();
  const secret = page.locator("input.secret");
  await secret.waitFor({ timeout: T });
  const key = await secret.inputValue();
  check(/^blst_[a-z2-7]{16}_/.test(key), "a key is shown");
  await page.getByRole("button", { name: "Copy" }).waitFor();
  await shot(page, "keys");
  out.key_before_revoke = curl(key, "/v1/collections");
  await page.getByRole("button", { name: "Done, hide it" }).click();
  check(await secret.count() === 0, "the key is gone once hidden");
  await page.goto(plan.base + "/#/members");
  await page.getByRole("heading", { name: /^Members of / }).waitFor({ timeout: T });
  await shot(page, "members");
  await page.goto(plan.base + "/#/keys");
  await page.getByRole("cell", { name: "console-key" }).waitFor({ timeout: T });
  out.key_shown_again = (await page.content()).includes(key.split("_")[2]);
  await page.getByRole("row", { name: /console-key/ }).getByRole("button", { name: "Revoke" }).click();
  await page.getByRole("cell", { name: /^revoked/ }).waitFor({ timeout: T });
  out.key_after_revoke = curl(key, "/v1/collections");
  step("key created, used, revoked");

  await page.getByRole("link", { name: "Audit log" }).click();
  await page.getByRole("cell", { name: "apikey.revoke" }).first().waitFor({ timeout: T });
  await shot(page, "audit");

  // A phone.
  const phone = await newPage(browser, { width: 390, height: 844 });
  await signIn(phone.page, plan.editor);
  await phone.page.goto(plan.base + "/#/search");
  await phone.page.getByLabel("Search for").fill(plan.word);
  await phone.page.getByRole("button", { name: "Search", exact: true }).click();
  await phone.page.locator(".result mark").first().waitFor({ timeout: T });
  out.phone_overflow = await phone.page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth + 1);
  await shot(phone.page, "search-phone");
  await phone.ctx.close();

  await page.getByRole("button", { name: "Sign out" }).click();
  await page.getByLabel("E-mail address").waitFor({ timeout: T });
  await page.reload();
  await page.getByLabel("E-mail address").waitFor({ timeout: T });
  out.cookies_after_logout = (await ctx.cookies(plan.base + "/v1/auth/refresh")).length;
  step("signed out");
  await ctx.close();
}

async function viewerRun(browser) {
  const { ctx, page } = await newPage(browser);
  await signIn(page, plan.viewer);
  await page.goto(plan.base + "/#/c/" + out.collection);
  await page.getByRole("heading", { name: "Console docs 2" }).waitFor({ timeout: T });
  await page.getByRole("link", { name: "Planted files" }).waitFor({ timeout: T });
  out.viewer_buttons = await page.locator("main button").allInnerTexts();
  out.viewer_forms = await page.locator("main form").count();
  await shot(page, "viewer-collection");
  await page.getByRole("link", { name: "Planted files" }).click();
  await page.locator(".state.succeeded").first().waitFor({ timeout: T });
  out.viewer_source_buttons = await page.locator("main button").allInnerTexts();
  out.viewer_nav = await page.locator("#nav a").allInnerTexts();
  step("viewer saw no editor controls");
  await ctx.close();
}

async function outsiderRun(browser) {
  const { ctx, page } = await newPage(browser);
  await signIn(page, plan.outsider);
  out.outsider_orgs = await page.locator("#org-select option").allInnerTexts();
  await page.goto(plan.base + "/#/c/" + out.collection);
  await page.getByRole("alert").filter({ hasText: /./ }).first().waitFor({ timeout: T });
  out.outsider_text = await page.locator("main").innerText();
  await page.goto(plan.base + "/#/collections");
  await page.getByRole("heading", { name: /^Collections in / }).waitFor({ timeout: T });
  out.outsider_collections = await page.locator("main").innerText();
  step("outsider saw nothing");
  await ctx.close();
}

out.csp_violations = [];
out.page_errors = [];
out.foreign = [];
const browser = await chromium.launch({
  executablePath: plan.chromium, headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
let rc = 0;
try {
  await editorRun(browser);
  await viewerRun(browser);
  await outsiderRun(browser);
} catch (e) {
  out.error = String(e && e.stack || e);
  rc = 1;
} finally {
  await browser.close();
}
process.stdout.write(JSON.stringify(out) + "\n");
process.exit(rc);
