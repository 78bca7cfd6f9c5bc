package dev.offload.ui;

import static org.junit.jupiter.api.Assertions.*;

import akka.cluster.sharding.typed.javadsl.ClusterSharding;
import com.fasterxml.jackson.databind.JsonNode;
import dev.offload.api.ApiClient;
import dev.offload.server.TestServer;
import dev.offload.session.SessionEntity;
import dev.offload.testing.Await;
import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.logging.Level;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.openqa.selenium.By;
import org.openqa.selenium.Dimension;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.Keys;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.StaleElementReferenceException;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.logging.LogEntry;
import org.openqa.selenium.logging.LogType;
import org.openqa.selenium.logging.LoggingPreferences;
import org.openqa.selenium.support.ui.ExpectedConditions;
import org.openqa.selenium.support.ui.Select;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * The dashboard in a real headless Chromium against one in-JVM server with a seeded workload:
 * the figures shown are the API's, live badges follow the event stream, the Stop button and the
 * settings form do what the API does, and members see no owner pages. Screenshots of every
 * page go to target/ui-screenshots.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class DashboardBrowserTest {
  private static final Path CHROMIUM = Path.of("/usr/bin/chromium");
  private static final Path CHROMEDRIVER = Path.of("/usr/bin/chromedriver");
  private static final Path SCREENSHOTS = Path.of("target", "ui-screenshots");
  private static final String OP = TestServer.OPERATOR_TOKEN;
  private static final String ORG = "acme";

  private static TestServer server;
  private static ApiClient api;
  private static ChromeDriver browser;
  private static WebDriverWait wait;
  private static String owner;
  private static String member;

  @BeforeAll
  static void start() throws Exception {
    Assumptions.assumeTrue(Files.isExecutable(CHROMIUM) && Files.isExecutable(CHROMEDRIVER),
        "skipped: the browser tests need Debian's chromium and chromium-driver (/usr/bin/chromium, /usr/bin/chromedriver)");
    server = TestServer.start("offload.runners.classes.standard { provider = local, min-warm = 4, max = 6 }");
    api = server.api();
    assertEquals(201, api.post("/v1/orgs", OP, "{\"id\":\"" + ORG + "\",\"name\":\"Acme\"}").status());
    owner = token("olivia", "owner");
    member = token("alice", "member");
    seed();

    ChromeOptions options = new ChromeOptions();
    options.setBinary(CHROMIUM.toFile());
    options.addArguments("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
        "--window-size=1280,800", "--force-device-scale-factor=1");
    LoggingPreferences logs = new LoggingPreferences();
    logs.enable(LogType.BROWSER, Level.ALL);
    options.setCapability("goog:loggingPrefs", logs);
    ChromeDriverService service = new ChromeDriverService.Builder()
        .usingDriverExecutable(CHROMEDRIVER.toFile()).usingAnyFreePort().build();
    browser = new ChromeDriver(service, options);
    viewport(1280, 800);
    wait = new WebDriverWait(browser, Duration.ofSeconds(25));
    wait.ignoring(StaleElementReferenceException.class);
    Files.createDirectories(SCREENSHOTS);
  }

  @AfterAll
  static void stop() {
    if (browser != null) browser.quit();
    if (server != null) server.close();
  }

  private static String token(String user, String role) {
    var r = api.post("/v1/orgs/" + ORG + "/tokens", OP, "{\"user\":\"" + user + "\",\"role\":\"" + role + "\"}");
    assertEquals(201, r.status(), r.body());
    return r.json().get("token").asText();
  }

  /**
   * A month so far: a committed grant, on-demand on with a limit, three of the owner's sessions
   * charged 1, 2 and 3 s with containers of two images, and three of the member's.
   */
  private static void seed() {
    assertEquals(201, api.post("/v1/orgs/" + ORG + "/grants", OP, "{\"seconds\": 20, \"kind\": \"committed\"}").status());
    assertEquals(200, api.put("/v1/orgs/" + ORG + "/settings", owner,
        "{\"maxSessionsPerUser\": 3, \"onDemandEnabled\": true, \"monthlyLimitCents\": 2500}").status());
    List<String> mine = List.of(start(owner), start(owner), start(owner));
    List<String> hers = List.of(start(member), start(member), start(member));
    containers(mine.get(0), "nginx:1.27", "nginx:1.27", "redis:7");
    containers(mine.get(1), "nginx:1.27");
    containers(hers.get(0), "postgres:16");
    for (int i = 0; i < mine.size(); i++) stopAfter(mine.get(i), owner, i + 1);
    for (String session : hers) stopAfter(session, member, 1);
    Await.until(Duration.ofSeconds(30), () -> api.get("/v1/orgs/" + ORG + "/audit", owner).json(),
        audit -> audit.path("ok").asBoolean() && audit.path("sessions").asInt() == 6, "the ledger to catch up");
    Await.until(Duration.ofSeconds(30), () -> usage(owner),
        u -> u.path("activeSessions").isEmpty() && u.path("sessions").path("count").asInt() == 6, "the index to catch up");
  }

  private static String start(String token) {
    var r = api.post("/v1/sessions", token, "{\"idleTimeoutSeconds\": 60}");
    assertEquals(201, r.status(), r.body());
    String id = r.json().get("id").asText();
    Await.until(Duration.ofSeconds(20), () -> api.get("/v1/sessions/" + id, token).json().path("state").asText(),
        s -> !s.equals("provisioning"), "session " + id + " to run");
    return id;
  }

  private static void containers(String session, String... images) {
    var entity = ClusterSharding.get(server.server().system()).entityRefFor(SessionEntity.ENTITY_KEY, session);
    for (int i = 0; i < images.length; i++) entity.tell(new SessionEntity.ContainerStartedOnRunner(session + "-" + i, images[i]));
  }

  private static void stopAfter(String session, String token, long billableSeconds) {
    Await.until(Duration.ofSeconds(10), () -> api.get("/v1/sessions/" + session, token).json().path("billableSeconds").asLong(),
        s -> s >= billableSeconds, "session " + session + " to be charged " + billableSeconds + " s");
    assertEquals(200, api.delete("/v1/sessions/" + session, token).status());
  }

  private static JsonNode usage(String token) {
    return api.get("/v1/orgs/" + ORG + "/usage", token).json();
  }

  // ---- the pages ----

  @Test
  @Order(1)
  void signInShowsTheOverviewWithTheApiFigures() throws IOException {
    browser.get(server.server().url() + "/ui/");
    screenshot("sign-in");
    signIn("not-a-token");
    wait.until(ExpectedConditions.textToBePresentInElementLocated(By.id("token-error"), "unknown or revoked"));
    signIn(OP);
    wait.until(ExpectedConditions.textToBePresentInElementLocated(By.id("token-error"), "not the operator token"));
    signIn(owner);
    wait.until(ExpectedConditions.visibilityOfElementLocated(By.cssSelector("[data-figure=committed-used]")));
    assertEquals("olivia · acme · owner", text(By.id("who-name")));
    assertNull(((JavascriptExecutor) browser).executeScript("return location.href.includes('ofl_') ? 'leak' : null"),
        "the token never appears in the URL");

    JsonNode u = usage(owner);
    assertFigure("committed-used", u.at("/committed/usedSeconds").asLong(), true);
    assertFigure("committed-remaining", u.at("/committed/remainingSeconds").asLong(), true);
    assertFigure("committed-granted", 20, true);
    assertEquals(u.at("/onDemand/cents").asLong(), figure("on-demand-cents"));
    assertEquals(2500, figure("monthly-limit-cents"));
    assertEquals("$25.00", text(By.cssSelector("[data-figure=monthly-limit-cents]")));
    assertFigure("sessions-count", 6, false);
    assertFigure("sessions-billable", u.at("/sessions/billableSeconds").asLong(), true);
    assertFigure("my-total", u.at("/mySessions/totalSeconds").asLong(), true);
    assertTrue(u.at("/mySessions/totalSeconds").asLong() >= 6, u.toString());

    List<WebElement> columns = browser.findElements(By.cssSelector("svg.columns rect.column"));
    assertEquals(3, columns.size(), "one column per recent session of mine");
    List<WebElement> recent = browser.findElements(By.cssSelector("[data-table=my-recent] td[data-value]"));
    for (int i = 0; i < 3; i++) {
      assertEquals(u.at("/mySessions/recent/" + i + "/billableSeconds").asLong(), Long.parseLong(recent.get(i).getAttribute("data-value")));
    }

    List<WebElement> images = browser.findElements(By.cssSelector(".bars li"));
    assertEquals(u.get("topImages").size(), images.size());
    for (int i = 0; i < images.size(); i++) {
      assertEquals(u.at("/topImages/" + i + "/image").asText(), images.get(i).findElement(By.className("bar-label")).getText());
      assertEquals(u.at("/topImages/" + i + "/runs").asLong(),
          Long.parseLong(images.get(i).findElement(By.className("bar-value")).getAttribute("data-value")));
    }
    assertEquals("nginx:1.27", u.at("/topImages/0/image").asText());
    assertEquals(3, u.at("/topImages/0/runs").asLong());
    assertFalse(browser.findElements(By.cssSelector("[data-empty=active]")).isEmpty(), "no live sessions yet");
    screenshot("overview");
    onAPhone("overview");
  }

  @Test
  @Order(2)
  void activityPagesAndFiltersByUser() throws IOException {
    go("activity");
    By rowsShown = By.cssSelector("[data-table=activity] tbody tr[data-session]");
    wait.until(ExpectedConditions.numberOfElementsToBe(rowsShown, 6));
    JsonNode page = api.get("/v1/orgs/" + ORG + "/activity", owner).json();
    List<WebElement> rows = browser.findElements(rowsShown);
    for (int i = 0; i < rows.size(); i++) {
      JsonNode row = page.get("sessions").get(i);
      assertEquals(row.get("id").asText(), rows.get(i).getAttribute("data-session"));
      List<WebElement> cells = rows.get(i).findElements(By.tagName("td"));
      assertEquals(row.get("user").asText(), cells.get(1).getText());
      assertEquals(row.get("billableSeconds").asLong(), Long.parseLong(cells.get(4).getAttribute("data-value")));
      assertEquals(row.get("containers").asLong(), Long.parseLong(cells.get(5).getAttribute("data-value")));
    }
    assertLabelled();
    screenshot("activity");
    onAPhone("activity");

    new Select(browser.findElement(By.id("activity-size"))).selectByValue("5");
    wait.until(ExpectedConditions.numberOfElementsToBe(rowsShown, 5));
    WebElement older = browser.findElement(By.xpath("//button[contains(., 'Older')]"));
    WebElement newer = browser.findElement(By.xpath("//button[contains(., 'Newer')]"));
    assertFalse(newer.isEnabled());
    older.click();
    wait.until(ExpectedConditions.numberOfElementsToBe(rowsShown, 1));
    assertEquals(page.at("/sessions/5/id").asText(), browser.findElement(rowsShown).getAttribute("data-session"));
    assertFalse(older.isEnabled(), "the last page");
    newer.click();
    wait.until(ExpectedConditions.numberOfElementsToBe(rowsShown, 5));
    assertEquals(page.at("/sessions/0/id").asText(), browser.findElement(rowsShown).getAttribute("data-session"));

    WebElement user = browser.findElement(By.id("activity-user"));
    user.sendKeys("alice", Keys.ENTER);
    wait.until(ExpectedConditions.numberOfElementsToBe(rowsShown, 3));
    assertTrue(browser.findElements(By.cssSelector("[data-table=activity] tbody td:nth-child(2)")).stream()
        .allMatch(cell -> cell.getText().equals("alice")));
  }

  @Test
  @Order(3)
  void auditShowsTheReport() throws IOException {
    go("audit");
    browser.findElement(By.cssSelector("#page form button[type=submit]")).click();
    wait.until(ExpectedConditions.visibilityOfElementLocated(By.cssSelector("[data-figure=digest]")));
    JsonNode audit = api.get("/v1/orgs/" + ORG + "/audit", owner).json();
    assertTrue(audit.get("ok").asBoolean(), audit.toString());
    assertEquals("true", browser.findElement(By.cssSelector("[data-figure=ok]")).getAttribute("data-value"));
    assertEquals(audit.get("sessions").asLong(), figure("sessions"));
    assertEquals(audit.get("events").asLong(), figure("events"));
    assertEquals(audit.get("ledgerSeconds").asLong(), figure("ledger-seconds"));
    assertEquals(audit.get("replayedMicros").asLong(), figure("replayed-micros"));
    assertEquals(audit.get("digest").asText(), text(By.cssSelector("[data-figure=digest]")));
    assertFalse(browser.findElements(By.cssSelector("[data-empty=discrepancies]")).isEmpty());
    assertFalse(browser.findElements(By.cssSelector("[data-empty=chain-breaks]")).isEmpty());
    screenshot("audit");
    onAPhone("audit");
  }

  @Test
  @Order(4)
  void anInvalidIdleTimeoutShowsTheServersMessageAndChangesNothing() throws IOException {
    JsonNode before = api.get("/v1/orgs/" + ORG + "/settings", owner).json();
    String expected = api.put("/v1/orgs/" + ORG + "/settings", owner, "{\"idleTimeoutSeconds\": 5}").errorMessage();
    go("settings");
    WebElement idle = browser.findElement(By.id("setting-idleTimeoutSeconds"));
    wait.until(d -> "300".equals(idle.getAttribute("value")));
    assertLabelled();
    browser.findElement(By.id("setting-maxSessionsPerUser")).clear();
    browser.findElement(By.id("setting-maxSessionsPerUser")).sendKeys("2");
    idle.clear();
    idle.sendKeys("5", Keys.ENTER);
    By error = By.cssSelector("[data-error-for=idleTimeoutSeconds]");
    wait.until(ExpectedConditions.textToBePresentInElementLocated(error, expected));
    assertEquals(expected, text(error));
    assertEquals("true", idle.getAttribute("aria-invalid"));
    assertEquals(idle, browser.switchTo().activeElement(), "the field at fault has the focus");
    assertEquals(before, api.get("/v1/orgs/" + ORG + "/settings", owner).json(), "a refused form changes nothing");
    screenshot("settings-invalid");
    onAPhone("settings");

    idle.clear();
    idle.sendKeys("120");
    browser.findElement(By.cssSelector("form.settings button[type=submit]")).click();
    wait.until(ExpectedConditions.textToBe(By.cssSelector("form.settings [role=status]"), "Saved."));
    assertEquals("", text(error));
    JsonNode after = api.get("/v1/orgs/" + ORG + "/settings", owner).json();
    assertEquals(120, after.get("idleTimeoutSeconds").asInt());
    assertEquals(2, after.get("maxSessionsPerUser").asInt());
  }

  @Test
  @Order(5)
  void liveBadgesFollowTheEventStreamAndStopEndsTheSession() throws IOException {
    go("overview");
    wait.until(ExpectedConditions.visibilityOfElementLocated(By.cssSelector("[data-empty=active]")));
    var started = api.post("/v1/sessions", owner, "{\"idleTimeoutSeconds\": 10}");
    assertEquals(201, started.status(), started.body());
    String id = started.json().get("id").asText();
    By row = By.cssSelector("[data-session='" + id + "']");
    // The overview lists what the session index holds, which follows the journal within a second.
    wait.until(d -> {
      d.findElement(By.xpath("//button[.='Refresh']")).click();
      return !d.findElements(row).isEmpty();
    });
    ((JavascriptExecutor) browser).executeScript("window.notReloaded = true");

    By state = By.cssSelector("[data-session='" + id + "'] .badge");
    wait.until(ExpectedConditions.attributeToBe(state, "data-state", "grace-period"));
    assertEquals("grace period", text(state));
    assertTrue(text(By.cssSelector("[data-session='" + id + "'] .due")).matches("idle in 0:(0\\d|10)"));
    screenshot("overview-live");
    wait.until(ExpectedConditions.attributeContains(By.cssSelector("[data-session='" + id + "'] .due"), "class", "soon"));
    assertEquals("grace-period", browser.findElement(state).getAttribute("data-state"), "warned before it goes idle");
    wait.until(ExpectedConditions.attributeToBe(state, "data-state", "idle"));
    assertTrue(text(By.cssSelector("[data-session='" + id + "'] .due")).matches("wiped in \\d+:\\d\\d"));

    assertEquals(200, api.post("/v1/sessions/" + id + "/resume", owner, "").status());
    wait.until(ExpectedConditions.attributeToBe(state, "data-state", "grace-period"));
    assertEquals(Boolean.TRUE, ((JavascriptExecutor) browser).executeScript("return window.notReloaded"),
        "the badge changed without a reload");

    browser.findElement(By.cssSelector("[data-session='" + id + "'] a")).click();
    WebElement stop = wait.until(ExpectedConditions.elementToBeClickable(By.cssSelector("[data-action=stop]")));
    assertEquals("olivia", text(By.cssSelector("[data-field=user]")));
    assertEquals(api.get("/v1/sessions/" + id, owner).json().at("/runner/id").asText(), text(By.cssSelector("[data-field=runner]")));
    assertTrue(browser.findElements(By.cssSelector("svg.timeline rect.stretch")).size() >= 3,
        "grace period, idle and grace period again");
    screenshot("session-live");
    stop.click();
    wait.until(ExpectedConditions.attributeToBe(By.cssSelector(".state-line .badge"), "data-state", "terminated"));
    JsonNode ended = api.get("/v1/sessions/" + id, owner).json();
    assertEquals("terminated", ended.get("state").asText());
    assertEquals("stopped", ended.get("terminationReason").asText());
    assertFalse(browser.findElement(By.cssSelector("[data-action=stop]")).isEnabled());
    wait.until(d -> figure("billable") == api.get("/v1/sessions/" + id, owner).json().get("billableSeconds").asLong());
    screenshot("session");
    onAPhone("session");
  }

  @Test
  @Order(6)
  void aMemberSeesNoOwnerPages() throws IOException {
    browser.findElement(By.id("sign-out")).click();
    signIn(member);
    wait.until(ExpectedConditions.visibilityOfElementLocated(By.cssSelector("[data-figure=sessions-count]")));
    assertEquals(3, figure("sessions-count"), "a member's own sessions");
    assertEquals(usage(member).at("/mySessions/totalSeconds").asLong(), figure("my-total"));
    List<String> pages = browser.findElements(By.cssSelector("#nav a")).stream()
        .filter(WebElement::isDisplayed).map(WebElement::getText).toList();
    assertEquals(List.of("Overview", "Recent activity"), pages);
    for (String ownerPage : List.of("settings", "audit")) {
      go(ownerPage);
      wait.until(ExpectedConditions.visibilityOfElementLocated(By.cssSelector("[data-notice=owners-only]")));
      assertTrue(browser.findElements(By.cssSelector("form.settings, #audit-month")).isEmpty());
    }
    go("activity");
    wait.until(ExpectedConditions.numberOfElementsToBe(By.cssSelector("[data-table=activity] tbody tr[data-session]"), 3));
    assertTrue(browser.findElements(By.id("activity-user")).isEmpty(), "no user filter for members");
    screenshot("member-activity");
  }

  @Test
  @Order(7)
  void thePagesBreakNoContentSecurityPolicyRule() {
    List<String> violations = browser.manage().logs().get(LogType.BROWSER).getAll().stream()
        .map(LogEntry::getMessage).filter(m -> m.contains("Content Security Policy") || m.contains("Refused to")).toList();
    assertEquals(List.of(), violations);
  }

  // ---- helpers ----

  private static void signIn(String token) {
    WebElement field = wait.until(ExpectedConditions.visibilityOfElementLocated(By.id("token")));
    field.clear();
    field.sendKeys(token, Keys.ENTER);
  }

  private static void go(String page) {
    browser.get(server.server().url() + "/ui/#/" + page);
    wait.until(ExpectedConditions.attributeToBe(By.cssSelector("#nav a[data-page=" + page + "]"), "aria-current", "page"));
  }

  /** Every control of the page has a label a screen reader announces. */
  private static void assertLabelled() {
    Object unlabelled = ((JavascriptExecutor) browser).executeScript(
        "return [...document.querySelectorAll('#page input, #page button, #page select')]"
            + ".filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label') && !e.textContent.trim())"
            + ".map(e => e.outerHTML)");
    assertEquals(List.of(), unlabelled);
  }

  private static String text(By by) {
    return browser.findElement(by).getText();
  }

  private static long figure(String name) {
    return Long.parseLong(browser.findElement(By.cssSelector("[data-figure=" + name + "]")).getAttribute("data-value"));
  }

  /** The number behind a figure, and (for durations) the text the dashboard writes for it. */
  private static void assertFigure(String name, long expected, boolean seconds) {
    assertEquals(expected, figure(name), name);
    assertEquals(seconds ? duration(expected) : String.valueOf(expected), text(By.cssSelector("[data-figure=" + name + "]")), name);
  }

  /** format.js's duration(). */
  private static String duration(long s) {
    if (s < 60) return s + " s";
    if (s < 3600) return s / 60 + " min " + s % 60 + " s";
    return s / 3600 + " h " + (s % 3600) / 60 + " min";
  }

  /** At phone width the page still fits: only tables scroll sideways, inside their box. */
  private static void onAPhone(String page) throws IOException {
    viewport(390, 844);
    assertTrue((Boolean) ((JavascriptExecutor) browser).executeScript(
        "return document.documentElement.scrollWidth <= window.innerWidth"), page + ": nothing wider than a phone");
    screenshot(page + "-phone");
    viewport(1280, 800);
  }

  /** Sizes the window so that the page itself (the viewport) is width × height. */
  private static void viewport(int width, int height) {
    browser.manage().window().setSize(new Dimension(width, height));
    long innerWidth = (Long) ((JavascriptExecutor) browser).executeScript("return window.innerWidth");
    long innerHeight = (Long) ((JavascriptExecutor) browser).executeScript("return window.innerHeight");
    browser.manage().window().setSize(new Dimension(2 * width - (int) innerWidth, 2 * height - (int) innerHeight));
  }

  /** The whole page, not only the viewport, as a PNG. */
  private static void screenshot(String name) throws IOException {
    Dimension window = browser.manage().window().getSize();
    JavascriptExecutor js = browser;
    long width = (Long) js.executeScript("return window.innerWidth");
    long height = (Long) js.executeScript("return window.innerHeight");
    long page = (Long) js.executeScript("return document.documentElement.scrollHeight");
    if (page > height) viewport((int) width, (int) page);
    js.executeScript("window.scrollTo(0, 0)");
    File shot = browser.getScreenshotAs(OutputType.FILE);
    Files.copy(shot.toPath(), SCREENSHOTS.resolve(name + ".png"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    browser.manage().window().setSize(window);
  }
}
