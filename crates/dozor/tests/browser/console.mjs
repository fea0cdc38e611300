// Drives the Dozor console in Debian's Chromium: log in, see the incidents, open one,
// change its status, add a comment. Screenshots go to the directory given.
//
// usage: node console.mjs BASE_URL USERNAME PASSWORD SCREENSHOT_DIR
import { chromium } from "playwright-core";

const [base, username, password, shots] = process.argv.slice(2);
if (!shots) {
  console.error("usage: node console.mjs BASE_URL USERNAME PASSWORD SCREENSHOT_DIR");
  process.exit(2);
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
  ],
});

function check(condition, message) {
  if (!condition) {
    throw new Error(message);
  }
}

try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  page.setDefaultTimeout(15000);

  // Unauthenticated: the console sends us to the login page.
  await page.goto(`${base}/incidents`);
  check(page.url().includes("/login"), `expected the login page, got ${page.url()}`);
  await page.fill("input[name=username]", username);
  await page.fill("input[name=password]", "wrong password");
  await page.click("button[type=submit]");
  await page.waitForSelector("[role=alert]");

  await page.fill("input[name=username]", username);
  await page.fill("input[name=password]", password);
  await page.click("button[type=submit]");
  await page.waitForURL(/\/incidents/);

  // The incidents list, refreshed live by htmx.
  const row = page.locator("#incidents tbody tr", { hasText: "PT-CR-2186" }).first();
  await row.waitFor();
  await page.screenshot({ path: `${shots}/incidents.png` });
  await row.locator("a").first().click();
  await page.waitForURL(/\/incidents\/[0-9a-f]+$/);
  const incidentUrl = page.url();

  // The incident page: evidence with normalized fields and the raw record; ATT&CK.
  await page.waitForSelector(".timeline li");
  check(await page.locator("a", { hasText: "T1102.002" }).count() > 0, "no ATT&CK technique link");
  await page.locator(".timeline li details summary", { hasText: "Normalized fields" }).first().click();
  check(await page.locator(".fields td", { hasText: "object.query" }).count() > 0, "no normalized fields");
  await page.locator(".timeline li details summary", { hasText: "Raw record" }).first().click();
  check((await page.locator(".timeline pre").first().innerText()).toLowerCase().includes("api.telegram.org"), "no raw record");
  await page.screenshot({ path: `${shots}/incident.png`, fullPage: true });

  // Triage: status, then a comment.
  await page.selectOption("#status-select", "in_progress");
  await page.click("#save-status");
  await page.waitForURL(incidentUrl);
  const status = await page.locator("#incident-status").innerText();
  check(status.trim() === "in_progress", `status is ${status}`);
  await page.fill("#comment", "Resolver client 127.0.0.10 looked up the Bot API; isolating.");
  await page.click("#add-comment");
  await page.waitForURL(incidentUrl);
  check(await page.locator(".notes li", { hasText: "isolating" }).count() === 1, "comment not shown");

  // The other pages render.
  await page.goto(`${base}/dashboard`);
  await page.waitForSelector("svg rect");
  await page.screenshot({ path: `${shots}/dashboard.png` });
  await page.goto(`${base}/rules`);
  await page.waitForSelector("text=ATT&CK coverage");
  await page.screenshot({ path: `${shots}/rules.png` });
  await page.goto(`${base}/events?q=object.query%3Dapi.telegram.org`);
  await page.waitForSelector(".timeline li");

  // The lists editor: add a name to the abused-services list; saving reloads the rules.
  await page.goto(`${base}/lists`);
  await page.click("text=c2_web_services");
  const entries = page.locator("textarea[name=entries]");
  const before = await entries.inputValue();
  await entries.fill(`${before}\nc2.dozor-browser-test.example`);
  await page.click("text=Save and reload rules");
  await page.waitForSelector("text=the rules were reloaded");
  check((await entries.inputValue()).includes("c2.dozor-browser-test.example"), "list entry not saved");

  console.log(JSON.stringify({ incident: incidentUrl.split("/").pop() }));
} finally {
  await browser.close();
}
